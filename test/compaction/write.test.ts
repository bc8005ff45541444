import t from 'tap'
import fc from 'fast-check'
import { ROW_GROUP_BYTES, ROW_GROUP_ROWS, int64Column, metricTypeCode, rowGroupRows } from '../../src/compaction/write/segment-file.ts'

t.test('int64 columns built from words equal exact BigInt products', async t => {
  fc.assert(fc.property(fc.array(fc.integer({ min: -(2 ** 43), max: 2 ** 43 }), { minLength: 1, maxLength: 50 }), values => {
    const ms = Float64Array.from(values)
    const asMs = int64Column(ms, ms.length, 1)
    const asNs = int64Column(ms, ms.length, 1_000_000)
    return values.every((v, i) => asMs[i] === BigInt(v) && asNs[i] === BigInt(v) * 1_000_000n)
  }), { numRuns: 500 })
  const edge = Float64Array.from([0, -1, 1, 2 ** 32, -(2 ** 32), 2 ** 53 - 1, -(2 ** 53 - 1)])
  const out = int64Column(edge, edge.length, 1)
  t.same([...out], [...edge].map(v => BigInt(v)))
})

t.test('metric types map to their codes', async t => {
  t.equal(metricTypeCode('gauge'), 1)
  t.equal(metricTypeCode('count'), 2)
  t.equal(metricTypeCode('sum'), 2)
  t.equal(metricTypeCode('counter'), 2)
  t.equal(metricTypeCode('histogram'), 3)
  t.equal(metricTypeCode('exponential_histogram'), 4)
  t.equal(metricTypeCode('summary'), 5)
  t.equal(metricTypeCode('other'), 0)
  t.equal(metricTypeCode(null), 0)
})

t.test('row groups: equal groups of at most ROW_GROUP_BYTES (as estimated) and ROW_GROUP_ROWS; a file of the default size is one group', async t => {
  t.equal(rowGroupRows(70_000, 2 * 1024 * 1024), 70_000, 'a 2 MiB file is one group')
  t.equal(rowGroupRows(1, 0), 1)
  fc.assert(fc.property(fc.integer({ min: 1, max: 50_000_000 }), fc.double({ min: 0, max: 2 ** 31, noNaN: true }), (n, bytes) => {
    const rows = rowGroupRows(n, bytes)
    const groups = Math.ceil(n / rows)
    // every group within both limits, and no more groups than the limits need
    return rows >= 1 && rows <= ROW_GROUP_ROWS && rows * (bytes / n) <= ROW_GROUP_BYTES * (1 + 1e-9) + bytes / n &&
      groups <= Math.max(1, Math.ceil(bytes / ROW_GROUP_BYTES), Math.ceil(n / ROW_GROUP_ROWS))
  }), { numRuns: 2000 })
  t.equal(rowGroupRows(900_000, 22 * 1024 * 1024), 150_000, '22 MiB in six groups of 150 000 rows')
  t.equal(rowGroupRows(3_000_000, 1024), 1_000_000, 'ROW_GROUP_ROWS caps a group whatever its bytes')
})
