// Hostile parquet files, as an attacker would write them: each passes footer validation (the
// service's footer walk and openSegment) and reaches the page reader, where its pages claim far more
// memory than the file's size; by default its footer lies small about those sizes too. The files
// are real segments (test/support/segments.ts) with column chunks swapped for hostile ones.
import { readFile, writeFile } from 'node:fs/promises'
import { parquetMetadata, type ColumnMetaData, type Encoding, type PageHeader } from 'hyparquet'
import { ByteWriter } from 'hyparquet-writer'
import { writeMetadata, writePageHeader } from '../../src/compaction/parquet.ts'
import { MAX_PAGE_BYTES, zstdCompress } from '../../src/compaction/codecs.ts'
import { writeSegment, type RowSpec } from './segments.ts'

export interface BombOptions {
  /** Give the footer the chunks' true uncompressed sizes (default: it lies, claiming no more than their compressed sizes). */
  honestSizes?: boolean
}

export interface DictionaryBombOptions extends BombOptions {
  /** Entries the dictionary page claims (default 64M), each an empty string: 4 zero bytes. */
  entries?: number
  /** Give the chunk as many values as its dictionary has entries (default: the footer says the rows, a handful). */
  honestValues?: boolean
}

export interface ZstdBombOptions extends BombOptions {
  /** Double columns made of bomb pages (default 1). */
  columns?: number
  /** Bomb pages per column, each declaring MAX_PAGE_BYTES (default 1). */
  pagesPerColumn?: number
  /** Bomb pages hold no values; one small page after them holds the rows (default: each bomb page holds 2 rows). */
  emptyPages?: boolean
}

/** Entries of the dictionary bomb: as many empty strings as fill MAX_PAGE_BYTES. */
export const DICTIONARY_BOMB_ENTRIES = MAX_PAGE_BYTES / 4

const ROWS = 4
const ZSTD_BLOCK = 128 * 1024

/**
 * Writes a segment whose metric_name dictionary page claims `entries` strings (64M by default) in
 * one zero-filled ZSTD page of entries x 4 bytes (256 MiB by default); the file is ~10 KB.
 */
export async function writeDictionaryBomb (path: string, options: DictionaryBombOptions = {}): Promise<void> {
  const entries = options.entries ?? DICTIONARY_BOMB_ENTRIES
  const dictionary = page({
    type: 'DICTIONARY_PAGE',
    uncompressed_page_size: entries * 4,
    compressed_page_size: 0,
    dictionary_page_header: { num_values: entries, encoding: 'PLAIN' },
  }, zeroPaddedZstd(new Uint8Array(0), entries * 4))
  // every row is index 0 (bit width 1, one RLE run), behind definition levels saying all are present
  const body = concat([levels(ROWS), Uint8Array.of(1), rleRun(ROWS, 0)])
  const data = page({
    type: 'DATA_PAGE',
    uncompressed_page_size: body.length,
    compressed_page_size: 0,
    data_page_header: { num_values: ROWS, encoding: 'RLE_DICTIONARY', definition_level_encoding: 'RLE', repetition_level_encoding: 'RLE' },
  }, zstdCompress(body))
  const chunk: Chunk = {
    pages: [dictionary, data],
    dictionary: true,
    numValues: options.honestValues ? entries : ROWS,
    encodings: ['PLAIN', 'RLE', 'RLE_DICTIONARY'],
  }
  await writeWithChunks(path, rows(ROWS, 0), new Map([['metric_name', chunk]]), options)
}

/**
 * Writes a segment with `columns` double columns (bomb_00, bomb_01...) made of `pagesPerColumn`
 * PLAIN pages each declaring MAX_PAGE_BYTES: a few values, then zeros, ~8 KB compressed.
 */
export async function writeZstdBomb (path: string, options: ZstdBombOptions = {}): Promise<void> {
  const columns = options.columns ?? 1
  const pages = options.pagesPerColumn ?? 1
  const perPage = options.emptyPages ? 0 : 2
  const n = options.emptyPages ? 2 : pages * perPage
  const chunks = new Map<string, Chunk>()
  for (let c = 0; c < columns; c++) {
    const bombs = Array.from({ length: pages }, () => plainDoublePage(perPage, MAX_PAGE_BYTES))
    const tail = options.emptyPages ? [plainDoublePage(n, 0)] : []
    chunks.set(bombName(c), { pages: [...bombs, ...tail], dictionary: false, numValues: n, encodings: ['PLAIN', 'RLE'] })
  }
  await writeWithChunks(path, rows(n, columns), chunks, options)
}

/**
 * A ZSTD frame of `prefix` then zeros up to `size` bytes, built by hand: the prefix as raw blocks,
 * the zeros as one-byte RLE blocks of 128 KiB (4 bytes each: ~8 KB for 256 MiB, nothing allocated).
 */
export function zeroPaddedZstd (prefix: Uint8Array, size: number): Uint8Array {
  const out = new ByteWriter()
  out.appendUint32(0xfd2fb528)
  out.appendUint8(0xe0) // an 8-byte content size, single segment: no window descriptor
  out.appendUint32(size % 2 ** 32)
  out.appendUint32(Math.floor(size / 2 ** 32))
  const block = (type: number, length: number, last: boolean): void => {
    const header = (length << 3) | (type << 1) | (last ? 1 : 0)
    out.appendUint8(header & 0xff)
    out.appendUint8((header >> 8) & 0xff)
    out.appendUint8((header >> 16) & 0xff)
  }
  let left = size
  for (let at = 0; at < prefix.length; at += ZSTD_BLOCK) {
    const part = prefix.subarray(at, at + ZSTD_BLOCK)
    left -= part.length
    block(0, part.length, left === 0)
    out.appendBytes(part)
  }
  if (size === 0) block(0, 0, true)
  while (left > 0) {
    const length = Math.min(ZSTD_BLOCK, left)
    left -= length
    block(1, length, left === 0)
    out.appendUint8(0)
  }
  return out.getBytes()
}

/** The name of the i-th bomb column. */
export function bombName (i: number): string {
  return `bomb_${String(i).padStart(2, '0')}`
}

/** A column chunk's pages, headers included, and what its footer entry says about them. */
interface Chunk {
  readonly pages: readonly Page[]
  /** Whether the first page is a dictionary page. */
  readonly dictionary: boolean
  readonly numValues: number
  readonly encodings: Encoding[]
}

interface Page {
  readonly bytes: Uint8Array
  /** Header and uncompressed bytes, as total_uncompressed_size counts them. */
  readonly uncompressed: number
}

// Sorted valid rows; `bombs` double attribute columns to be replaced.
function rows (n: number, bombs: number): RowSpec[] {
  const attrs = Object.fromEntries(Array.from({ length: bombs }, (_, i) => [bombName(i), 1.5]))
  return Array.from({ length: n }, (_, i) => ({ name: 'metric', tid: 1n, ts: 1_700_000_000_000 + i * 10_000, values: [i], attrs }))
}

// A PLAIN page of an optional double column: `values` doubles, then zeros up to `padTo` bytes (ZSTD).
function plainDoublePage (values: number, padTo: number): Page {
  const doubles = new Float64Array(Array.from({ length: values }, (_, i) => i + 0.5))
  const content = concat([levels(values), new Uint8Array(doubles.buffer)])
  const size = Math.max(padTo, content.length)
  return page({
    type: 'DATA_PAGE',
    uncompressed_page_size: size,
    compressed_page_size: 0,
    data_page_header: { num_values: values, encoding: 'PLAIN', definition_level_encoding: 'RLE', repetition_level_encoding: 'RLE' },
  }, zeroPaddedZstd(content, size))
}

function page (header: PageHeader, compressed: Uint8Array): Page {
  const writer = new ByteWriter()
  writePageHeader(writer, { ...header, compressed_page_size: compressed.length })
  writer.appendBytes(compressed)
  const bytes = writer.getBytes()
  return { bytes, uncompressed: bytes.length - compressed.length + header.uncompressed_page_size }
}

// Definition levels of a v1 page where all n values are present: length, then one RLE run of 1s.
function levels (n: number): Uint8Array {
  const run = rleRun(n, 1)
  const out = new Uint8Array(4 + run.length)
  new DataView(out.buffer).setUint32(0, run.length, true)
  out.set(run, 4)
  return out
}

// An RLE run of the hybrid encoding at bit width 1..8: varint(count << 1), then the value's byte.
function rleRun (count: number, value: number): Uint8Array {
  const bytes: number[] = []
  let header = count * 2
  while (header >= 0x80) {
    bytes.push((header & 0x7f) | 0x80)
    header = Math.floor(header / 128)
  }
  bytes.push(header, value)
  return Uint8Array.from(bytes)
}

function concat (parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/**
 * Writes `data` as a segment, then rewrites it with the named columns' chunks replaced: chunks are
 * laid out again (offsets moved, page indexes dropped) and the footer says what the chunks hold,
 * their uncompressed sizes only if asked to be honest.
 */
async function writeWithChunks (path: string, data: RowSpec[], replaced: ReadonlyMap<string, Chunk>, options: BombOptions): Promise<void> {
  await writeSegment(path, data)
  const original = await readFile(path)
  const metadata = parquetMetadata(original.buffer.slice(original.byteOffset, original.byteOffset + original.length) as ArrayBuffer)
  const out = new ByteWriter()
  out.appendBytes(new TextEncoder().encode('PAR1'))
  for (const group of metadata.row_groups) {
    let compressed = 0n
    let uncompressed = 0n
    group.file_offset = BigInt(out.offset)
    for (const column of group.columns) {
      const meta = column.meta_data!
      const start = BigInt(out.offset)
      const chunk = replaced.get(meta.path_in_schema[0])
      if (chunk) writeChunk(out, meta, chunk, options.honestSizes ?? false)
      else {
        const from = firstPage(meta)
        out.appendBytes(original.subarray(Number(from), Number(from + meta.total_compressed_size)))
        meta.data_page_offset += start - from
        if (meta.dictionary_page_offset !== undefined) meta.dictionary_page_offset += start - from
      }
      column.file_offset = start
      delete column.offset_index_offset
      delete column.offset_index_length
      delete column.column_index_offset
      delete column.column_index_length
      delete meta.bloom_filter_offset
      delete meta.bloom_filter_length
      delete meta.statistics
      compressed += meta.total_compressed_size
      uncompressed += meta.total_uncompressed_size
    }
    group.total_compressed_size = compressed
    group.total_byte_size = uncompressed
  }
  writeMetadata(out, metadata)
  out.appendBytes(new TextEncoder().encode('PAR1'))
  await writeFile(path, out.getBytes())
}

function writeChunk (out: ByteWriter, meta: ColumnMetaData, chunk: Chunk, honestSizes: boolean): void {
  const start = BigInt(out.offset)
  for (const p of chunk.pages) out.appendBytes(p.bytes)
  const total = BigInt(out.offset) - start
  meta.dictionary_page_offset = chunk.dictionary ? start : undefined
  meta.data_page_offset = start + (chunk.dictionary ? BigInt(chunk.pages[0].bytes.length) : 0n)
  meta.total_compressed_size = total
  meta.total_uncompressed_size = honestSizes ? BigInt(chunk.pages.reduce((n, p) => n + p.uncompressed, 0)) : total
  meta.num_values = BigInt(chunk.numValues)
  meta.encodings = chunk.encodings
  delete meta.encoding_stats
}

function firstPage (meta: ColumnMetaData): bigint {
  const dictionary = meta.dictionary_page_offset
  return dictionary !== undefined && dictionary > 0n && dictionary < meta.data_page_offset ? dictionary : meta.data_page_offset
}
