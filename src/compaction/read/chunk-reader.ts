// Reads one flat column chunk straight into typed arrays: INT64 into a BigInt64Array, doubles into
// a Float64Array, strings as a dictionary plus an index per row, byte strings as one buffer plus
// offsets. No value becomes a per-row object. Pages: v1 and v2; encodings PLAIN, dictionary (for
// every type but booleans), RLE booleans, DELTA_BINARY_PACKED (integers), DELTA_LENGTH_BYTE_ARRAY
// (byte arrays) and BYTE_STREAM_SPLIT (fixed-width numbers): every encoding the column writer
// emits, so that the engine reads its own files on this path. Anything else (nested columns,
// DELTA_BYTE_ARRAY...) is left to the general reader (hyparquet).
// Whatever a chunk makes the reader allocate is charged to the compaction's account first (account.ts).
import { isUtf8 } from 'node:buffer'
import { HybridCursor, readHybrid } from './rle.ts'
import { readByteStreamSplit, readDeltaBinaryPacked, readDeltaLengths } from './delta.ts'
import type { ColumnMetaData, DictionaryPageHeader, SchemaElement } from 'hyparquet'
import { ByteBuffer, copyBytes } from '../bytes.ts'
import { MAX_PAGE_BYTES, readCompressors } from '../codecs.ts'
import { isText, parquetHeader } from '../parquet.ts'
import { Tab } from '../account.ts'

/** A decoded column; `valid[i]` is 1 where row i has a value. */
export type DecodedColumn =
  /** `unsigned`: the column is an unsigned 64-bit integer (UINT_64); values hold its 64 bits, read as signed. */
  | { readonly kind: 'int64', readonly values: BigInt64Array, readonly valid: Uint8Array, readonly unsigned?: boolean }
  | { readonly kind: 'double', readonly values: Float64Array, readonly valid: Uint8Array }
  | { readonly kind: 'bool', readonly values: Uint8Array, readonly valid: Uint8Array }
  /**
   * UTF-8 strings: row i is dictionary[indices[i]], or null where indices[i] is -1 (indices as
   * narrow as the dictionary allows: see textIndices). `invalid[k]` is 1 where entry k's bytes were
   * not valid UTF-8 (the string holds U+FFFD in their place); absent when every entry was valid.
   */
  | { readonly kind: 'text', readonly dictionary: readonly string[], readonly indices: TextIndices, readonly invalid?: Uint8Array }
  /** Byte strings: row i is data[offsets[i], offsets[i + 1]) where valid. */
  | { readonly kind: 'bytes', readonly data: Uint8Array, readonly offsets: Int32Array, readonly valid: Uint8Array }
  /** Values as the general reader gave them (null = absent). */
  | { readonly kind: 'values', readonly values: ArrayLike<unknown> }

/** Thrown when a chunk uses something this reader does not decode: the caller falls back. */
export class UnsupportedChunk extends Error {}

interface Reader { view: DataView, offset: number }

/** Whether a schema element is an unsigned integer column (UINT_32, UINT_64, or INTEGER(n, false)). */
export function isUnsigned (element: SchemaElement): boolean {
  const c = element.converted_type
  const l = element.logical_type
  return c === 'UINT_64' || c === 'UINT_32' || c === 'UINT_16' || c === 'UINT_8' || (l?.type === 'INTEGER' && !l.isSigned)
}

/** A JS string's header and its slot in a dictionary array (its characters are charged as page bytes). */
const TEXT_ENTRY_BYTES = 40
/** A Uint8Array view per entry of a byte-string dictionary. */
const VIEW_ENTRY_BYTES = 96
/**
 * A text column's dictionary index per row, -1 for null, in the narrowest signed type that holds
 * every index: most carried string columns have a few distinct values per row group, so a byte a
 * row instead of four (on the real segments, 132 string columns of a 59 152-row group took 31 MB
 * as Int32Array, 7.8 MB as Int8Array).
 */
export type TextIndices = Int8Array | Int16Array | Int32Array

/** A zeroed TextIndices of `rows` entries wide enough for indices below `entries`. */
export function textIndices (rows: number, entries: number): TextIndices {
  if (entries <= 128) return new Int8Array(rows)
  if (entries <= 32_768) return new Int16Array(rows)
  return new Int32Array(rows)
}

/** Bytes per index of a TextIndices for `entries` dictionary entries. */
function indexBytes (entries: number): number {
  return entries <= 128 ? 1 : entries <= 32_768 ? 2 : 4
}

/** A page's decoded values or dictionary indices, held until the sink has copied them. */
const SCRATCH_BYTES_PER_VALUE = 8
const EMPTY_PAGE = new Uint8Array(0)

/**
 * Decodes a column chunk of `rows` rows from `bytes` (which starts at file offset `base`). What the
 * decoded column keeps is charged to `tab` before it is allocated, each page's declared size for as
 * long as the page is decoded. Throws UnsupportedChunk for layouts it does not handle, Error for
 * corrupt data and CompactorError (CMP_ERR_INPUT_TOO_COSTLY) for a chunk that does not fit.
 */
export function readChunk (bytes: Uint8Array, base: number, meta: ColumnMetaData, element: SchemaElement, rows: number, tab: Tab): DecodedColumn {
  if (element.repetition_type === 'REPEATED') throw new UnsupportedChunk('repeated column')
  const reader = chunkReader(bytes, base, meta)
  tab.charge(rows)
  const defs = new Uint8Array(rows)
  const sink = makeSink(element, rows, tab)
  // a decoded dictionary may view its page (byte strings): the page is charged until the chunk is read
  let dictionaryPage = 0
  try {
    walkPages(reader, meta, element, rows, tab, false, {
      dictionary (dph, raw, size) {
        if (!dph || (dph.encoding !== 'PLAIN' && dph.encoding !== 'PLAIN_DICTIONARY')) throw new UnsupportedChunk('dictionary encoding')
        checkDictionarySize(dph.num_values, meta)
        if (dph.num_values === 0) {
          sink.dictionary(EMPTY_PAGE, 0)
          return
        }
        tab.account.charge(size, tab.file)
        dictionaryPage += size
        sink.dictionary(decompress(raw, size, meta.codec), dph.num_values)
      },
      levels: (levels, row, n, length) => readLevels(levels, defs.subarray(row, row + n), length, false),
      allPresent: (row, n) => fillPresent(defs, row, n),
      values: (values, encoding, row, n, present) => sink.values(values, encoding, defs, row, n, present),
    })
  } finally {
    tab.account.release(dictionaryPage)
  }
  return sink.finish(defs)
}

/** What a walk over a chunk's pages (walkPages) does with each page. */
interface PageVisitor {
  /** A dictionary page: its header, its bytes as stored (compressed) and its declared uncompressed size. */
  dictionary (header: DictionaryPageHeader | undefined, raw: Uint8Array, size: number): void
  /** The definition levels of rows [row, row + n): `length` bytes, or length-prefixed (v1); returns how many are 1. */
  levels (reader: Reader, row: number, n: number, length: number | undefined): number
  /** Rows [row, row + n) of a page without definition levels: every one is present; returns n. */
  allPresent (row: number, n: number): number
  /** The values of a data page: `present` of rows [row, row + n) have one. */
  values (reader: Reader, encoding: string, row: number, n: number, present: number): void
}

/**
 * The one walk over a column chunk's pages, to its `rows` rows: dictionary pages go to the visitor as
 * stored; a data page (v1 or v2) has its value count checked against the rows left and is decompressed
 * and visited, levels then values, while its declared size and a value's worth of scratch per row
 * are charged to the tab. `forGeneralReader` walks as checkForGeneralReader does, for what hyparquet
 * decodes: a v2 page may have repetition levels (skipped, where the fast reader gives up with
 * UnsupportedChunk), its definition levels are read even when they take 0 bytes (the fast reader
 * takes every row as present then) and its null count must agree with them.
 */
function walkPages (reader: ChunkReader, meta: ColumnMetaData, element: SchemaElement, rows: number, tab: Tab, forGeneralReader: boolean, visit: PageVisitor): void {
  const optional = element.repetition_type !== 'REQUIRED'
  let row = 0
  while (row < rows) {
    const { header, raw } = nextPage(reader, row, rows)
    const size = header.uncompressed_page_size
    if (header.type === 'DICTIONARY_PAGE') {
      visit.dictionary(header.dictionary_page_header, raw, size)
    } else if (header.type === 'DATA_PAGE') {
      const dph = header.data_page_header
      if (!dph) throw new Error('data page without its header')
      const n = valueCount(dph.num_values, row, rows)
      if (n === 0) continue
      tab.scratch(size + SCRATCH_BYTES_PER_VALUE * n, () => {
        const page = readerOf(decompress(raw, size, meta.codec))
        const present = optional ? visit.levels(page, row, n, undefined) : visit.allPresent(row, n)
        visit.values(page, dph.encoding, row, n, present)
      })
      row += n
    } else if (header.type === 'DATA_PAGE_V2') {
      const dph = header.data_page_header_v2
      if (!dph) throw new Error('data page v2 without its header')
      const n = valueCount(dph.num_values, row, rows)
      if (n === 0) continue
      const repetitionBytes = dph.repetition_levels_byte_length
      const definitionBytes = dph.definition_levels_byte_length
      if (repetitionBytes !== 0 && !forGeneralReader) throw new UnsupportedChunk('repetition levels')
      const levelBytes = repetitionBytes + definitionBytes
      if (!(repetitionBytes >= 0 && definitionBytes >= 0 && levelBytes <= raw.length)) throw new Error('levels overrun the page')
      if (levelBytes > size) throw new Error('levels larger than the page')
      tab.scratch(size + SCRATCH_BYTES_PER_VALUE * n, () => {
        const levels: Reader = { view: new DataView(raw.buffer, raw.byteOffset + repetitionBytes, definitionBytes), offset: 0 }
        const present = optional && (definitionBytes > 0 || forGeneralReader) ? visit.levels(levels, row, n, definitionBytes) : visit.allPresent(row, n)
        if (forGeneralReader && dph.num_nulls !== n - present) throw new Error(`page claims ${dph.num_nulls} nulls, its levels say ${n - present}`)
        const body = raw.subarray(levelBytes)
        const page = dph.is_compressed === false ? body : decompress(body, size - levelBytes, meta.codec)
        visit.values(readerOf(page), dph.encoding, row, n, present)
      })
      row += n
    } else {
      // index pages and unknown page types carry no rows
    }
  }
}

/** A reader over a column chunk's pages that adds up the uncompressed bytes they declare. */
interface ChunkReader extends Reader {
  /** Header and uncompressed page bytes of the pages read so far. */
  declared: number
  /** The chunk's total_uncompressed_size in the footer: what the pages may declare at most. */
  readonly footerBytes: number
}

/** A reader over a column chunk's pages, from its dictionary page (if any) to its end. */
function chunkReader (bytes: Uint8Array, base: number, meta: ColumnMetaData): ChunkReader {
  const dictOffset = meta.dictionary_page_offset !== undefined && meta.dictionary_page_offset > 0n && meta.dictionary_page_offset < meta.data_page_offset
    ? meta.dictionary_page_offset
    : meta.data_page_offset
  const start = Number(dictOffset) - base
  const end = start + Number(meta.total_compressed_size)
  if (start < 0 || end > bytes.length) throw new Error('column chunk outside the bytes read')
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, end - start)
  return { view, offset: 0, declared: 0, footerBytes: Number(meta.total_uncompressed_size) }
}

/**
 * The next page's header and its (compressed) bytes, checked to lie inside the chunk and to declare
 * no more uncompressed bytes than the footer gives the chunk: the footer's sizes, which the
 * service's memory estimate is built on, stay an upper bound of what the pages make the reader allocate.
 */
function nextPage (reader: ChunkReader, row: number, rows: number): { header: ReturnType<typeof parquetHeader>, raw: Uint8Array } {
  if (reader.offset >= reader.view.byteLength) throw new Error(`column chunk ended after ${row} of ${rows} rows`)
  const start = reader.offset
  const header = parquetHeader(reader)
  const size = header.compressed_page_size
  if (!(size >= 0 && reader.offset + size <= reader.view.byteLength)) throw new Error(`page of ${size} bytes overruns its column chunk`)
  const uncompressed = header.uncompressed_page_size
  if (!(uncompressed >= 0 && uncompressed <= MAX_PAGE_BYTES)) throw new Error(`page claims ${uncompressed} uncompressed bytes (limit ${MAX_PAGE_BYTES})`)
  reader.declared += reader.offset - start + uncompressed
  if (reader.declared > reader.footerBytes) {
    throw new Error(`pages declare ${reader.declared} uncompressed bytes, the footer's total_uncompressed_size for the column chunk is ${reader.footerBytes}`)
  }
  const raw = new Uint8Array(reader.view.buffer, reader.view.byteOffset + reader.offset, size)
  reader.offset += size
  return { header, raw }
}

/** A data page's value count, checked against the rows left in the chunk. */
function valueCount (n: number, row: number, rows: number): number {
  if (!(n >= 0 && n <= rows - row)) throw new Error(`page claims ${n} values, ${rows - row} rows remain`)
  return n
}

function readerOf (page: Uint8Array): Reader {
  return { view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 0 }
}

/** A dictionary holds the distinct values of its chunk: never more entries than the chunk has values. */
function checkDictionarySize (count: number, meta: ColumnMetaData): void {
  if (!(count >= 0 && count <= Number(meta.num_values))) throw new Error(`dictionary page claims ${count} entries, the column chunk has ${meta.num_values} values`)
}

function decompress (raw: Uint8Array, uncompressedSize: number, codec: string): Uint8Array {
  if (codec === 'UNCOMPRESSED') return raw
  const decompressor = readCompressors[codec as keyof typeof readCompressors]
  if (!decompressor) throw new UnsupportedChunk(`codec ${codec}`)
  const page = decompressor(raw, uncompressedSize)
  if (page.length !== uncompressedSize) throw new Error(`page decompressed to ${page.length} bytes, header says ${uncompressedSize}`)
  return page
}

function fillPresent (defs: Uint8Array, row: number, n: number): number {
  defs.fill(1, row, row + n)
  return n
}

// Definition levels of a flat column (bit width 1) into `levels`; returns how many are 1. `strict`
// (for the general reader) also refuses runs past the values (see readHybrid).
function readLevels (reader: Reader, levels: Uint8Array, length: number | undefined, strict: boolean): number {
  readHybrid(reader, 1, levels, length, strict)
  let present = 0
  for (let i = 0; i < levels.length; i++) {
    if (levels[i] > 1) throw new Error('definition level above 1 in a flat column')
    present += levels[i]
  }
  return present
}

interface Sink {
  dictionary (page: Uint8Array, count: number): void
  /**
   * Decodes the `present` values of rows [row, row + n) at the reader; for a dictionary encoding,
   * `indices` are their dictionary indices already decoded and checked (a ChunkCursor's), else read here.
   */
  values (reader: Reader, encoding: string, defs: Uint8Array, row: number, n: number, present: number, indices?: Int32Array): void
  /** Takes the dictionary another sink of the same column decoded (shared, never copied). */
  adopt (from: Sink): void
  /** The dictionary object shared with the sinks that adopt it (null: none). */
  shared (): object | null
  finish (defs: Uint8Array): DecodedColumn
}

// Each sink charges the tab before it allocates what the decoded column keeps.
function makeSink (element: SchemaElement, rows: number, tab: Tab): Sink {
  const type = element.type
  switch (type) {
    case 'INT64': case 'INT32': return new IntegerSink(rows, type === 'INT32' ? 4 : 8, isUnsigned(element), tab)
    case 'DOUBLE': case 'FLOAT': return new DoubleSink(rows, type === 'FLOAT' ? 4 : 8, tab)
    case 'BOOLEAN': return new BoolSink(rows, tab)
    case 'BYTE_ARRAY': return isText(element) ? new TextSink(rows, tab) : new BytesSink(rows, tab)
    default: throw new UnsupportedChunk(`physical type ${type}`)
  }
}

/**
 * The decoded column of a chunk in a row group of 0 rows: nothing of the chunk is read (writers
 * leave such chunks empty, or give them a page of no values). Null for a type this reader leaves
 * to the general reader.
 */
export function emptyColumn (element: SchemaElement, tab: Tab): DecodedColumn | null {
  try {
    return makeSink(element, 0, tab).finish(new Uint8Array(0))
  } catch (err) {
    if (err instanceof UnsupportedChunk) return null
    throw err
  }
}

/**
 * A page's present values as a source array and, for dictionary pages, an index into it per value
 * (PLAIN pages: the decoded values in order, no indices).
 */
function pageValues<T> (reader: Reader, encoding: string, present: number, dict: T | null, dictionarySize: number, decodePlain: (reader: Reader, count: number) => T,
  indices?: Int32Array): { src: T, indices: Int32Array | null } {
  if (encoding === 'PLAIN') return { src: decodePlain(reader, present), indices: null }
  if (isDictionaryEncoding(encoding) && dict) return { src: dict, indices: indices ?? readIndices(reader, present, dictionarySize) }
  throw new UnsupportedChunk(`encoding ${encoding}`)
}

// Dictionary indices of the present values of a page: bit width byte, then the hybrid encoding
// (strict: no run past the values, see readHybrid).
function readIndices (reader: Reader, present: number, dictionarySize: number, strict = false): Int32Array {
  const bitWidth = reader.view.getUint8(reader.offset++)
  if (bitWidth > 32) throw new Error(`dictionary index width ${bitWidth}`)
  const indices = new Int32Array(present)
  if (present > 0) readHybrid(reader, bitWidth, indices, reader.view.byteLength - reader.offset, strict)
  for (let i = 0; i < present; i++) {
    if (indices[i] < 0 || indices[i] >= dictionarySize) throw new Error(`dictionary index ${indices[i]} outside a dictionary of ${dictionarySize}`)
  }
  return indices
}

// Copies `length` bytes of PLAIN values at the reader into dst at `at`, after checking they are there.
function copyPlain (reader: Reader, dst: Uint8Array, at: number, length: number): void {
  if (length > reader.view.byteLength - reader.offset) throw new Error('page shorter than its values')
  dst.set(new Uint8Array(reader.view.buffer, reader.view.byteOffset + reader.offset, length), at)
  reader.offset += length
}

function isDictionaryEncoding (encoding: string): boolean {
  return encoding === 'RLE_DICTIONARY' || encoding === 'PLAIN_DICTIONARY'
}

/**
 * INT64 and INT32 values as int64, written through 32-bit words (no BigInt per row). An unsigned
 * INT32 is zero-extended; an unsigned INT64 keeps its 64 bits (the column is marked unsigned).
 */
class IntegerSink implements Sink {
  readonly out: BigInt64Array
  readonly words: Int32Array
  private dict: Int32Array | null = null
  private readonly width: number
  private readonly unsigned: boolean
  private readonly tab: Tab

  constructor (rows: number, width: number, unsigned: boolean, tab: Tab) {
    tab.charge(8 * rows)
    this.out = new BigInt64Array(rows)
    this.words = new Int32Array(this.out.buffer)
    this.width = width
    this.unsigned = unsigned
    this.tab = tab
  }

  dictionary (page: Uint8Array, count: number): void {
    if (count * this.width > page.length) throw new Error('dictionary page shorter than its values')
    this.tab.charge(8 * count)
    this.dict = this.decodePlain(readerOf(page), count)
  }

  private decodePlain (reader: Reader, count: number): Int32Array {
    if (count * this.width > reader.view.byteLength - reader.offset) throw new Error('page shorter than its values')
    const words = new Int32Array(2 * count)
    for (let i = 0; i < count; i++) {
      const lo = reader.view.getInt32(reader.offset, true)
      words[2 * i] = lo
      words[2 * i + 1] = this.width === 8 ? reader.view.getInt32(reader.offset + 4, true) : this.unsigned ? 0 : lo >> 31
      reader.offset += this.width
    }
    return words
  }

  // DELTA_BINARY_PACKED values as word pairs; a 32-bit column's high words from its low ones
  private decodeDelta (reader: Reader, count: number): Int32Array {
    const words = new Int32Array(2 * count)
    readDeltaBinaryPacked(reader, count, words)
    if (this.width === 4) for (let k = 0; k < count; k++) words[2 * k + 1] = this.unsigned ? 0 : words[2 * k] >> 31
    return words
  }

  // BYTE_STREAM_SPLIT values as word pairs: 64-bit values joined back are their words already
  private decodeSplit (reader: Reader, count: number): Int32Array {
    const plain = readByteStreamSplit(reader, count, this.width)
    return this.width === 8 ? new Int32Array(plain.buffer) : this.decodePlain(readerOf(plain), count)
  }

  adopt (from: Sink): void {
    this.dict = (from as IntegerSink).dict
  }

  shared (): object | null {
    return this.dict
  }

  values (reader: Reader, encoding: string, defs: Uint8Array, row: number, n: number, present: number, given?: Int32Array): void {
    if (this.width === 8 && present === n) {
      if (encoding === 'PLAIN') {
        copyPlain(reader, new Uint8Array(this.out.buffer), row * 8, n * 8)
        return
      }
      if (encoding === 'DELTA_BINARY_PACKED') {
        readDeltaBinaryPacked(reader, n, this.words, row)
        return
      }
      if (encoding === 'BYTE_STREAM_SPLIT') {
        readByteStreamSplit(reader, n, 8, new Uint8Array(this.out.buffer), row * 8)
        return
      }
    }
    // a dictionary entry is two words
    const { src, indices } = encoding === 'DELTA_BINARY_PACKED'
      ? { src: this.decodeDelta(reader, present), indices: null }
      : encoding === 'BYTE_STREAM_SPLIT'
        ? { src: this.decodeSplit(reader, present), indices: null }
        : pageValues(reader, encoding, present, this.dict, (this.dict?.length ?? 0) / 2, (r, count) => this.decodePlain(r, count), given)
    const words = this.words
    for (let i = row, k = 0; i < row + n; i++) {
      if (defs[i] === 0) continue
      const j = indices ? indices[k++] : k++
      words[2 * i] = src[2 * j]
      words[2 * i + 1] = src[2 * j + 1]
    }
  }

  finish (defs: Uint8Array): DecodedColumn {
    return this.unsigned && this.width === 8 ? { kind: 'int64', values: this.out, valid: defs, unsigned: true } : { kind: 'int64', values: this.out, valid: defs }
  }
}

/** DOUBLE and FLOAT values as doubles. */
class DoubleSink implements Sink {
  readonly out: Float64Array
  private dict: Float64Array | null = null
  private readonly width: number
  private readonly tab: Tab

  constructor (rows: number, width: number, tab: Tab) {
    tab.charge(8 * rows)
    this.out = new Float64Array(rows)
    this.width = width
    this.tab = tab
  }

  private decodePlain (reader: Reader, count: number): Float64Array {
    if (count * this.width > reader.view.byteLength - reader.offset) throw new Error('page shorter than its values')
    const out = new Float64Array(count)
    for (let i = 0; i < count; i++) {
      out[i] = this.width === 8 ? reader.view.getFloat64(reader.offset, true) : reader.view.getFloat32(reader.offset, true)
      reader.offset += this.width
    }
    return out
  }

  dictionary (page: Uint8Array, count: number): void {
    if (count * this.width > page.length) throw new Error('dictionary page shorter than its values')
    this.tab.charge(8 * count)
    this.dict = this.decodePlain(readerOf(page), count)
  }

  adopt (from: Sink): void {
    this.dict = (from as DoubleSink).dict
  }

  shared (): object | null {
    return this.dict
  }

  values (reader: Reader, encoding: string, defs: Uint8Array, row: number, n: number, present: number, given?: Int32Array): void {
    if (this.width === 8 && present === n) {
      // no nulls: the page's values are the column's bytes
      if (encoding === 'PLAIN') {
        copyPlain(reader, new Uint8Array(this.out.buffer), row * 8, n * 8)
        return
      }
      if (encoding === 'BYTE_STREAM_SPLIT') {
        readByteStreamSplit(reader, n, 8, new Uint8Array(this.out.buffer), row * 8)
        return
      }
    }
    // BYTE_STREAM_SPLIT joined back: doubles are their bytes already, floats are read as PLAIN
    const split = encoding === 'BYTE_STREAM_SPLIT' ? readByteStreamSplit(reader, present, this.width) : null
    const { src, indices } = split
      ? { src: this.width === 8 ? new Float64Array(split.buffer) : this.decodePlain(readerOf(split), present), indices: null }
      : pageValues(reader, encoding, present, this.dict, this.dict?.length ?? 0, (r, count) => this.decodePlain(r, count), given)
    if (!indices && present === n) {
      this.out.set(src, row)
      return
    }
    for (let i = row, k = 0; i < row + n; i++) {
      if (defs[i] === 0) continue
      this.out[i] = indices ? src[indices[k++]] : src[k++]
    }
  }

  finish (defs: Uint8Array): DecodedColumn {
    return { kind: 'double', values: this.out, valid: defs }
  }
}

/** BOOLEAN values, PLAIN (bit-packed) or RLE. */
class BoolSink implements Sink {
  readonly out: Uint8Array

  constructor (rows: number, tab: Tab) {
    tab.charge(rows)
    this.out = new Uint8Array(rows)
  }

  dictionary (): void {
    throw new UnsupportedChunk('dictionary-encoded booleans')
  }

  adopt (): void {}

  shared (): object | null {
    return null
  }

  values (reader: Reader, encoding: string, defs: Uint8Array, row: number, n: number, present: number): void {
    const bits = new Uint8Array(present)
    if (encoding === 'PLAIN') {
      if (Math.ceil(present / 8) > reader.view.byteLength - reader.offset) throw new Error('page shorter than its values')
      for (let k = 0; k < present; k++) bits[k] = (reader.view.getUint8(reader.offset + (k >> 3)) >> (k & 7)) & 1
    } else if (encoding === 'RLE') {
      readHybrid(reader, 1, bits)
    } else throw new UnsupportedChunk(`encoding ${encoding}`)
    for (let i = row, k = 0; i < row + n; i++) if (defs[i] === 1) this.out[i] = bits[k++]
  }

  finish (defs: Uint8Array): DecodedColumn {
    return { kind: 'bool', values: this.out, valid: defs }
  }
}

/**
 * Strings: a dictionary of distinct strings (the page dictionary, then PLAIN values) and an index per
 * row. Each string is decoded once (per dictionary entry, or per PLAIN value); bytes that are not
 * valid UTF-8 become U+FFFD and their entry is listed as invalid.
 */
class TextSink implements Sink {
  strings: string[] = []
  private indices: TextIndices
  /** Entries whose bytes were not valid UTF-8. */
  private invalid: number[] = []
  private dictionarySize = 0
  private readonly tab: Tab

  constructor (rows: number, tab: Tab) {
    tab.charge(rows)
    this.indices = new Int8Array(rows)
    this.tab = tab
  }

  /** Widens the indices (copying those written so far) when the entries no longer fit them. */
  private fit (entries: number): void {
    const width = indexBytes(entries)
    if (width <= this.indices.BYTES_PER_ELEMENT) return
    this.tab.charge((width - this.indices.BYTES_PER_ELEMENT) * this.indices.length)
    const wider = textIndices(this.indices.length, entries)
    wider.set(this.indices)
    this.indices = wider
  }

  // the strings are kept with the column: each one's header, and characters no more than the page's bytes
  private decodePlain (reader: Reader, count: number): void {
    const { view } = reader
    const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength)
    if (count * 4 > view.byteLength - reader.offset) throw new Error('page shorter than its values')
    // the bytes of these values alone (a page read window by window is charged once over its windows)
    let end = reader.offset
    for (let i = 0; i < count; i++) {
      if (end + 4 > view.byteLength) throw new Error('byte array length overruns the page')
      const length = view.getUint32(end, true)
      if (length > view.byteLength - end - 4) throw new Error('byte array overruns the page')
      end += 4 + length
    }
    this.tab.charge(count * TEXT_ENTRY_BYTES + end - reader.offset)
    for (let i = 0; i < count; i++) {
      const length = view.getUint32(reader.offset, true)
      reader.offset += 4
      const s = bytes.toString('utf8', reader.offset, reader.offset + length)
      // invalid bytes decode to U+FFFD: only a string holding one is checked (it may be a real U+FFFD)
      if (s.includes('\uFFFD') && !isUtf8(bytes.subarray(reader.offset, reader.offset + length))) this.invalid.push(this.strings.length)
      this.strings.push(s)
      reader.offset += length
    }
  }

  // DELTA_LENGTH_BYTE_ARRAY: the lengths (checked to fit the page), then the strings
  private decodeDeltaLength (reader: Reader, count: number): void {
    const lengths = readDeltaLengths(reader, count)
    const { view } = reader
    const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength)
    this.tab.charge(count * TEXT_ENTRY_BYTES + view.byteLength - reader.offset)
    for (let i = 0; i < count; i++) {
      const length = lengths[2 * i]
      const s = bytes.toString('utf8', reader.offset, reader.offset + length)
      if (s.includes('\uFFFD') && !isUtf8(bytes.subarray(reader.offset, reader.offset + length))) this.invalid.push(this.strings.length)
      this.strings.push(s)
      reader.offset += length
    }
  }

  dictionary (page: Uint8Array, count: number): void {
    this.strings.length = 0
    this.invalid.length = 0
    this.decodePlain(readerOf(page), count)
    this.dictionarySize = this.strings.length
  }

  adopt (from: Sink): void {
    const text = from as TextSink
    this.strings = text.strings
    this.invalid = text.invalid
    this.dictionarySize = text.dictionarySize
  }

  shared (): object | null {
    return this.strings
  }

  values (reader: Reader, encoding: string, defs: Uint8Array, row: number, n: number, present: number, given?: Int32Array): void {
    if (isDictionaryEncoding(encoding)) {
      const indices = given ?? readIndices(reader, present, this.dictionarySize)
      this.fit(this.dictionarySize)
      const out = this.indices
      for (let i = row, k = 0; i < row + n; i++) out[i] = defs[i] === 1 ? indices[k++] : -1
    } else if (encoding === 'PLAIN' || encoding === 'DELTA_LENGTH_BYTE_ARRAY') {
      let next = this.strings.length
      if (encoding === 'PLAIN') this.decodePlain(reader, present)
      else this.decodeDeltaLength(reader, present)
      this.fit(this.strings.length)
      const out = this.indices
      for (let i = row; i < row + n; i++) out[i] = defs[i] === 1 ? next++ : -1
    } else throw new UnsupportedChunk(`encoding ${encoding}`)
  }

  finish (): DecodedColumn {
    if (this.invalid.length === 0) return { kind: 'text', dictionary: this.strings, indices: this.indices }
    this.tab.charge(this.strings.length)
    const invalid = new Uint8Array(this.strings.length)
    for (const k of this.invalid) invalid[k] = 1
    return { kind: 'text', dictionary: this.strings, indices: this.indices, invalid }
  }
}

/** Byte strings into one buffer with offsets. */
class BytesSink implements Sink {
  private readonly data: ByteBuffer
  readonly offsets: Int32Array
  private dict: Uint8Array[] | null = null
  private readonly tab: Tab

  constructor (rows: number, tab: Tab) {
    const capacity = Math.max(64, rows * 32)
    tab.charge(capacity + 4 * (rows + 1))
    // dictionary entries repeat: the data can outgrow the pages by far. A larger buffer is charged
    // before it is allocated, and the one it replaces given back
    this.data = new ByteBuffer(capacity, (grown, previous) => {
      tab.charge(grown)
      tab.refund(previous)
    })
    this.offsets = new Int32Array(rows + 1)
    this.tab = tab
  }

  private append (src: Uint8Array, start: number, end: number): void {
    const data = this.data
    data.ensure(end - start)
    data.length = copyBytes(data.bytes, data.length, src, start, end)
  }

  dictionary (page: Uint8Array, count: number): void {
    const view = new DataView(page.buffer, page.byteOffset, page.byteLength)
    if (count * 4 > page.length) throw new Error('dictionary page shorter than its values')
    this.tab.charge(count * VIEW_ENTRY_BYTES)
    const dict: Uint8Array[] = []
    let at = 0
    for (let i = 0; i < count; i++) {
      if (at + 4 > page.length) throw new Error('byte array length overruns the page')
      const length = view.getUint32(at, true)
      at += 4
      if (length > page.length - at) throw new Error('byte array overruns the page')
      dict.push(page.subarray(at, at + length))
      at += length
    }
    this.dict = dict
  }

  adopt (from: Sink): void {
    this.dict = (from as BytesSink).dict
  }

  shared (): object | null {
    return this.dict
  }

  values (reader: Reader, encoding: string, defs: Uint8Array, row: number, n: number, present: number, given?: Int32Array): void {
    const { view } = reader
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
    let indices: Int32Array | null = null
    // DELTA_LENGTH_BYTE_ARRAY: lengths[2k] is value k's (checked to fit the page)
    let lengths: Int32Array | null = null
    if (isDictionaryEncoding(encoding) && this.dict) indices = given ?? readIndices(reader, present, this.dict.length)
    else if (encoding === 'DELTA_LENGTH_BYTE_ARRAY') lengths = readDeltaLengths(reader, present)
    else if (encoding !== 'PLAIN') throw new UnsupportedChunk(`encoding ${encoding}`)
    else if (present * 4 > view.byteLength - reader.offset) throw new Error('page shorter than its values')
    for (let i = row, k = 0; i < row + n; i++) {
      this.offsets[i] = this.data.length
      if (defs[i] === 0) continue
      if (indices) {
        const entry = this.dict![indices[k++]]
        this.append(entry, 0, entry.length)
      } else if (lengths) {
        const length = lengths[2 * k++]
        this.append(bytes, reader.offset, reader.offset + length)
        reader.offset += length
      } else {
        if (reader.offset + 4 > view.byteLength) throw new Error('byte array length overruns the page')
        const length = view.getUint32(reader.offset, true)
        reader.offset += 4
        if (length > view.byteLength - reader.offset) throw new Error('byte array overruns the page')
        this.append(bytes, reader.offset, reader.offset + length)
        reader.offset += length
      }
    }
    this.offsets[row + n] = this.data.length
  }

  finish (defs: Uint8Array): DecodedColumn {
    return { kind: 'bytes', data: this.data.bytes.subarray(0, this.data.length), offsets: this.offsets, valid: defs }
  }
}

/** What the general reader will allocate for a chunk, beyond one value per row. */
export interface GeneralReaderNeed {
  /** Uncompressed bytes the chunk's pages declare (headers included). */
  readonly pageBytes: number
  /** Entries of its dictionary (each one a value of its own). */
  readonly dictionaryEntries: number
}

/**
 * Checks a chunk this reader hands to the general reader (hyparquet) for what that reader trusts:
 * page value counts against the rows, level and index runs against the values (strictly: no run
 * past the end), null counts against the levels, and DELTA block headers. hyparquet sizes arrays by
 * these counts and loops over run headers as declared, so a hostile chunk could make it allocate or
 * spin without bound; one that passes here costs it work in proportion to its rows and bytes.
 * Each page's declared size is charged to the tab's account while the page is checked. Returns what
 * the general reader will need; throws Error (the chunk is corrupt) on the first violation.
 */
export function checkForGeneralReader (bytes: Uint8Array, base: number, meta: ColumnMetaData, element: SchemaElement, rows: number, tab: Tab): GeneralReaderNeed {
  const reader = chunkReader(bytes, base, meta)
  let dictionaryEntries = 0
  walkPages(reader, meta, element, rows, tab, true, {
    dictionary (dph, raw, size) {
      const count = dph?.num_values ?? -1
      // every value takes a bit at least
      if (!(count >= 0 && count <= size * 8)) throw new Error(`dictionary page claims ${count} values`)
      checkDictionarySize(count, meta)
      dictionaryEntries += count
      if (count > 0) tab.scratch(size, () => decompress(raw, size, meta.codec))
    },
    levels: (levels, _row, n, length) => readLevels(levels, new Uint8Array(n), length, true),
    allPresent: (_row, n) => n,
    values: (values, encoding, _row, _n, present) => checkValues(values, encoding, present),
  })
  return { pageBytes: reader.declared, dictionaryEntries }
}

/** The bounds of a page's values that the general reader's decoders trust. */
function checkValues (reader: Reader, encoding: string, present: number): void {
  if (isDictionaryEncoding(encoding)) {
    if (present === 0) return
    if (reader.offset >= reader.view.byteLength) throw new Error('dictionary indices missing')
    // the dictionary's size is the general reader's to check
    readIndices(reader, present, 2 ** 32, true)
  } else if (encoding === 'RLE') {
    readHybrid(reader, 1, new Uint8Array(present), undefined, true)
  } else if (encoding === 'DELTA_BINARY_PACKED' || encoding === 'DELTA_LENGTH_BYTE_ARRAY' || encoding === 'DELTA_BYTE_ARRAY') {
    // the first block header (lengths or prefix lengths for the byte-array forms)
    checkDeltaHeader(reader, present)
  }
}

/** A DELTA_BINARY_PACKED header as the format defines it: block size a multiple of 128, miniblocks of a multiple of 32 values. */
function checkDeltaHeader (reader: Reader, count: number): void {
  const varint = (): number => {
    let value = 0
    for (let shift = 0; shift <= 63; shift += 7) {
      if (reader.offset >= reader.view.byteLength) throw new Error('DELTA header ends early')
      const b = reader.view.getUint8(reader.offset++)
      value += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return value
    }
    throw new Error('DELTA header varint too long')
  }
  const blockSize = varint()
  const miniblocks = varint()
  const total = varint()
  if (!(blockSize > 0 && blockSize % 128 === 0 && blockSize <= 65536)) throw new Error(`DELTA block size ${blockSize}`)
  if (!(miniblocks > 0 && blockSize % miniblocks === 0 && (blockSize / miniblocks) % 32 === 0)) throw new Error(`DELTA miniblocks ${miniblocks} in a block of ${blockSize}`)
  if (total > count) throw new Error(`DELTA header claims ${total} values, the page has ${count}`)
}

/** Dictionary indices of the part being read (ChunkCursor.indices): one array for every cursor, as reads never interleave. */
let indexScratch = new Int32Array(1024)

/** One data page of a ChunkCursor: where its definition levels and values are read next. */
interface CursorPage {
  readonly encoding: string
  readonly rows: number
  /** Rows of it read so far. */
  next: number
  /** The decompressed values, read forward (PLAIN values in place). */
  readonly values: Reader
  /** Its definition levels (null: every row present). */
  readonly defs: HybridCursor | null
  /** Dictionary indices, begun at the first present value (a dictionary encoding only). */
  indices: HybridCursor | null
  /** A page of an encoding not read in place: decoded whole when loaded, then handed out in slices. */
  readonly decoded: DecodedColumn | null
  /** Bytes charged for as long as the page is held. */
  readonly charged: number
}

/**
 * A column chunk read window by window: `read(n)` decodes its next n rows. Only the page being read
 * is held decompressed (and the chunk's dictionary); levels and dictionary indices resume where the
 * last read stopped (HybridCursor), PLAIN values are decoded in place, and a page of another
 * encoding is decoded once and handed out in slices. So a chunk of one page of any length costs its
 * page bytes, not a decoded value per row. The checks are readChunk's: pages inside the chunk and
 * within the sizes the footer declares, value counts against the rows, indices inside the dictionary.
 * Throws UnsupportedChunk where readChunk does (the caller falls back to the general reader).
 */
export class ChunkCursor {
  /** The chunk's pages, until the last is loaded. */
  private reader: ChunkReader | null
  /** Bytes charged for the chunk's bytes, given back with them. */
  private chunkCharge: number
  private readonly meta: ColumnMetaData
  private readonly element: SchemaElement
  private readonly rows: number
  private readonly account: Tab['account']
  private readonly file: string
  /** Rows whose page has been loaded (the current page's included). */
  private loaded = 0
  private page: CursorPage | null = null
  private dictionary: Sink | null = null
  private dictionaryEntries = 0
  private dictionaryTab: Tab | null = null

  /**
   * The chunk of `rows` rows in `bytes` (which start at file offset `base`, and of which the caller
   * charged `chunkCharge` to the account: the cursor gives them back once its last page is loaded).
   * What the cursor holds is charged to the account for `file`.
   */
  constructor (bytes: Uint8Array, base: number, chunkCharge: number, meta: ColumnMetaData, element: SchemaElement, rows: number, account: Tab['account'], file: string) {
    this.chunkCharge = chunkCharge
    if (element.repetition_type === 'REPEATED') throw new UnsupportedChunk('repeated column')
    this.reader = chunkReader(bytes, base, meta)
    this.meta = meta
    this.element = element
    this.rows = rows
    this.account = account
    this.file = file
  }

  /**
   * The chunk's next n rows, as one decoded part per page they span (charged to `tab`, held by
   * the parts' owner). The rows must not run past the chunk's.
   */
  read (n: number, tab: Tab): DecodedColumn[] {
    const parts: DecodedColumn[] = []
    while (n > 0) {
      let page = this.page
      if (page === null || page.next === page.rows) page = this.nextPage()
      const k = Math.min(n, page.rows - page.next)
      parts.push(this.part(page, k, tab))
      page.next += k
      n -= k
      if (page.next === page.rows) this.dropPage()
    }
    return parts
  }

  /** Gives back what the cursor holds (its page and dictionary); what it handed out stays charged to its holders. */
  close (): void {
    this.dropPage()
    this.dropDictionary()
    this.dropChunk()
  }

  private dropChunk (): void {
    this.account.release(this.chunkCharge)
    this.chunkCharge = 0
    this.reader = null
  }

  /** The dictionary's charge stays with the dictionary itself: decoded parts share it. */
  private dropDictionary (): void {
    const shared = this.dictionary?.shared() ?? null
    if (shared !== null) this.dictionaryTab?.heldBy(shared)
    else this.dictionaryTab?.close()
    this.dictionaryTab = null
    this.dictionary = null
  }

  private dropPage (): void {
    if (this.page) this.account.release(this.page.charged)
    this.page = null
  }

  /** Loads the next data page (reading the dictionary page before it, if any). */
  private nextPage (): CursorPage {
    const meta = this.meta
    const optional = this.element.repetition_type !== 'REPEATED' && this.element.repetition_type !== 'REQUIRED'
    for (;;) {
      if (this.loaded >= this.rows || this.reader === null) throw new Error(`column chunk read past its ${this.rows} rows`)
      const { header, raw } = nextPage(this.reader, this.loaded, this.rows)
      const size = header.uncompressed_page_size
      if (header.type === 'DICTIONARY_PAGE') {
        this.readDictionary(header.dictionary_page_header, raw, size)
        continue
      }
      let n: number
      let values: Uint8Array
      let defs: HybridCursor | null = null
      let encoding: string
      let charged = size
      if (header.type === 'DATA_PAGE') {
        const dph = header.data_page_header
        if (!dph) throw new Error('data page without its header')
        n = valueCount(dph.num_values, this.loaded, this.rows)
        if (n === 0) continue
        encoding = dph.encoding
        this.account.charge(size, this.file)
        try {
          const page = values = ownedPage(raw, size, meta.codec)
          if (optional) {
            if (page.length < 4) throw new Error('hybrid-encoded data: no length prefix')
            const length = new DataView(page.buffer, page.byteOffset, page.byteLength).getUint32(0, true)
            defs = new HybridCursor(page, 4, length, 1)
            values = page.subarray(4 + length)
          }
        } catch (err) {
          this.account.release(size)
          throw err
        }
      } else if (header.type === 'DATA_PAGE_V2') {
        const dph = header.data_page_header_v2
        if (!dph) throw new Error('data page v2 without its header')
        n = valueCount(dph.num_values, this.loaded, this.rows)
        if (n === 0) continue
        encoding = dph.encoding
        const repetitionBytes = dph.repetition_levels_byte_length
        const definitionBytes = dph.definition_levels_byte_length
        if (repetitionBytes !== 0) throw new UnsupportedChunk('repetition levels')
        if (!(definitionBytes >= 0 && definitionBytes <= raw.length)) throw new Error('levels overrun the page')
        if (definitionBytes > size) throw new Error('levels larger than the page')
        // the levels are copied out of the chunk's bytes: the page owns what it reads
        charged = size + definitionBytes
        this.account.charge(charged, this.file)
        try {
          if (optional && definitionBytes > 0) defs = new HybridCursor(raw.slice(0, definitionBytes), 0, definitionBytes, 1)
          const body = raw.subarray(definitionBytes)
          values = dph.is_compressed === false ? body.slice() : ownedPage(body, size - definitionBytes, meta.codec)
        } catch (err) {
          this.account.release(charged)
          throw err
        }
      } else {
        continue // index pages and unknown page types carry no rows
      }
      try {
        this.page = this.makePage(encoding, n, readerOf(values), defs, charged)
      } catch (err) {
        this.account.release(charged)
        throw err
      }
      this.loaded += n
      if (this.loaded === this.rows) this.dropChunk()
      return this.page
    }
  }

  private makePage (encoding: string, rows: number, values: Reader, defs: HybridCursor | null, charged: number): CursorPage {
    const inPlace = isDictionaryEncoding(encoding)
      ? this.dictionary !== null && this.element.type !== 'BOOLEAN'
      : encoding === 'PLAIN' && this.element.type !== 'BOOLEAN'
    if (inPlace) return { encoding, rows, next: 0, values, defs, indices: null, decoded: null, charged }
    if (isDictionaryEncoding(encoding)) throw new UnsupportedChunk(`encoding ${encoding}`) // no dictionary page
    // decoded whole; its slices keep what it charged until they are collected
    const tab = new Tab(this.account, this.file)
    try {
      tab.charge(rows)
      const levels = new Uint8Array(rows)
      const present = defs ? this.levels(defs, levels, 0, rows) : fillPresent(levels, 0, rows)
      const sink = makeSink(this.element, rows, tab)
      tab.scratch(SCRATCH_BYTES_PER_VALUE * rows, () => sink.values(values, encoding, levels, 0, rows, present))
      const decoded = sink.finish(levels)
      tab.heldBy(decoded)
      return { encoding, rows, next: 0, values, defs: null, indices: null, decoded, charged }
    } catch (err) {
      tab.close()
      throw err
    }
  }

  private readDictionary (dph: DictionaryPageHeader | undefined, raw: Uint8Array, size: number): void {
    if (!dph || (dph.encoding !== 'PLAIN' && dph.encoding !== 'PLAIN_DICTIONARY')) throw new UnsupportedChunk('dictionary encoding')
    checkDictionarySize(dph.num_values, this.meta)
    this.dropDictionary()
    const tab = this.dictionaryTab = new Tab(this.account, this.file)
    const sink = makeSink(this.element, 0, tab)
    // a decoded dictionary may view its page (byte strings): the page is charged with it
    if (dph.num_values === 0) sink.dictionary(EMPTY_PAGE, 0)
    else {
      tab.charge(size)
      sink.dictionary(decompress(raw, size, this.meta.codec), dph.num_values)
    }
    this.dictionary = sink
    this.dictionaryEntries = dph.num_values
  }

  /** Definition levels of rows [at, at + n) into `levels`; returns how many are 1. */
  private levels (defs: HybridCursor, levels: Uint8Array, at: number, n: number): number {
    defs.read(levels, at, n)
    let present = 0
    for (let i = at; i < at + n; i++) {
      if (levels[i] > 1) throw new Error('definition level above 1 in a flat column')
      present += levels[i]
    }
    return present
  }

  /** The next k rows of a page, decoded. */
  private part (page: CursorPage, k: number, tab: Tab): DecodedColumn {
    if (page.decoded) return sliceColumn(page.decoded, page.next, page.next + k)
    tab.charge(k)
    const levels = new Uint8Array(k)
    const present = page.defs ? this.levels(page.defs, levels, 0, k) : fillPresent(levels, 0, k)
    const sink = makeSink(this.element, k, tab)
    if (isDictionaryEncoding(page.encoding)) {
      sink.adopt(this.dictionary!)
      const indices = this.indices(page, present)
      sink.values(page.values, page.encoding, levels, 0, k, present, indices)
    } else {
      tab.scratch(SCRATCH_BYTES_PER_VALUE * present, () => sink.values(page.values, page.encoding, levels, 0, k, present))
    }
    return sink.finish(levels)
  }

  /** The next `present` dictionary indices of a page, checked against the dictionary (in scratch memory shared by every cursor, used up before read returns). */
  private indices (page: CursorPage, present: number): Int32Array {
    if (indexScratch.length < present) indexScratch = new Int32Array(Math.max(present, 2 * indexScratch.length))
    const indices = indexScratch.subarray(0, present)
    if (present === 0) return indices
    if (page.indices === null) {
      const { values } = page
      if (values.offset >= values.view.byteLength) throw new Error('dictionary indices missing')
      const bitWidth = values.view.getUint8(values.offset)
      if (bitWidth > 32) throw new Error(`dictionary index width ${bitWidth}`)
      const bytes = new Uint8Array(values.view.buffer, values.view.byteOffset, values.view.byteLength)
      page.indices = new HybridCursor(bytes, values.offset + 1, values.view.byteLength - values.offset - 1, bitWidth)
    }
    page.indices.read(indices, 0, present)
    const size = this.dictionaryEntries
    for (let i = 0; i < present; i++) {
      if (indices[i] < 0 || indices[i] >= size) throw new Error(`dictionary index ${indices[i]} outside a dictionary of ${size}`)
    }
    return indices
  }
}

/** A page's bytes decompressed, or copied when stored uncompressed: a page held must not keep its chunk's bytes alive. */
function ownedPage (raw: Uint8Array, size: number, codec: string): Uint8Array {
  if (codec !== 'UNCOMPRESSED') return decompress(raw, size, codec)
  if (raw.length !== size) throw new Error(`page decompressed to ${raw.length} bytes, header says ${size}`)
  return raw.slice()
}

/** Rows [start, end) of a decoded column, as views of its arrays. */
export function sliceColumn (c: DecodedColumn, start: number, end: number): DecodedColumn {
  switch (c.kind) {
    case 'text': return c.invalid ? { kind: 'text', dictionary: c.dictionary, indices: c.indices.subarray(start, end), invalid: c.invalid } : { kind: 'text', dictionary: c.dictionary, indices: c.indices.subarray(start, end) }
    case 'bytes': {
      // offsets rebased: a part's data starts at its first value
      const base = c.offsets[start]
      const offsets = new Int32Array(end - start + 1)
      for (let i = start; i <= end; i++) offsets[i - start] = c.offsets[i] - base
      return { kind: 'bytes', data: c.data.subarray(base, c.offsets[end]), offsets, valid: c.valid.subarray(start, end) }
    }
    case 'int64': return c.unsigned ? { kind: 'int64', values: c.values.subarray(start, end), valid: c.valid.subarray(start, end), unsigned: true } : { kind: 'int64', values: c.values.subarray(start, end), valid: c.valid.subarray(start, end) }
    case 'double': return { kind: 'double', values: c.values.subarray(start, end), valid: c.valid.subarray(start, end) }
    case 'bool': return { kind: 'bool', values: c.values.subarray(start, end), valid: c.valid.subarray(start, end) }
    case 'values': return { kind: 'values', values: Array.prototype.slice.call(c.values, start, end) }
  }
}
