// The RLE / bit-packed hybrid decoder: exact on every bit width and run mix (against a bit-by-bit
// reference encoder and hyparquet's decoder), and bounded on hostile headers.
import t from 'tap'
import fc from 'fast-check'
import { readRleBitPackedHybrid } from 'hyparquet/src/encoding.js'
import { readHybrid } from '../../src/compaction/read/rle.ts'

type Run = { kind: 'rle', value: number, count: number } | { kind: 'packed', values: number[] }

function varint (n: number): number[] {
  const out: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
  return out
}

/** Encodes runs bit by bit (the spec, no shortcuts): RLE value in ceil(w/8) bytes; packed groups of 8, LSB first. */
function encode (runs: readonly Run[], width: number): Uint8Array {
  const out: number[] = []
  for (const run of runs) {
    if (run.kind === 'rle') {
      out.push(...varint(run.count * 2))
      for (let i = 0; i < (width + 7) >> 3; i++) out.push(Math.floor(run.value / 2 ** (8 * i)) % 256)
    } else {
      const groups = Math.ceil(run.values.length / 8)
      out.push(...varint(groups * 2 + 1))
      const bits: number[] = []
      for (let i = 0; i < groups * 8; i++) {
        const v = run.values[i] ?? 0
        for (let b = 0; b < width; b++) bits.push(Math.floor(v / 2 ** b) % 2)
      }
      for (let i = 0; i < bits.length; i += 8) out.push(bits.slice(i, i + 8).reduce((byte, bit, k) => byte | (bit << k), 0))
    }
  }
  return Uint8Array.from(out)
}

const decoded = (runs: readonly Run[]): number[] => runs.flatMap(r => r.kind === 'rle' ? Array(r.count).fill(r.value) : r.values)

const runsOf = (width: number): fc.Arbitrary<Run[]> => {
  const value = fc.integer({ min: 0, max: width === 0 ? 0 : 2 ** width - 1 })
  return fc.array(fc.oneof(
    fc.record({ kind: fc.constant('rle' as const), value, count: fc.integer({ min: 1, max: 300 }) }),
    fc.record({ kind: fc.constant('packed' as const), values: fc.array(value, { minLength: 8, maxLength: 64 }).map(v => v.slice(0, v.length - v.length % 8)) }),
  ), { minLength: 1, maxLength: 8 })
}

t.test('every bit width 0..32 and run mix decodes exactly; the reader ends after the encoded bytes', async t => {
  for (let width = 0; width <= 32; width++) {
    fc.assert(fc.property(runsOf(width), runs => {
      const encoded = encode(runs, width)
      const expected = decoded(runs)
      // framed with a byte before and after: offsets must be honoured
      const page = Uint8Array.from([0xee, ...encoded, 0xee])
      const output = new Int32Array(expected.length)
      const reader = { view: new DataView(page.buffer), offset: 1 }
      readHybrid(reader, width, output, encoded.length)
      const got = [...output].map(v => v >>> 0) // width 32 values come back as int32
      if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`width ${width}: ${got.slice(0, 10)} vs ${expected.slice(0, 10)}`)
      if (reader.offset !== 1 + encoded.length) throw new Error('offset')
      // hyparquet reads a data byte of a bit-packed run even at width 0, so it is compared from width 1
      if (width >= 1 && width <= 24) {
        const theirs = new Int32Array(expected.length)
        readRleBitPackedHybrid({ view: new DataView(page.buffer), offset: 1 }, width, theirs, encoded.length)
        if (JSON.stringify([...theirs]) !== JSON.stringify([...output])) throw new Error('differs from hyparquet')
      }
    }), { numRuns: 25 })
  }
  t.pass('widths 0..32 x 25 random run mixes, against the reference encoder (and hyparquet for 1..24 bits)')
})

t.test('without a length, a 4-byte length prefix comes first (v1 levels, RLE booleans)', async t => {
  const encoded = encode([{ kind: 'rle', value: 1, count: 5 }, { kind: 'packed', values: [0, 1, 1, 0, 1, 0, 0, 1] }], 1)
  const page = new Uint8Array(4 + encoded.length)
  new DataView(page.buffer).setUint32(0, encoded.length, true)
  page.set(encoded, 4)
  const output = new Uint8Array(13)
  const reader = { view: new DataView(page.buffer), offset: 0 }
  readHybrid(reader, 1, output)
  t.same([...output], [1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 0, 0, 1])
  t.equal(reader.offset, page.length)
})

t.test('runs longer than the output are cut at the output: a header declaring 2^31 values costs nothing', async t => {
  // bit-packed, 2^28 groups (2^31 values) at width 0: no data bytes; hyparquet loops 2^31 times here
  const huge = Uint8Array.from(varint(2 ** 28 * 2 + 1))
  const output = new Int32Array(1000).fill(7)
  readHybrid({ view: new DataView(huge.buffer), offset: 0 }, 0, output, huge.length)
  t.ok(output.every(v => v === 0))
  // an RLE run of 2^31 values of 3 at width 2
  const rle = Uint8Array.from([...varint(2 ** 31 * 2), 3])
  const out2 = new Int32Array(10)
  readHybrid({ view: new DataView(rle.buffer), offset: 0 }, 2, out2, rle.length)
  t.same([...out2], Array(10).fill(3))
  // a bit-packed run declaring more groups than there are bytes, of which the output needs only what is present
  const short = Uint8Array.from([...varint(1000 * 2 + 1), 0xff])
  const out3 = new Uint8Array(8)
  readHybrid({ view: new DataView(short.buffer), offset: 0 }, 1, out3, short.length)
  t.same([...out3], Array(8).fill(1))
})

t.test('data that ends before the values, lengths past the page and bad widths throw', async t => {
  const read = (bytes: number[], width: number, n: number, length?: number): void =>
    readHybrid({ view: new DataView(Uint8Array.from(bytes).buffer), offset: 0 }, width, new Int32Array(n), length ?? bytes.length)
  t.throws(() => read([], 1, 1), /ends before its values/)
  t.throws(() => read([2 * 4], 8, 4), /RLE run ends early/, 'an RLE run without its value')
  t.throws(() => read([3, 0xff], 8, 8), /bit-packed run ends early/, 'one byte for eight 8-bit values')
  t.throws(() => read([2, 1, 0, 0], 1, 5), /ends before its values/, 'runs that cover fewer values than asked')
  t.throws(() => read([0xff, 0xff, 0xff, 0xff, 0xff, 0x01], 1, 1), /header too long/)
  t.throws(() => read([2, 1], 1, 1, 10), /overruns its page/)
  t.throws(() => read([2, 1], 33, 1), /bit width 33/)
  t.throws(() => readHybrid({ view: new DataView(new ArrayBuffer(2)), offset: 0 }, 1, new Uint8Array(1)), /no length prefix/)
})

t.test('strict: runs past the values are refused (an RLE run, or a bit-packed run beyond its last group of 8)', async t => {
  const read = (bytes: number[], width: number, n: number, strict: boolean): void =>
    readHybrid({ view: new DataView(Uint8Array.from(bytes).buffer), offset: 0 }, width, new Int32Array(n), bytes.length, strict)
  const rleOf10 = [...varint(10 * 2), 1]
  t.doesNotThrow(() => read(rleOf10, 1, 4, false), 'lenient: cut at the output')
  t.throws(() => read(rleOf10, 1, 4, true), /RLE run of 10 values, 4 remain/)
  t.doesNotThrow(() => read(rleOf10, 1, 10, true), 'exact: accepted')
  const packed16 = [...varint(2 * 2 + 1), 0xff, 0xff]
  t.doesNotThrow(() => read(packed16, 1, 9, true), 'the last group of 8 may be padding')
  t.throws(() => read(packed16, 1, 8, true), /bit-packed run of 16 values, 8 remain/)
})
