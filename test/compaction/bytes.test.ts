// The growable byte buffer: what it keeps when it grows, and the capacities its grow hook is told
// (the chunk reader charges them to the memory account).
import t from 'tap'
import { ByteBuffer } from '../../src/compaction/bytes.ts'

t.test('a ByteBuffer doubles, or grows to what is needed when that is more, keeping its bytes', async t => {
  const grown: Array<[number, number]> = []
  const buffer = new ByteBuffer(4, (capacity, previous) => grown.push([capacity, previous]))
  buffer.ensure(3)
  buffer.bytes.set([1, 2, 3])
  buffer.length = 3
  t.same(grown, [], 'no growth while it fits')
  buffer.ensure(2)
  t.same(grown, [[8, 4]], 'doubled')
  buffer.ensure(20)
  t.same(grown, [[8, 4], [23, 8]], 'to what is needed')
  t.same([...buffer.bytes.subarray(0, 3)], [1, 2, 3])
  t.equal(buffer.bytes.length, 23)
  buffer.dropPrefix(1)
  t.same([...buffer.bytes.subarray(0, buffer.length)], [2, 3])
  buffer.reset()
  t.equal(buffer.length, 0)
  t.equal(buffer.bytes.length, 23, 'the capacity stays')
})

t.test('a grow hook that throws leaves the buffer as it was', async t => {
  const buffer = new ByteBuffer(2, () => { throw new Error('over budget') })
  buffer.length = 2
  t.throws(() => buffer.ensure(1), /over budget/)
  t.equal(buffer.bytes.length, 2)
  t.equal(buffer.length, 2)
})
