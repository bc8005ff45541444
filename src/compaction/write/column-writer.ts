// Writes one parquet column chunk from columnar values: an optional dictionary page, then data pages
// (v1: RLE definition levels, then the values) of at most PAGE_VALUES values or PAGE_BYTES bytes,
// ZSTD, with exact statistics for the chunk and for each page (the page index: ColumnIndex and
// OffsetIndex, written after the row groups by writePageIndexes). Each chunk's encoding is chosen
// by a rule fixed from measurement (docs/DOMAIN.md section 5, chooseFixed and chooseBinary below).
// Values go from typed arrays to page bytes without per-row objects.
import type { TextIndices } from '../read/chunk-reader.ts'
import type { BoundaryOrder, ColumnChunk, ColumnIndex, Encoding, OffsetIndex, Statistics } from 'hyparquet'

type MinMaxType = NonNullable<Statistics['min_value']>
type PageLocation = OffsetIndex['page_locations'][number]
import type { Writer } from 'hyparquet-writer'
import { ZSTD_LEVEL, zstdCompress } from '../codecs.ts'
import { parquetType, schemaElement, serializeTCompactProtocol, unconvertMinMax, writePageHeader } from '../parquet.ts'
import { TID, TIMESTAMP, TSNS, type ColumnType } from '../schema.ts'
import {
  PageBuffer, encodeByteStreamSplit, encodeDeltaBinaryPacked, encodeDeltaLengthByteArray, encodeHybridRange,
} from './encodings.ts'

export { PageBuffer, encodeHybrid } from './encodings.ts'

/** Values of one output column for a run of rows; `valid[i]` 0 marks a null (all present when absent). */
export type ColumnValues =
  | { kind: 'double', values: Float64Array, valid?: Uint8Array }
  | { kind: 'int64', values: BigInt64Array, valid?: Uint8Array }
  | { kind: 'bool', values: Uint8Array, valid: Uint8Array }
  /** Strings (null = absent): dictionary-encoded when that pays. */
  | { kind: 'strings', values: ArrayLike<string | null> }
  /** Strings already as a dictionary of distinct entries and an index per row (-1 = null). */
  | { kind: 'dict', dictionary: readonly string[], indices: TextIndices }
  /** Byte strings: row i is data[offsets[i], offsets[i + 1]) where valid. */
  | { kind: 'bytes', data: Uint8Array, offsets: Int32Array, valid: Uint8Array }
  /** Anything else (converted values; null = absent). */
  | { kind: 'values', values: ArrayLike<unknown> }

/**
 * A data page ends once it holds PAGE_VALUES values (nulls do not count: a sparse column's nulls
 * cost a level bit each) or once its values take PAGE_BYTES (PLAIN sizes: 8 bytes a number, 4 +
 * length a byte string), whichever comes first. Dense fixed-width columns thus get pages of
 * 65536 rows = 512 KiB, aligned across columns; byte strings (sketches) smaller pages. Measured on
 * bench `default` and `wide` in files of one row group: pages of 16384 values cost 2 % more bytes
 * than these (22.95 against 22.50 MB), which kept the files above DuckDB's.
 */
export const PAGE_VALUES = 65536
export const PAGE_BYTES = 1024 * 1024
/** Byte-array statistics (chunk and page) keep at most this many bytes; a longer value is cut, flagged inexact. */
export const STATISTICS_BYTES = 64

/** A numeric column takes a dictionary when its distinct values are at most this share of its values. */
const FIXED_DICTIONARY_SHARE = 1 / 8
/** Strings take a dictionary when their distinct values are at most this share of their values. */
const TEXT_DICTIONARY_SHARE = 1 / 2
/** Byte strings (sketches) take a dictionary when their distinct values are at most this share. */
const BYTES_DICTIONARY_SHARE = 1 / 4
/**
 * Doubles that are nearly all distinct (at least this share) are written BYTE_STREAM_SPLIT: it
 * beats PLAIN by ~9 % on unique values (rolled-up sums) but loses 2x as soon as values repeat
 * (ZSTD finds repeated 8-byte values in PLAIN, not once they are split into streams).
 */
const SPLIT_SHARE = 15 / 16
/** chq_tid (sorted within a name) is written DELTA_BINARY_PACKED when at least this share of its values start a run of equal tids. */
const TID_DELTA_SHARE = 1 / 2
/** Sorted int64 columns: DELTA_BINARY_PACKED, dictionary or PLAIN, whichever compresses smallest on the chunk's first values. */
const SORTED_INT64: ReadonlySet<string> = new Set([TIMESTAMP, TSNS])

/** A chunk's page index as written after the row groups; null columnIndex: a page had no min/max (only NaN). */
export interface ChunkPageIndex {
  readonly chunk: ColumnChunk
  readonly columnIndex: ColumnIndex | null
  readonly offsetIndex: OffsetIndex
}

/**
 * Writes every chunk's ColumnIndex, then every chunk's OffsetIndex, at the writer's offset (after
 * the row groups, before the footer, as the format places them), and records their offsets and
 * lengths in the chunks for the footer.
 */
export function writePageIndexes (writer: Writer, indexes: readonly ChunkPageIndex[]): void {
  for (const { chunk, columnIndex } of indexes) {
    if (!columnIndex) continue
    const at = writer.offset
    serializeTCompactProtocol(writer, {
      field_1: columnIndex.null_pages,
      field_2: columnIndex.min_values,
      field_3: columnIndex.max_values,
      field_4: BOUNDARY_ORDERS.indexOf(columnIndex.boundary_order),
      field_5: columnIndex.null_counts,
    })
    chunk.column_index_offset = BigInt(at)
    chunk.column_index_length = writer.offset - at
  }
  for (const { chunk, offsetIndex } of indexes) {
    const at = writer.offset
    serializeTCompactProtocol(writer, {
      field_1: offsetIndex.page_locations.map(p => ({ field_1: p.offset, field_2: p.compressed_page_size, field_3: p.first_row_index })),
    })
    chunk.offset_index_offset = BigInt(at)
    chunk.offset_index_length = writer.offset - at
  }
}

const BOUNDARY_ORDERS: readonly BoundaryOrder[] = ['UNORDERED', 'ASCENDING', 'DESCENDING']

/**
 * A chunk's present values in one of three forms (rows [start, end) of the column; value k is the
 * k-th present row's).
 * fixed: 8 bytes a value, little-endian, as `bytes` and as (lo, hi) word pairs; the double flag says how to order them.
 * bool: one 0/1 byte a value.
 * binary: value k is entry codes[k], entry e the bytes data[offsets[e], offsets[e + 1]); `distinct`
 * when no two entries are equal (a string dictionary), so that entries can be a chunk dictionary.
 */
type Present =
  | { readonly form: 'fixed', readonly double: boolean, readonly bytes: Uint8Array, readonly words: Int32Array }
  | { readonly form: 'bool', readonly bits: Uint8Array }
  | { readonly form: 'binary', readonly text: boolean, readonly data: Uint8Array, readonly offsets: Int32Array, readonly codes: Int32Array, readonly entries: number, readonly distinct: boolean }

/** A chunk's dictionary: `first[d]` is the value (present index) entry d was made from, codes[k] value k's entry. */
interface ChunkDictionary {
  readonly size: number
  readonly first: Int32Array
  readonly codes: Int32Array
}

/** How a chunk's values are written: the data pages' encoding, and the dictionary they index. */
interface Plan {
  readonly encoding: Encoding
  readonly dictionary: ChunkDictionary | null
}

/** Rows [r0, r1) of a chunk and their present values [k0, k1). */
type PageSpan = [r0: number, r1: number, k0: number, k1: number]

const values = new PageBuffer()
const body = new PageBuffer()

/**
 * How a chunk is cut and compressed: a data page's values at most, and the ZSTD level. `lean`, for
 * a file only the engine reads (a run): numbers PLAIN (no encoding tried), statistics of null
 * counts only, no column index.
 */
export interface ChunkLayout {
  readonly pageValues?: number
  readonly level?: number
  readonly lean?: boolean
}

/**
 * Writes rows [start, end) of a column as one column chunk at the writer's offset. Its page index
 * is appended to `pageIndexes` when given (see writePageIndexes).
 */
export function writeColumnChunk (writer: Writer, name: string, type: ColumnType, data: ColumnValues, start: number, end: number,
  pageIndexes?: ChunkPageIndex[], { pageValues = PAGE_VALUES, level = ZSTD_LEVEL, lean = false }: ChunkLayout = {}): ColumnChunk {
  const n = end - start
  const chunkStart = writer.offset
  const defs = new Uint8Array(n)
  const present = presentValues(data, type, start, end, defs)
  const count = presentCount(present)
  const plan: Plan = present.form === 'fixed' ? (lean ? { encoding: 'PLAIN', dictionary: null } : chooseFixed(name, present, count))
    : present.form === 'bool' ? { encoding: 'RLE', dictionary: null } : chooseBinary(present, count)
  const pages = pageSpans(defs, present, plan, count, pageValues)

  let uncompressed = 0
  let dictionaryOffset: bigint | undefined
  if (plan.dictionary) {
    dictionaryOffset = BigInt(writer.offset)
    body.reset()
    writeDictionaryValues(body, present, plan.dictionary)
    const bytes = body.bytes.subarray(0, body.length)
    const compressed = zstdCompress(bytes, level)
    const headerStart = writer.offset
    writePageHeader(writer, {
      type: 'DICTIONARY_PAGE',
      uncompressed_page_size: bytes.length,
      compressed_page_size: compressed.length,
      dictionary_page_header: { num_values: plan.dictionary.size, encoding: 'PLAIN' },
    })
    uncompressed += writer.offset - headerStart + bytes.length
    writer.appendBytes(compressed)
  }

  const stats = new PageStatistics(name, type, present, !lean)
  const locations: PageLocation[] = []
  const dataOffset = BigInt(writer.offset)
  for (const [r0, r1, k0, k1] of pages) {
    // data page v1: [4-byte length][definition levels][values], compressed together
    body.reset()
    body.u32(0)
    encodeHybridRange(body, defs, r0, r1, 1)
    body.view.setUint32(0, body.length - 4, true)
    writeValues(body, present, plan, k0, k1)
    const page = body.bytes.subarray(0, body.length)
    const compressed = zstdCompress(page, level)
    const headerStart = writer.offset
    writePageHeader(writer, {
      type: 'DATA_PAGE',
      uncompressed_page_size: page.length,
      compressed_page_size: compressed.length,
      data_page_header: { num_values: r1 - r0, encoding: plan.encoding, definition_level_encoding: 'RLE', repetition_level_encoding: 'RLE' },
    })
    uncompressed += writer.offset - headerStart + page.length
    writer.appendBytes(compressed)
    locations.push({ offset: BigInt(headerStart), compressed_page_size: writer.offset - headerStart, first_row_index: BigInt(r0) })
    stats.addPage(r1 - r0, k0, k1)
  }

  const encodings: Encoding[] = plan.dictionary ? ['PLAIN', 'RLE', 'RLE_DICTIONARY'] : plan.encoding === 'RLE' ? ['RLE'] : ['RLE', plan.encoding]
  const chunk: ColumnChunk = {
    file_offset: BigInt(chunkStart),
    meta_data: {
      type: parquetType(type),
      encodings,
      path_in_schema: [name],
      codec: 'ZSTD',
      num_values: BigInt(n),
      total_uncompressed_size: BigInt(uncompressed),
      total_compressed_size: BigInt(writer.offset - chunkStart),
      data_page_offset: dataOffset,
      dictionary_page_offset: dictionaryOffset,
      statistics: stats.chunk(),
      encoding_stats: [
        ...(plan.dictionary ? [{ page_type: 'DICTIONARY_PAGE' as const, encoding: 'PLAIN' as const, count: 1 }] : []),
        { page_type: 'DATA_PAGE', encoding: plan.encoding, count: pages.length },
      ],
    },
  }
  pageIndexes?.push({ chunk, columnIndex: stats.columnIndex(), offsetIndex: { page_locations: locations } })
  return chunk
}

function presentCount (present: Present): number {
  switch (present.form) {
    case 'fixed': return present.bytes.length / 8
    case 'bool': return present.bits.length
    case 'binary': return present.codes.length
  }
}

// ---------------------------------------------------------------------------------------------
// The present values of a chunk

/** Rows [start, end) of a column: fills defs (1 = present) and returns the present values. */
function presentValues (data: ColumnValues, type: ColumnType, start: number, end: number, defs: Uint8Array): Present {
  const n = end - start
  switch (data.kind) {
    case 'double': case 'int64': {
      const { values: v, valid } = data
      let count = n
      if (valid) {
        count = 0
        for (let i = start; i < end; i++) count += defs[i - start] = valid[i]
      } else defs.fill(1)
      const all = new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
      let bytes: Uint8Array
      if (count === n) bytes = all.subarray(start * 8, end * 8)
      else {
        bytes = new Uint8Array(count * 8)
        for (let i = start, k = 0; i < end; i++) if (defs[i - start] === 1) bytes.set(all.subarray(i * 8, i * 8 + 8), 8 * k++)
      }
      return fixed(bytes, data.kind === 'double')
    }
    case 'bool': {
      let count = 0
      for (let i = start; i < end; i++) count += defs[i - start] = data.valid[i]
      const bits = new Uint8Array(count)
      for (let i = start, k = 0; i < end; i++) if (data.valid[i] === 1) bits[k++] = data.values[i] === 0 ? 0 : 1
      return { form: 'bool', bits }
    }
    case 'bytes': {
      // entries are the column's rows: no copy
      let count = 0
      for (let i = start; i < end; i++) count += defs[i - start] = data.valid[i]
      const codes = scratchInts(VALUE_CODES, count)
      for (let i = start, k = 0; i < end; i++) if (data.valid[i] === 1) codes[k++] = i
      return { form: 'binary', text: type === 'string', data: data.data, offsets: data.offsets, codes, entries: data.offsets.length - 1, distinct: false }
    }
    case 'strings': return textValues(...stringDictionary(data.values, start, end), 0, n, defs)
    case 'dict': return textValues(data.dictionary, data.indices, start, end, defs)
    case 'values': return presentValues(typedValues(data.values, type, start, end), type, 0, n, defs)
  }
}

function fixed (bytes: Uint8Array, double: boolean): Present {
  // aligned for the word and double views: a view into a column at a multiple of 8, or a new array
  const words = bytes.byteOffset % 8 === 0 ? new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4) : new Int32Array(bytes.slice().buffer)
  return { form: 'fixed', double, bytes, words }
}

/** Strings (null = absent) as a dictionary built here and an index per row (-1 = null). */
/** Values [start, end) numbered as they come: their distinct strings, and an index per value (-1: null). */
export function stringDictionary (values: ArrayLike<string | null>, start: number, end: number): [string[], Int32Array] {
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
  return [dictionary, indices]
}

const remap = { ids: new Int32Array(1024) }

// Index arrays a chunk needs while it is written (one chunk at a time), reused across chunks:
// the values' entries, the dictionary's codes and first values
const scratch = [new Int32Array(1024), new Int32Array(1024), new Int32Array(1024)]
const VALUE_CODES = 0
const DICTIONARY_CODES = 1
const DICTIONARY_FIRST = 2

/** Scratch array `slot`, at least n long, as n entries. */
function scratchInts (slot: number, n: number): Int32Array {
  if (scratch[slot].length < n) scratch[slot] = new Int32Array(Math.max(n, 2 * scratch[slot].length))
  return scratch[slot].subarray(0, n)
}

/**
 * Rows [start, end) of dictionary-coded strings (-1 = null) as binary values over the entries the
 * rows use, in the order of their first use, each encoded to UTF-8 once. Fills defs.
 */
function textValues (entries: readonly string[], indices: TextIndices, start: number, end: number, defs: Uint8Array): Present {
  if (remap.ids.length < entries.length) remap.ids = new Int32Array(entries.length * 2)
  const local = remap.ids.fill(-1, 0, entries.length)
  const used: number[] = []
  const all = scratchInts(VALUE_CODES, end - start)
  let count = 0
  for (let i = start; i < end; i++) {
    const e = indices[i]
    if (e < 0) continue
    defs[i - start] = 1
    let id = local[e]
    if (id < 0) {
      id = local[e] = used.length
      used.push(e)
    }
    all[count++] = id
  }
  const codes = all.subarray(0, count)
  const text = new PageBuffer(1024)
  const offsets = new Int32Array(used.length + 1)
  for (let d = 0; d < used.length; d++) offsets[d + 1] = offsets[d] + text.text8(entries[used[d]])
  return { form: 'binary', text: true, data: text.bytes, offsets, codes, entries: used.length, distinct: true }
}

/** Converted values (null = absent) as the typed column of their type. */
function typedValues (values: ArrayLike<unknown>, type: ColumnType, start: number, end: number): ColumnValues {
  const n = end - start
  const valid = new Uint8Array(n)
  for (let i = 0; i < n; i++) valid[i] = values[start + i] === null || values[start + i] === undefined ? 0 : 1
  switch (type) {
    case 'double': {
      const out = new Float64Array(n)
      for (let i = 0; i < n; i++) if (valid[i] === 1) out[i] = Number(values[start + i])
      return { kind: 'double', values: out, valid }
    }
    case 'int64': {
      const out = new BigInt64Array(n)
      for (let i = 0; i < n; i++) {
        const v = values[start + i]
        if (valid[i] === 1) out[i] = typeof v === 'bigint' ? v : BigInt(v as number)
      }
      return { kind: 'int64', values: out, valid }
    }
    case 'bool': {
      const out = new Uint8Array(n)
      for (let i = 0; i < n; i++) out[i] = values[start + i] === true ? 1 : 0
      return { kind: 'bool', values: out, valid }
    }
    default: {
      // byte strings (strings arrive as the 'strings' kind)
      const offsets = new Int32Array(n + 1)
      for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i] + (valid[i] === 1 ? (values[start + i] as Uint8Array).length : 0)
      const data = new Uint8Array(offsets[n])
      for (let i = 0; i < n; i++) if (valid[i] === 1) data.set(values[start + i] as Uint8Array, offsets[i])
      return { kind: 'bytes', data, offsets, valid }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Choosing the encoding (docs/DOMAIN.md section 5 has the measurements behind each rule)

/**
 * int64 and double chunks. chq_tid: DELTA_BINARY_PACKED when at least half its values are distinct
 * (one row a series), else PLAIN. chq_timestamp and chq_tsns: whichever of DELTA_BINARY_PACKED,
 * PLAIN and the dictionary (when it qualifies) compresses smallest on the chunk's first values (long
 * regular series: DELTA by far; short series: the dictionary); doubles that are all whole numbers
 * likewise between BYTE_STREAM_SPLIT, PLAIN and the dictionary. Anything else: a dictionary when at
 * most 1/8 of the values are distinct; doubles nearly all distinct (15/16) BYTE_STREAM_SPLIT; PLAIN.
 */
function chooseFixed (name: string, present: Extract<Present, { form: 'fixed' }>, count: number): Plan {
  if (!present.double && name === TID) {
    // sorted within a name, equal tids are neighbours: their runs count the distinct values
    const w = present.words
    let runs = count > 0 ? 1 : 0
    for (let k = 1; k < count; k++) if (w[2 * k] !== w[2 * k - 2] || w[2 * k + 1] !== w[2 * k - 1]) runs++
    // random 64-bit hashes in runs: a dictionary of them compressed larger than PLAIN on every data set
    return { encoding: count > 0 && runs >= count * TID_DELTA_SHARE ? 'DELTA_BINARY_PACKED' : 'PLAIN', dictionary: null }
  }
  const limit = Math.floor(count * FIXED_DICTIONARY_SHARE)
  const found = distinctWords(present.words, count, limit)
  const dictionary = 'size' in found ? found : null
  if (!present.double && SORTED_INT64.has(name)) {
    const candidates: Plan[] = [{ encoding: 'DELTA_BINARY_PACKED', dictionary: null }, { encoding: 'PLAIN', dictionary: null }]
    if (dictionary) candidates.push({ encoding: 'RLE_DICTIONARY', dictionary })
    return smallestOnTrial(present, count, candidates)
  }
  if (present.double && count > 0 && integral(present.words, count)) {
    // whole numbers (counts): zero low mantissa bytes make BYTE_STREAM_SPLIT's streams compress, but
    // a few distinct counts make a better dictionary, and which wins varies by data set
    const candidates: Plan[] = [{ encoding: 'BYTE_STREAM_SPLIT', dictionary: null }, { encoding: 'PLAIN', dictionary: null }]
    if (dictionary) candidates.push({ encoding: 'RLE_DICTIONARY', dictionary })
    return smallestOnTrial(present, count, candidates)
  }
  if (dictionary) return { encoding: 'RLE_DICTIONARY', dictionary }
  // nearly all distinct: counted to the end only when the share seen up to the limit could be that
  // high (it overestimates: repeats are spread over the chunk)
  if (present.double && 'scanned' in found && (limit + 1) / found.scanned >= SPLIT_SHARE && countDistinctWords(present.words, count) >= count * SPLIT_SHARE) {
    return { encoding: 'BYTE_STREAM_SPLIT', dictionary: null }
  }
  return { encoding: 'PLAIN', dictionary: null }
}

/** Whether `count` doubles (word pairs) are all whole numbers (infinities included; NaN not). */
function integral (words: Int32Array, count: number): boolean {
  const values = new Float64Array(words.buffer, words.byteOffset, count)
  for (let k = 0; k < count; k++) if (values[k] !== Math.floor(values[k])) return false
  return true
}

/** Values of a chunk encoded and compressed in each candidate encoding to choose between them. */
const TRIAL_VALUES = 4096

/**
 * The plan whose chunk would compress to the fewest bytes, estimated from its first TRIAL_VALUES
 * values times the chunk's share of them, plus the dictionary page; the first listed on a tie.
 */
function smallestOnTrial (present: Present, count: number, candidates: readonly Plan[]): Plan {
  const k0 = 0
  const k1 = Math.min(count, TRIAL_VALUES)
  if (k1 === k0) return candidates[0]
  let best = candidates[0]
  let bestSize = Infinity
  for (const plan of candidates) {
    values.reset()
    writeValues(values, present, plan, k0, k1)
    const page = zstdCompress(values.bytes.subarray(0, values.length)).length
    const size = page * (count / (k1 - k0)) + (plan.dictionary ? dictionaryBytes(present, plan.dictionary) : 0)
    if (size < bestSize) {
      best = plan
      bestSize = size
    }
  }
  return best
}

// The compressed size of a dictionary page (for the first-page comparison)
function dictionaryBytes (present: Present, dictionary: ChunkDictionary): number {
  values.reset()
  writeDictionaryValues(values, present, dictionary)
  return zstdCompress(values.bytes.subarray(0, values.length)).length
}

/**
 * Byte-array chunks: strings take a dictionary when at most half of their values are distinct,
 * byte strings (sketches) when at most a quarter are; else PLAIN (DELTA_LENGTH_BYTE_ARRAY, which
 * the reader decodes, compressed larger than PLAIN on every measured column).
 */
function chooseBinary (present: Extract<Present, { form: 'binary' }>, count: number): Plan {
  if (count === 0) return { encoding: 'PLAIN', dictionary: null }
  if (present.distinct) {
    if (present.entries > count * TEXT_DICTIONARY_SHARE) return { encoding: 'PLAIN', dictionary: null }
    const first = scratchInts(DICTIONARY_FIRST, present.entries)
    for (let k = count - 1; k >= 0; k--) first[present.codes[k]] = k
    return { encoding: 'RLE_DICTIONARY', dictionary: { size: present.entries, first, codes: present.codes } }
  }
  const found = distinctBytes(present, count, Math.floor(count * (present.text ? TEXT_DICTIONARY_SHARE : BYTES_DICTIONARY_SHARE)))
  return 'size' in found ? { encoding: 'RLE_DICTIONARY', dictionary: found } : { encoding: 'PLAIN', dictionary: null }
}

// Open addressing over value indexes + 1 (0 = empty), reused across chunks
let slots = new Int32Array(1 << 10)

function tableFor (limit: number): { mask: number, table: Int32Array } {
  let size = 16
  while (size < 2 * (limit + 1)) size *= 2
  if (slots.length < size) slots = new Int32Array(size)
  const table = slots.subarray(0, size)
  table.fill(0)
  return { mask: size - 1, table }
}

/**
 * The distinct 64-bit values among `count` (word pairs), as a dictionary in order of first use; or,
 * when there are more than `limit`, how many values had been scanned when the count passed it.
 */
function distinctWords (words: Int32Array, count: number, limit: number): ChunkDictionary | { scanned: number } {
  if (limit < 1) return { scanned: Infinity } // a handful of values: no dictionary, and no share to speak of
  const { mask, table } = tableFor(limit)
  const first = scratchInts(DICTIONARY_FIRST, limit)
  const codes = scratchInts(DICTIONARY_CODES, count)
  let size = 0
  for (let k = 0; k < count; k++) {
    const lo = words[2 * k]
    const hi = words[2 * k + 1]
    let slot = hashWords(lo, hi) & mask
    for (;;) {
      const at = table[slot]
      if (at === 0) {
        if (size === limit) return { scanned: k + 1 }
        table[slot] = k + 1
        first[size] = k
        codes[k] = size++
        break
      }
      const j = at - 1
      if (words[2 * j] === lo && words[2 * j + 1] === hi) {
        codes[k] = codes[j]
        break
      }
      slot = (slot + 1) & mask
    }
  }
  return { size, first: first.subarray(0, size), codes }
}

/** How many distinct 64-bit values there are among `count` (word pairs). */
function countDistinctWords (words: Int32Array, count: number): number {
  const { mask, table } = tableFor(count)
  let size = 0
  for (let k = 0; k < count; k++) {
    const lo = words[2 * k]
    const hi = words[2 * k + 1]
    let slot = hashWords(lo, hi) & mask
    for (;;) {
      const at = table[slot]
      if (at === 0) {
        table[slot] = k + 1
        size++
        break
      }
      if (words[2 * (at - 1)] === lo && words[2 * (at - 1) + 1] === hi) break
      slot = (slot + 1) & mask
    }
  }
  return size
}

function hashWords (lo: number, hi: number): number {
  let h = Math.imul(lo, 0x9E3779B1) ^ Math.imul(hi ^ (hi >>> 15), 0x85EBCA77)
  h = Math.imul(h ^ (h >>> 13), 0xC2B2AE3D)
  return h ^ (h >>> 16)
}

/** Slots a byte-string lookup may probe before the dictionary is given up. */
const MAX_PROBES = 64

/** The distinct byte strings among the values of a binary chunk (see distinctWords). */
function distinctBytes (present: Extract<Present, { form: 'binary' }>, count: number, limit: number): ChunkDictionary | { scanned: number } {
  if (limit < 1) return { scanned: Infinity }
  const { data, offsets, codes: entries } = present
  const { mask, table } = tableFor(limit)
  const first = scratchInts(DICTIONARY_FIRST, limit)
  const codes = scratchInts(DICTIONARY_CODES, count)
  let size = 0
  for (let k = 0; k < count; k++) {
    const e = entries[k]
    const s = offsets[e]
    const length = offsets[e + 1] - s
    // the length and up to 20 bytes (the last 16 and 4 in the middle): values that differ elsewhere
    // only collide, and a probe run past MAX_PROBES gives the dictionary up (bounded work)
    let h = Math.imul(length, 0x9E3779B1)
    for (let i = Math.max(0, length - 16); i < length; i++) h = Math.imul(h ^ data[s + i], 0x85EBCA77) ^ (h >>> 15)
    for (let i = length >> 1; i < Math.min(length, (length >> 1) + 4); i++) h = Math.imul(h ^ data[s + i], 0xC2B2AE3D) ^ (h >>> 13)
    let slot = (h ^ (h >>> 16)) & mask
    for (let probes = 0; ; probes++) {
      if (probes === MAX_PROBES) return { scanned: k + 1 }
      const at = table[slot]
      if (at === 0) {
        if (size === limit) return { scanned: k + 1 }
        table[slot] = k + 1
        first[size] = k
        codes[k] = size++
        break
      }
      const j = at - 1
      if (compareBytes(data, offsets[entries[j]], offsets[entries[j] + 1], data, s, s + length) === 0) {
        codes[k] = codes[j]
        break
      }
      slot = (slot + 1) & mask
    }
  }
  return { size, first: first.subarray(0, size), codes }
}

// ---------------------------------------------------------------------------------------------
// Pages

/** The rows and values of each data page (at least one page, of no rows for an empty chunk): at most `pageValues` values or PAGE_BYTES bytes. */
function pageSpans (defs: Uint8Array, present: Present, plan: Plan, count: number, pageValues: number): PageSpan[] {
  const n = defs.length
  const spans: PageSpan[] = []
  // what a value takes: dictionary indices and booleans are bounded by the value count alone
  const varying = present.form === 'binary' && !plan.dictionary
  const width = present.form === 'fixed' && !plan.dictionary ? 8 : 0
  if (count === n && !varying) {
    for (let r = 0; r < n || r === 0; r += pageValues) spans.push([r, Math.min(n, r + pageValues), r, Math.min(n, r + pageValues)])
    return spans
  }
  let r0 = 0
  let k0 = 0
  let k = 0
  let bytes = 0
  for (let r = 0; r < n; r++) {
    if (defs[r] === 0) continue
    if (varying) {
      const e = present.codes[k]
      bytes += 4 + present.offsets[e + 1] - present.offsets[e]
    } else bytes += width
    k++
    if (k - k0 === pageValues || bytes >= PAGE_BYTES) {
      spans.push([r0, r + 1, k0, k])
      r0 = r + 1
      k0 = k
      bytes = 0
    }
  }
  if (r0 < n || spans.length === 0) spans.push([r0, n, k0, k])
  return spans
}

/** The PLAIN values of a chunk's dictionary page. */
function writeDictionaryValues (out: PageBuffer, present: Present, dictionary: ChunkDictionary): void {
  if (present.form === 'fixed') {
    for (let d = 0; d < dictionary.size; d++) out.range(present.bytes, dictionary.first[d] * 8, dictionary.first[d] * 8 + 8)
  } else if (present.form === 'binary') {
    for (let d = 0; d < dictionary.size; d++) {
      const e = present.codes[dictionary.first[d]]
      out.blob(present.data, present.offsets[e], present.offsets[e + 1])
    }
  }
}

/** Values [k0, k1) of a chunk in the plan's encoding. */
function writeValues (out: PageBuffer, present: Present, plan: Plan, k0: number, k1: number): void {
  if (plan.dictionary) {
    const bitWidth = Math.max(1, 32 - Math.clz32(plan.dictionary.size - 1))
    out.u8(bitWidth)
    encodeHybridRange(out, plan.dictionary.codes, k0, k1, bitWidth)
    return
  }
  switch (present.form) {
    case 'fixed':
      if (plan.encoding === 'DELTA_BINARY_PACKED') encodeDeltaBinaryPacked(out, present.words, k0, k1)
      else if (plan.encoding === 'BYTE_STREAM_SPLIT') encodeByteStreamSplit(out, present.bytes, k0 * 8, k1 - k0, 8)
      else out.range(present.bytes, k0 * 8, k1 * 8)
      return
    case 'bool': {
      // RLE, length-prefixed
      const at = out.length
      out.u32(0)
      encodeHybridRange(out, present.bits, k0, k1, 1)
      out.view.setUint32(at, out.length - at - 4, true)
      return
    }
    case 'binary':
      if (plan.encoding === 'DELTA_LENGTH_BYTE_ARRAY') encodeDeltaLengthByteArray(out, present.data, present.offsets, present.codes, k0, k1)
      else for (let k = k0; k < k1; k++) out.blob(present.data, present.offsets[present.codes[k]], present.offsets[present.codes[k] + 1])
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics: the chunk's and each page's, exact (byte strings past STATISTICS_BYTES are cut)

/**
 * Min and max of each page and of the chunk, as present value indexes compared in the column's
 * order (signed int64, IEEE doubles without NaN, unsigned bytes = UTF-8 order, false < true).
 */
class PageStatistics {
  private readonly present: Present
  private readonly element: ReturnType<typeof schemaElement>
  private readonly mins: number[] = []
  private readonly maxes: number[] = []
  private readonly nullCounts: bigint[] = []
  private nulls = 0
  /** A page with values but no min/max (only NaN): no column index for the chunk. */
  private unordered = false
  private readonly doubles: Float64Array | null
  /** Rank of each entry of a dictionary-like binary chunk (fewer entries than values), by bytes. */
  private ranks: Int32Array | null = null
  /** Whether min and max are kept (else null counts only, and no column index). */
  private readonly ordered: boolean

  constructor (name: string, type: ColumnType, present: Present, minMax = true) {
    this.present = present
    this.element = schemaElement(name, type)
    this.ordered = minMax
    this.doubles = present.form === 'fixed' && present.double ? new Float64Array(present.words.buffer, present.words.byteOffset, present.words.length / 2) : null
    if (minMax && present.form === 'binary' && present.entries < present.codes.length) this.ranks = rankEntries(present)
  }

  /** A page of `rows` rows whose present values are [k0, k1). */
  addPage (rows: number, k0: number, k1: number): void {
    this.nulls += rows - (k1 - k0)
    this.nullCounts.push(BigInt(rows - (k1 - k0)))
    const p = this.present
    const range = pageRange
    range[0] = range[1] = -1
    if (k1 > k0 && this.ordered) {
      if (this.doubles) {
        doublesRange(this.doubles, k0, k1, range)
        if (range[0] < 0) this.unordered = true // only NaN
      } else if (p.form === 'fixed') wordsRange(p.words, k0, k1, range)
      else if (p.form === 'bool') bitsRange(p.bits, k0, k1, range)
      else if (this.ranks) ranksRange(this.ranks, p.codes, k0, k1, range)
      else bytesRange(p, k0, k1, range)
    }
    this.mins.push(range[0])
    this.maxes.push(range[1])
  }

  /** The chunk's statistics: null count, and min/max over its pages when it has an ordered value. */
  chunk (): Statistics {
    const statistics: Statistics = { null_count: BigInt(this.nulls) }
    let lo = -1
    let hi = -1
    for (let p = 0; p < this.mins.length; p++) {
      if (this.mins[p] < 0) continue
      if (lo < 0 || this.compare(this.mins[p], lo) < 0) lo = this.mins[p]
      if (hi < 0 || this.compare(this.maxes[p], hi) > 0) hi = this.maxes[p]
    }
    if (lo < 0) return statistics
    const min = this.value(lo, false)
    const max = this.value(hi, true)
    return {
      ...statistics,
      min_value: min,
      max_value: max,
      is_min_value_exact: this.exact(min, false),
      is_max_value_exact: this.exact(max, true),
    }
  }

  /** The chunk's ColumnIndex, or null when a page with values had no min/max. */
  columnIndex (): ColumnIndex | null {
    if (this.unordered || !this.ordered) return null
    let ascending = true
    let descending = true
    let previous = -1
    const min_values: Uint8Array[] = []
    const max_values: Uint8Array[] = []
    for (let p = 0; p < this.mins.length; p++) {
      if (this.mins[p] < 0) {
        min_values.push(new Uint8Array(0))
        max_values.push(new Uint8Array(0))
        continue
      }
      min_values.push(unconvertMinMax(this.value(this.mins[p], false), this.element, false, STATISTICS_BYTES)!)
      max_values.push(unconvertMinMax(this.value(this.maxes[p], true), this.element, true, STATISTICS_BYTES)!)
      if (previous >= 0) {
        const byMin = this.compare(this.mins[previous], this.mins[p])
        const byMax = this.compare(this.maxes[previous], this.maxes[p])
        if (byMin > 0 || byMax > 0) ascending = false
        if (byMin < 0 || byMax < 0) descending = false
      }
      previous = p
    }
    return {
      null_pages: this.mins.map(k => k < 0),
      min_values,
      max_values,
      boundary_order: ascending ? 'ASCENDING' : descending ? 'DESCENDING' : 'UNORDERED',
      null_counts: this.nullCounts,
    }
  }

  private compare (a: number, b: number): number {
    const p = this.present
    if (this.doubles) {
      const x = this.doubles[a]
      const y = this.doubles[b]
      return x < y ? -1 : x > y ? 1 : 0 // not x - y: Infinity - Infinity is NaN
    }
    if (p.form === 'fixed') return compareWords(p.words, a, b)
    if (p.form === 'bool') return p.bits[a] - p.bits[b]
    const e = p.codes[a]
    const f = p.codes[b]
    return compareBytes(p.data, p.offsets[e], p.offsets[e + 1], p.data, p.offsets[f], p.offsets[f + 1])
  }

  /** Value k as a statistic: a zero min is -0 and a zero max +0, as the format asks of doubles. */
  private value (k: number, isMax: boolean): MinMaxType {
    const p = this.present
    if (this.doubles) {
      const x = this.doubles[k]
      return x === 0 ? (isMax ? 0 : -0) : x
    }
    if (p.form === 'fixed') return BigInt.asIntN(64, (BigInt(p.words[2 * k + 1]) << 32n) | BigInt(p.words[2 * k] >>> 0))
    if (p.form === 'bool') return p.bits[k] === 1
    const e = p.codes[k]
    return p.data.subarray(p.offsets[e], p.offsets[e + 1])
  }

  // numbers and booleans are exact; a byte string is unless it was cut to STATISTICS_BYTES
  private exact (value: MinMaxType, isMax: boolean): boolean {
    return !(value instanceof Uint8Array) || unconvertMinMax(value, this.element, isMax, STATISTICS_BYTES) === value
  }
}

// A page's min and max as value indexes (-1: none), filled by the range functions below
const pageRange = new Int32Array(2)

function doublesRange (v: Float64Array, k0: number, k1: number, range: Int32Array): void {
  let lo = -1
  let hi = -1
  let min = Infinity
  let max = -Infinity
  for (let k = k0; k < k1; k++) {
    const x = v[k]
    if (x !== x) continue // NaN takes no part in min/max
    if (lo < 0 || x < min) {
      lo = k
      min = x
    }
    if (hi < 0 || x > max) {
      hi = k
      max = x
    }
  }
  range[0] = lo
  range[1] = hi
}

// signed 64-bit order: the high words signed, then the low words unsigned
function wordsRange (w: Int32Array, k0: number, k1: number, range: Int32Array): void {
  let lo = k0
  let hi = k0
  let loHi = w[2 * k0 + 1]
  let loLo = w[2 * k0] >>> 0
  let hiHi = loHi
  let hiLo = loLo
  for (let k = k0 + 1; k < k1; k++) {
    const h = w[2 * k + 1]
    const l = w[2 * k] >>> 0
    if (h < loHi || (h === loHi && l < loLo)) {
      lo = k
      loHi = h
      loLo = l
    }
    if (h > hiHi || (h === hiHi && l > hiLo)) {
      hi = k
      hiHi = h
      hiLo = l
    }
  }
  range[0] = lo
  range[1] = hi
}

function bitsRange (bits: Uint8Array, k0: number, k1: number, range: Int32Array): void {
  let lo = k0
  let hi = k0
  for (let k = k0 + 1; k < k1; k++) {
    if (bits[k] < bits[lo]) lo = k
    if (bits[k] > bits[hi]) hi = k
  }
  range[0] = lo
  range[1] = hi
}

function ranksRange (ranks: Int32Array, codes: Int32Array, k0: number, k1: number, range: Int32Array): void {
  let lo = k0
  let hi = k0
  let min = ranks[codes[k0]]
  let max = min
  for (let k = k0 + 1; k < k1; k++) {
    const r = ranks[codes[k]]
    if (r < min) {
      lo = k
      min = r
    } else if (r > max) {
      hi = k
      max = r
    }
  }
  range[0] = lo
  range[1] = hi
}

function bytesRange (p: Extract<Present, { form: 'binary' }>, k0: number, k1: number, range: Int32Array): void {
  const { data, offsets, codes } = p
  let lo = k0
  let hi = k0
  for (let k = k0 + 1; k < k1; k++) {
    const s = offsets[codes[k]]
    const e = offsets[codes[k] + 1]
    if (compareBytes(data, s, e, data, offsets[codes[lo]], offsets[codes[lo] + 1]) < 0) lo = k
    else if (compareBytes(data, s, e, data, offsets[codes[hi]], offsets[codes[hi] + 1]) > 0) hi = k
  }
  range[0] = lo
  range[1] = hi
}

/** The rank of each entry of a binary chunk by its bytes (equal entries, equal ranks). */
function rankEntries (present: Extract<Present, { form: 'binary' }>): Int32Array {
  const { data, offsets } = present
  // only the entries the values use: a 'bytes' chunk's entries are the column's rows
  const used = new Int32Array(present.entries).fill(-1)
  const order: number[] = []
  for (let k = 0; k < present.codes.length; k++) {
    const e = present.codes[k]
    if (used[e] < 0) {
      used[e] = 0
      order.push(e)
    }
  }
  order.sort((a, b) => compareBytes(data, offsets[a], offsets[a + 1], data, offsets[b], offsets[b + 1]))
  const ranks = new Int32Array(present.entries)
  for (let r = 0; r < order.length; r++) {
    const same = r > 0 && compareBytes(data, offsets[order[r]], offsets[order[r] + 1], data, offsets[order[r - 1]], offsets[order[r - 1] + 1]) === 0
    ranks[order[r]] = same ? ranks[order[r - 1]] : r
  }
  return ranks
}

function compareWords (w: Int32Array, a: number, b: number): number {
  const ha = w[2 * a + 1]
  const hb = w[2 * b + 1]
  if (ha !== hb) return ha - hb
  return (w[2 * a] >>> 0) - (w[2 * b] >>> 0)
}

/** Unsigned byte order of a[as, ae) and b[bs, be); a prefix first. */
function compareBytes (a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): number {
  const n = Math.min(ae - as, be - bs)
  for (let i = 0; i < n; i++) {
    const d = a[as + i] - b[bs + i]
    if (d !== 0) return d
  }
  return (ae - as) - (be - bs)
}
