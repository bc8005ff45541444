// Writes one parquet column chunk from columnar values: an optional dictionary page and one
// data page (v1: RLE definition levels, then PLAIN values or RLE_DICTIONARY indices), ZSTD,
// with chunk statistics. Values go from typed arrays to page bytes without per-row objects.
import type { ColumnChunk, Statistics } from 'hyparquet'
import type { Writer } from 'hyparquet-writer'
import { ByteBuffer, copyBytes } from '../bytes.ts'
import { zstdCompress } from '../codecs.ts'
import { parquetType, writePageHeader } from '../parquet.ts'
import { compareUtf8, type ColumnType } from '../schema.ts'

/** Values of one output column for a run of rows; `valid[i]` 0 marks a null (all present when absent). */
export type ColumnValues =
  | { kind: 'double', values: Float64Array, valid?: Uint8Array }
  | { kind: 'int64', values: BigInt64Array, valid?: Uint8Array }
  | { kind: 'bool', values: Uint8Array, valid: Uint8Array }
  /** Strings (null = absent): dictionary-encoded when that pays. */
  | { kind: 'strings', values: ArrayLike<string | null> }
  /** Strings already as a dictionary of distinct entries and an index per row (-1 = null). */
  | { kind: 'dict', dictionary: readonly string[], indices: Int32Array }
  /** Byte strings: row i is data[offsets[i], offsets[i + 1]) where valid; written PLAIN. */
  | { kind: 'bytes', data: Uint8Array, offsets: Int32Array, valid: Uint8Array }
  /** Fixed-width ASCII strings packed in one buffer (row ids). */
  | { kind: 'ascii', bytes: Uint8Array, width: number }
  /** Anything else (converted values; null = absent). */
  | { kind: 'values', values: ArrayLike<unknown> }

/** A byte buffer for page bodies, reused across pages, with the writes of PLAIN values and RLE runs. */
export class PageBuffer extends ByteBuffer {
  view = new DataView(this.bytes.buffer)
  private text = Buffer.from(this.bytes.buffer)

  constructor () {
    super(1 << 16)
  }

  protected override grow (needed: number): void {
    super.grow(needed)
    this.view = new DataView(this.bytes.buffer)
    this.text = Buffer.from(this.bytes.buffer)
  }

  u8 (v: number): void {
    this.ensure(1)
    this.bytes[this.length++] = v
  }

  u32 (v: number): void {
    this.ensure(4)
    this.view.setUint32(this.length, v, true)
    this.length += 4
  }

  varint (v: number): void {
    this.ensure(5)
    while (v > 0x7f) {
      this.bytes[this.length++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    this.bytes[this.length++] = v
  }

  raw (src: Uint8Array): void {
    this.ensure(src.length)
    this.bytes.set(src, this.length)
    this.length += src.length
  }

  /** A length-prefixed UTF-8 string (PLAIN BYTE_ARRAY). */
  utf8 (s: string): void {
    this.ensure(4 + s.length * 3)
    const written = this.text.write(s, this.length + 4)
    this.view.setUint32(this.length, written, true)
    this.length += 4 + written
  }

  /** src[start, end) as a length-prefixed byte string (PLAIN BYTE_ARRAY). */
  blob (src: Uint8Array, start: number, end: number): void {
    this.u32(end - start)
    this.ensure(end - start)
    this.length = copyBytes(this.bytes, this.length, src, start, end)
  }

  /** src[start, end) as is. */
  range (src: Uint8Array, start: number, end: number): void {
    this.ensure(end - start)
    this.length = copyBytes(this.bytes, this.length, src, start, end)
  }
}

const page = new PageBuffer()
const levels = new PageBuffer()

/**
 * RLE/bit-packed hybrid encoding of values [0, n) at a bit width: runs of 8 or more equal values
 * as RLE runs, the rest bit-packed in groups of 8.
 */
export function encodeHybrid (out: PageBuffer, values: ArrayLike<number>, n: number, bitWidth: number): void {
  const width = (bitWidth + 7) >> 3
  let i = 0
  let packedStart = -1
  while (i < n) {
    const v = values[i]
    let run = 1
    while (i + run < n && values[i + run] === v) run++
    if (run >= 8) {
      if (packedStart >= 0) packGroups(out, values, packedStart, i, n, bitWidth)
      packedStart = -1
      out.varint(run * 2)
      for (let b = 0; b < width; b++) out.u8((v >>> (8 * b)) & 0xff)
      i += run
    } else {
      // a bit-packed group of 8: packed runs stay whole groups, padded only at the very end
      if (packedStart < 0) packedStart = i
      i += 8
    }
  }
  if (packedStart >= 0) packGroups(out, values, packedStart, i, n, bitWidth)
}

// Bit-packs values [start, end) in groups of 8; positions at or past n are zero padding.
function packGroups (out: PageBuffer, values: ArrayLike<number>, start: number, end: number, n: number, bitWidth: number): void {
  const groups = Math.ceil((end - start) / 8)
  out.varint(groups * 2 + 1)
  out.ensure(groups * bitWidth)
  let acc = 0
  let bits = 0
  for (let k = start; k < start + groups * 8; k++) {
    acc += (k < n ? values[k] : 0) * 2 ** bits
    bits += bitWidth
    while (bits >= 8) {
      out.bytes[out.length++] = acc & 0xff
      acc = Math.floor(acc / 256)
      bits -= 8
    }
  }
}

/** Writes rows [start, end) of a column as one column chunk at the writer's offset. */
export function writeColumnChunk (writer: Writer, name: string, type: ColumnType, data: ColumnValues, start: number, end: number): ColumnChunk {
  const n = end - start
  const chunkStart = writer.offset
  const defs = new Uint8Array(n)
  page.reset()
  let nulls = 0
  let statistics: Statistics = {}
  let dictionary: string[] | null = null

  if (data.kind === 'double' || data.kind === 'int64') {
    const valid = data.valid
    let present = n
    if (valid) {
      present = 0
      for (let i = start; i < end; i++) present += defs[i - start] = valid[i]
    } else defs.fill(1)
    nulls = n - present
    if (present === n) page.raw(new Uint8Array(data.values.buffer, data.values.byteOffset + start * 8, n * 8))
    else {
      const bytes = new Uint8Array(data.values.buffer, data.values.byteOffset, data.values.byteLength)
      for (let i = start; i < end; i++) if (valid![i] === 1) page.range(bytes, i * 8, i * 8 + 8)
    }
    statistics = data.kind === 'double' ? doubleStats(data.values, start, end, valid) : int64Stats(data.values, start, end, valid)
  } else if (data.kind === 'bool') {
    let bits = 0
    let count = 0
    for (let i = start; i < end; i++) {
      if (data.valid[i] === 0) {
        nulls++
        continue
      }
      defs[i - start] = 1
      bits |= data.values[i] << count
      if (++count === 8) {
        page.u8(bits)
        bits = 0
        count = 0
      }
    }
    if (count > 0) page.u8(bits)
  } else if (data.kind === 'ascii') {
    defs.fill(1)
    const { bytes, width } = data
    let lo = start
    let hi = start
    for (let i = start; i < end; i++) {
      page.blob(bytes, i * width, (i + 1) * width)
      if (compareBytes(bytes, i, lo, width) < 0) lo = i
      if (compareBytes(bytes, i, hi, width) > 0) hi = i
    }
    const text = (i: number): string => String.fromCharCode(...bytes.subarray(i * width, (i + 1) * width))
    if (n > 0) statistics = { min_value: text(lo), max_value: text(hi) }
  } else if (data.kind === 'bytes') {
    for (let i = start; i < end; i++) {
      if (data.valid[i] === 0) nulls++
      else {
        defs[i - start] = 1
        page.blob(data.data, data.offsets[i], data.offsets[i + 1])
      }
    }
  } else if (data.kind === 'strings') {
    const result = encodeStrings(data.values, start, end, defs)
    nulls = result.nulls
    dictionary = result.dictionary
    statistics = result.statistics
  } else if (data.kind === 'dict') {
    const result = encodeDictionary(data.dictionary, data.indices, start, end, defs)
    nulls = result.nulls
    dictionary = result.dictionary
    statistics = result.statistics
  } else {
    nulls = encodeValues(data.values, start, end, defs, type)
  }
  statistics.null_count = BigInt(nulls)

  let dictionaryOffset: bigint | undefined
  let uncompressed = 0
  if (dictionary) {
    dictionaryOffset = BigInt(writer.offset)
    const body = new PageBuffer()
    for (const s of dictionary) body.utf8(s)
    const bytes = body.bytes.subarray(0, body.length)
    const compressed = zstdCompress(bytes)
    const headerStart = writer.offset
    writePageHeader(writer, {
      type: 'DICTIONARY_PAGE',
      uncompressed_page_size: bytes.length,
      compressed_page_size: compressed.length,
      dictionary_page_header: { num_values: dictionary.length, encoding: 'PLAIN' },
    })
    uncompressed += writer.offset - headerStart + bytes.length
    writer.appendBytes(compressed)
  }

  // data page v1: [4-byte length][definition levels][values], compressed together
  levels.reset()
  levels.u32(0)
  encodeHybrid(levels, defs, n, 1)
  levels.view.setUint32(0, levels.length - 4, true)
  levels.raw(page.bytes.subarray(0, page.length))
  const body = levels.bytes.subarray(0, levels.length)
  const compressed = zstdCompress(body)
  const dataOffset = BigInt(writer.offset)
  const headerStart = writer.offset
  writePageHeader(writer, {
    type: 'DATA_PAGE',
    uncompressed_page_size: body.length,
    compressed_page_size: compressed.length,
    data_page_header: { num_values: n, encoding: dictionary ? 'RLE_DICTIONARY' : 'PLAIN', definition_level_encoding: 'RLE', repetition_level_encoding: 'RLE' },
  })
  uncompressed += writer.offset - headerStart + body.length
  writer.appendBytes(compressed)

  return {
    file_offset: BigInt(chunkStart),
    meta_data: {
      type: parquetType(type),
      encodings: dictionary ? ['PLAIN', 'RLE', 'RLE_DICTIONARY'] : ['PLAIN', 'RLE'],
      path_in_schema: [name],
      codec: 'ZSTD',
      num_values: BigInt(n),
      total_uncompressed_size: BigInt(uncompressed),
      total_compressed_size: BigInt(writer.offset - chunkStart),
      data_page_offset: dataOffset,
      dictionary_page_offset: dictionaryOffset,
      statistics,
    },
  }
}

/** Strings (null = absent) through a dictionary built here; fills defs. */
function encodeStrings (values: ArrayLike<string | null>, start: number, end: number, defs: Uint8Array): EncodedStrings {
  const ids = new Map<string, number>()
  const dictionary: string[] = []
  const indices = new Int32Array(end - start)
  for (let i = start; i < end; i++) {
    const v = values[i]
    if (v === null || v === undefined) {
      indices[i - start] = -1
      continue
    }
    let id = ids.get(v)
    if (id === undefined) {
      id = dictionary.length
      ids.set(v, id)
      dictionary.push(v)
    }
    indices[i - start] = id
  }
  return encodeDictionary(dictionary, indices, 0, end - start, defs)
}

interface EncodedStrings { nulls: number, dictionary: string[] | null, statistics: Statistics }

const remap = { ids: new Int32Array(1024) }

/**
 * Rows [start, end) of dictionary-coded strings (-1 = null): RLE_DICTIONARY over the entries the
 * rows use when those are at most half the values, else PLAIN. Fills defs.
 */
function encodeDictionary (entries: readonly string[], indices: Int32Array, start: number, end: number, defs: Uint8Array): EncodedStrings {
  if (remap.ids.length < entries.length) remap.ids = new Int32Array(entries.length * 2)
  const local = remap.ids.fill(-1, 0, entries.length)
  const dictionary: string[] = []
  const codes = new Int32Array(end - start)
  let present = 0
  for (let i = start; i < end; i++) {
    const k = indices[i]
    if (k < 0) continue
    defs[i - start] = 1
    let id = local[k]
    if (id < 0) {
      id = local[k] = dictionary.length
      dictionary.push(entries[k])
    }
    codes[present++] = id
  }
  let min: string | undefined
  let max: string | undefined
  for (const s of dictionary) {
    if (min === undefined || compareUtf8(s, min) < 0) min = s
    if (max === undefined || compareUtf8(s, max) > 0) max = s
  }
  const statistics: Statistics = min === undefined ? {} : { min_value: min, max_value: max }
  const nulls = end - start - present
  if (dictionary.length > 0 && dictionary.length * 2 <= present) {
    const bitWidth = Math.max(1, 32 - Math.clz32(dictionary.length - 1))
    page.u8(bitWidth)
    encodeHybrid(page, codes, present, bitWidth)
    return { nulls, dictionary, statistics }
  }
  for (let k = 0; k < present; k++) page.utf8(dictionary[codes[k]])
  return { nulls, dictionary: null, statistics }
}

/** Carried non-string values, PLAIN; fills defs and returns the null count. */
function encodeValues (values: ArrayLike<unknown>, start: number, end: number, defs: Uint8Array, type: ColumnType): number {
  let nulls = 0
  let boolBits = 0
  let boolCount = 0
  for (let i = start; i < end; i++) {
    const v = values[i]
    if (v === null || v === undefined) {
      nulls++
      continue
    }
    defs[i - start] = 1
    if (type === 'double') {
      page.ensure(8)
      page.view.setFloat64(page.length, Number(v), true)
      page.length += 8
    } else if (type === 'int64') {
      page.ensure(8)
      page.view.setBigInt64(page.length, typeof v === 'bigint' ? v : BigInt(v as number), true)
      page.length += 8
    } else if (type === 'bool') {
      if (v === true) boolBits |= 1 << boolCount
      if (++boolCount === 8) {
        page.u8(boolBits)
        boolBits = 0
        boolCount = 0
      }
    } else {
      const b = v as Uint8Array
      page.blob(b, 0, b.length)
    }
  }
  if (type === 'bool' && boolCount > 0) page.u8(boolBits)
  return nulls
}

function doubleStats (values: Float64Array, start: number, end: number, valid: Uint8Array | undefined): Statistics {
  let min = Infinity
  let max = -Infinity
  for (let i = start; i < end; i++) {
    if (valid && valid[i] === 0) continue
    const v = values[i]
    if (v < min) min = v
    if (v > max) max = v
  }
  return min <= max ? { min_value: min, max_value: max } : {}
}

function int64Stats (values: BigInt64Array, start: number, end: number, valid: Uint8Array | undefined): Statistics {
  let first = start
  while (valid && first < end && valid[first] === 0) first++
  if (first >= end) return {}
  const words = new Int32Array(values.buffer, values.byteOffset, values.length * 2)
  let lo = first
  let hi = first
  for (let i = first + 1; i < end; i++) {
    if (valid && valid[i] === 0) continue
    if (compareWords(words, i, lo) < 0) lo = i
    if (compareWords(words, i, hi) > 0) hi = i
  }
  return { min_value: values[lo], max_value: values[hi] }
}

function compareWords (w: Int32Array, a: number, b: number): number {
  const ha = w[2 * a + 1]
  const hb = w[2 * b + 1]
  if (ha !== hb) return ha - hb
  return (w[2 * a] >>> 0) - (w[2 * b] >>> 0)
}

function compareBytes (bytes: Uint8Array, a: number, b: number, width: number): number {
  for (let k = 0; k < width; k++) {
    const d = bytes[a * width + k] - bytes[b * width + k]
    if (d !== 0) return d
  }
  return 0
}
