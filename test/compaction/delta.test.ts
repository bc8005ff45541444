// The DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY and BYTE_STREAM_SPLIT codecs of the engine
// (write/encodings.ts, read/delta.ts): exact on any values, in agreement with hyparquet's decoders
// and hyparquet-writer's encoders, and bounded on hostile bytes (every count by the output, every
// read by the bytes: an Error, never a long loop, a crash or an allocation of a declared size).
import t from 'tap'
import fc from 'fast-check'
import { ByteWriter } from 'hyparquet-writer'
import { deltaBinaryUnpack, deltaLengthByteArray } from 'hyparquet/src/delta.js'
import { byteStreamSplit } from 'hyparquet/src/encoding.js'
import { deltaBinaryPack, deltaLengthByteArray as writeDeltaLengthByteArray } from 'hyparquet-writer/src/delta.js'
import { PageBuffer, encodeByteStreamSplit, encodeDeltaBinaryPacked, encodeDeltaLengthByteArray } from '../../src/compaction/write/encodings.ts'
import { readByteStreamSplit, readDeltaBinaryPacked, readDeltaLengths } from '../../src/compaction/read/delta.ts'

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
/** Value series of the shapes real columns have: random, sorted, runs, small steps, the extremes. */
const series = fc.oneof(
  fc.array(int64, { maxLength: 700 }),
  fc.array(int64, { maxLength: 700 }).map(v => v.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))),
  fc.tuple(int64, fc.array(fc.bigInt({ min: -1000n, max: 100_000n }), { maxLength: 700 })).map(([first, steps]) => {
    let v = first
    return [first, ...steps.map(s => (v = BigInt.asIntN(64, v + s)))]
  }),
  fc.array(fc.constantFrom(-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, 1n), { maxLength: 300 }),
)

function words (values: readonly bigint[]): Int32Array {
  return new Int32Array(BigInt64Array.from(values).buffer)
}

function encoded (values: readonly bigint[]): Uint8Array {
  const out = new PageBuffer(16)
  encodeDeltaBinaryPacked(out, words(values), 0, values.length)
  return out.bytes.slice(0, out.length)
}

function decoded (bytes: Uint8Array, count: number, at = 0): { values: bigint[], end: number } {
  const out = new Int32Array(2 * (count + at))
  const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 }
  readDeltaBinaryPacked(reader, count, out, at)
  return { values: [...new BigInt64Array(out.buffer).subarray(at)], end: reader.offset }
}

t.test('DELTA_BINARY_PACKED: any int64 values round-trip exactly, hyparquet decodes ours, we decode hyparquet-writer\'s', async t => {
  fc.assert(fc.property(series, fc.integer({ min: 0, max: 3 }), (values, at) => {
    const bytes = encoded(values)
    const ours = decoded(bytes, values.length, at)
    if (ours.values.length !== values.length || ours.values.some((v, i) => v !== values[i])) return false
    if (ours.end !== bytes.length) return false // the reader ends where the encoding does
    // hyparquet's decoder on our bytes
    const theirs = new BigInt64Array(values.length)
    if (values.length > 0) deltaBinaryUnpack({ view: new DataView(bytes.buffer), offset: 0 }, values.length, theirs)
    if (theirs.some((v, i) => v !== values[i])) return false
    // hyparquet-writer's encoding through our decoder
    const writer = new ByteWriter()
    deltaBinaryPack(writer, values, 'INT64')
    const other = new Uint8Array(writer.getBuffer())
    return decoded(other, values.length).values.every((v, i) => v === values[i])
  }), { numRuns: 400 })
  // what the writer emits for regular series: deltas of one width-0 block each
  const regular = Array.from({ length: 1280 }, (_, i) => 1_756_338_660_000n + 10_000n * BigInt(i))
  t.ok(encoded(regular).length < 100, `1280 regular timestamps take ${encoded(regular).length} bytes`)
})

t.test('DELTA_BINARY_PACKED: 32-bit values from hyparquet-writer (INT32 wrap-around) read back in the low words', async t => {
  fc.assert(fc.property(fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 500 }), values => {
    const writer = new ByteWriter()
    deltaBinaryPack(writer, Int32Array.from(values), 'INT32')
    const bytes = new Uint8Array(writer.getBuffer())
    const out = new Int32Array(2 * values.length)
    readDeltaBinaryPacked({ view: new DataView(bytes.buffer), offset: 0 }, values.length, out)
    return values.every((v, i) => out[2 * i] === v)
  }), { numRuns: 300 })
})

t.test('DELTA_LENGTH_BYTE_ARRAY and BYTE_STREAM_SPLIT round-trip and agree with hyparquet both ways', async t => {
  const blobs = fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 300 })
  fc.assert(fc.property(blobs, values => {
    const offsets = new Int32Array(values.length + 1)
    values.forEach((v, i) => { offsets[i + 1] = offsets[i] + v.length })
    const data = new Uint8Array(offsets[values.length])
    values.forEach((v, i) => data.set(v, offsets[i]))
    const out = new PageBuffer(16)
    encodeDeltaLengthByteArray(out, data, offsets, Int32Array.from(values.keys()), 0, values.length)
    const bytes = out.bytes.slice(0, out.length)
    // ours
    const reader = { view: new DataView(bytes.buffer), offset: 0 }
    const lengths = readDeltaLengths(reader, values.length)
    let at = reader.offset
    for (let k = 0; k < values.length; k++) {
      if (Buffer.compare(bytes.subarray(at, at + lengths[2 * k]), values[k]) !== 0) return false
      at += lengths[2 * k]
    }
    if (at !== bytes.length) return false
    // hyparquet's decoder on ours, ours on hyparquet-writer's
    const theirs = new Array<Uint8Array>(values.length)
    deltaLengthByteArray({ view: new DataView(bytes.buffer), offset: 0 }, values.length, theirs)
    if (theirs.some((v, k) => Buffer.compare(v, values[k]) !== 0)) return false
    const writer = new ByteWriter()
    writeDeltaLengthByteArray(writer, values)
    const other = new Uint8Array(writer.getBuffer())
    const otherReader = { view: new DataView(other.buffer), offset: 0 }
    const otherLengths = readDeltaLengths(otherReader, values.length)
    return values.every((v, k) => otherLengths[2 * k] === v.length)
  }), { numRuns: 300 })

  fc.assert(fc.property(fc.array(fc.double(), { maxLength: 300 }), fc.integer({ min: 0, max: 5 }), (values, skip) => {
    const plain = new Uint8Array(Float64Array.from(values).buffer)
    const out = new PageBuffer(16)
    out.length = skip // the encoding starts anywhere in a page
    encodeByteStreamSplit(out, plain, 0, values.length, 8)
    const bytes = out.bytes.slice(0, out.length)
    const reader = { view: new DataView(bytes.buffer), offset: skip }
    const back = readByteStreamSplit(reader, values.length, 8)
    if (Buffer.compare(back, plain) !== 0 || reader.offset !== bytes.length) return false
    const theirs = byteStreamSplit({ view: new DataView(bytes.buffer), offset: skip }, values.length, 'DOUBLE', undefined) as Float64Array
    return Buffer.compare(new Uint8Array(theirs.buffer), plain) === 0
  }), { numRuns: 300 })
})

/** Decodes, returning the error message (null when it decoded). */
function failure (decode: () => void): string | null {
  try {
    decode()
    return null
  } catch (err) {
    if (!(err instanceof Error) || err instanceof RangeError) throw err // a hostile page is refused, not read out of bounds
    return err.message
  }
}

const decodeDelta = (bytes: Uint8Array, count: number) => () => readDeltaBinaryPacked({ view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 }, count, new Int32Array(2 * count))

t.test('hostile DELTA_BINARY_PACKED: lying counts, layouts the format forbids, widths past 64, truncations are Errors', async t => {
  const values = Array.from({ length: 300 }, (_, i) => BigInt(i * i) * 7919n - 5n)
  const good = encoded(values)
  t.equal(failure(decodeDelta(good, 300)), null, 'the page as written decodes')
  t.match(failure(decodeDelta(good, 299)), /claims 300 values, the page has 299/, 'a header claiming more values than the page')
  t.match(failure(decodeDelta(good, 301)), /claims 300 values, the page has 301/, 'fewer')
  // header: 80 01 (128), 04 (4 miniblocks), ac 02 (300)
  const patched = (at: number, ...bytes: number[]) => {
    const copy = good.slice()
    copy.set(bytes, at)
    return copy
  }
  t.match(failure(decodeDelta(patched(0, 0xc0, 0x00), 300)), /block size 64/, 'a block size not a multiple of 128')
  t.match(failure(decodeDelta(patched(2, 3), 300)), /miniblocks 3 in a block of 128/, 'miniblocks of 128/3 values')
  t.match(failure(decodeDelta(patched(2, 8), 300)), /miniblocks 8 in a block of 128/, 'miniblocks of 16 values')
  t.match(failure(decodeDelta(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x08, 0x01, 0x02, 0x00]), 2)), /block size/, 'a block of 2^31 values')
  t.match(failure(decodeDelta(Uint8Array.from([0x80, 0x01, 0x04, 0x02, 0x00, 0x00, 65, 0, 0, 0, ...new Array(300).fill(0)]), 2)), /bit width 65/, 'a miniblock of 65-bit values')
  t.match(failure(decodeDelta(Uint8Array.from([0x80, 0x01, 0x04, 0x01, ...new Array(11).fill(0xff)]), 1)), /varint too long/, 'a first value of 11 varint bytes')
  // every truncation: an Error before the values are complete, never a read past the bytes
  const decodedCut: number[] = []
  for (let cut = 0; cut < good.length; cut++) if (failure(decodeDelta(good.subarray(0, cut), 300)) === null) decodedCut.push(cut)
  t.same(decodedCut, [], `each of the ${good.length} truncations is refused`)
  // random mutations: an Error or 300 values, quickly
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.nat(255)), { minLength: 1, maxLength: 4 }), edits => {
    const copy = good.slice()
    for (const [at, b] of edits) copy[at] = b
    failure(decodeDelta(copy, 300))
    return true
  }), { numRuns: 2000 })
})

t.test('hostile DELTA_LENGTH_BYTE_ARRAY and BYTE_STREAM_SPLIT: lengths past the page, negative lengths, short pages are Errors', async t => {
  const lengthsOf = (lengths: number[], tail: number) => {
    const out = new PageBuffer(16)
    encodeDeltaBinaryPacked(out, new Int32Array(lengths.flatMap(l => [l, l < 0 ? -1 : 0])), 0, lengths.length)
    out.range(new Uint8Array(tail), 0, tail)
    return out.bytes.slice(0, out.length)
  }
  const read = (bytes: Uint8Array, count: number) => () => readDeltaLengths({ view: new DataView(bytes.buffer), offset: 0 }, count)
  t.equal(failure(read(lengthsOf([3, 4, 5], 12), 3)), null, 'lengths that fit')
  t.match(failure(read(lengthsOf([3, 4, 5], 11), 3)), /values overrun the page/, 'values one byte past the page')
  t.match(failure(read(lengthsOf([3, 2 ** 31 - 1, 5], 12), 3)), /values overrun the page/, 'a length of 2^31 - 1')
  t.match(failure(read(lengthsOf([3, -4, 5], 12), 3)), /length -4/, 'a negative length')
  const split = (count: number, bytes: number) => () => readByteStreamSplit({ view: new DataView(new ArrayBuffer(bytes)), offset: 0 }, count, 8)
  t.equal(failure(split(10, 80)), null, '10 doubles in 80 bytes')
  t.match(failure(split(10, 79)), /shorter than its values/, '10 doubles in 79 bytes')
  t.match(failure(split(2 ** 28, 80)), /shorter than its values/, '2^28 doubles claimed: refused before anything is allocated')
})
