// The engine's adapter to the parquet format and its libraries: the frame of a file (the magic at
// both ends, the footer length before the last one) and the bounds a footer is held to, the
// pre-check every reader of a footer makes before trusting a byte of it, the schema element each
// engine column type is written as (and read back from), and the internals of hyparquet and
// hyparquet-writer the engine uses. Those internals are imported here and nowhere else: their public
// packages do not export them, and a new version may move them.
import type { ParquetType, SchemaElement } from 'hyparquet'
import { CompactorError } from '../errors.ts'
import type { ColumnType } from './schema.ts'

// hyparquet: the Thrift decoder of a page header, for the chunk reader's own page walk
export { parquetHeader } from 'hyparquet/src/column.js'
// hyparquet-writer: the Thrift encoders of a page header and of the footer, for the writers, and
// its Thrift compact serializer, for the bloom filter headers
export { writePageHeader } from 'hyparquet-writer/src/datapage.js'
export { writeMetadata } from 'hyparquet-writer/src/metadata.js'
// hyparquet-writer: a statistic's bytes as the footer writes them (cut to a length), for the page index
export { unconvertMinMax } from 'hyparquet-writer/src/unconvert.js'
export { serializeTCompactProtocol } from 'hyparquet-writer/src/thrift.js'

/** "PAR1" read as a little-endian uint32: the first and the last four bytes of every parquet file. */
export const MAGIC = 0x31524150
/** Footers larger than this are refused: real ones are a few KiB, wide ones well under 1 MiB. */
export const MAX_FOOTER_BYTES = 16 * 1024 * 1024
/** Row groups (and column chunks) claiming more rows than this are refused before anything is allocated for them. */
export const MAX_ROW_GROUP_ROWS = 16 * 1024 * 1024

/** Where a file's footer lies: bytes [start, start + length), followed by its length and the closing magic. */
export interface FooterPlace {
  readonly start: number
  readonly length: number
}

/**
 * Checks the frame of a parquet file of byteLength bytes before its footer is read: long enough for
 * the magic at both ends and the footer length, "PAR1" at both ends, a footer length that fits in the
 * file and is at most MAX_FOOTER_BYTES. `read` gives bytes [start, end) of the file. Returns where the
 * footer lies; throws CMP_ERR_BAD_PARQUET naming `label`.
 */
export async function locateFooter (byteLength: number, read: (start: number, end: number) => Promise<Uint8Array>, label: string): Promise<FooterPlace> {
  const bad = (why: string): CompactorError => new CompactorError('CMP_ERR_BAD_PARQUET', `${label}: ${why}`, { file: label })
  if (byteLength < 12) throw bad(`too short for parquet (${byteLength} bytes)`)
  const head = await read(0, 4)
  const tail = await read(byteLength - 8, byteLength)
  const u32 = (bytes: Uint8Array, at: number): number => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at, true)
  if (u32(head, 0) !== MAGIC || u32(tail, 4) !== MAGIC) throw bad('missing PAR1 magic')
  const length = u32(tail, 0)
  if (length > byteLength - 12) throw bad(`footer claims ${length} bytes, file has ${byteLength}`)
  if (length > MAX_FOOTER_BYTES) throw bad(`footer of ${length} bytes exceeds the ${MAX_FOOTER_BYTES} limit`)
  return { start: byteLength - 8 - length, length }
}

/** The physical type each engine column type is written as. */
const PHYSICAL_TYPES: Readonly<Record<ColumnType, ParquetType>> = { string: 'BYTE_ARRAY', bytes: 'BYTE_ARRAY', int64: 'INT64', double: 'DOUBLE', bool: 'BOOLEAN' }

/** The physical type a column of an engine type is written as. */
export function parquetType (type: ColumnType): ParquetType {
  return PHYSICAL_TYPES[type]
}

/** The schema element a column is written as: optional, its physical type, strings annotated UTF8 / STRING. */
export function schemaElement (name: string, type: ColumnType): SchemaElement {
  const element: SchemaElement = { name, repetition_type: 'OPTIONAL', type: PHYSICAL_TYPES[type] }
  if (type === 'string') Object.assign(element, { converted_type: 'UTF8', logical_type: { type: 'STRING' } })
  return element
}

/** The schema of a file of flat columns: its root, then each column's element, in order. */
export function parquetSchema (columns: ReadonlyArray<{ readonly name: string, readonly type: ColumnType }>): SchemaElement[] {
  return [{ name: 'schema', num_children: columns.length }, ...columns.map(({ name, type }) => schemaElement(name, type))]
}

/** Whether a schema element is a string column (a byte array annotated UTF8 / STRING, JSON or ENUM). */
export function isText (element: SchemaElement): boolean {
  const c = element.converted_type
  const l = element.logical_type?.type
  return element.type === 'BYTE_ARRAY' && (c === 'UTF8' || c === 'JSON' || c === 'ENUM' || l === 'STRING' || l === 'JSON' || l === 'ENUM')
}

/** The engine type of a column as a file declares it (strings for annotated byte arrays, bytes for other byte arrays). */
export function columnType (element: SchemaElement): ColumnType {
  switch (element.type) {
    case 'BOOLEAN': return 'bool'
    case 'INT32': case 'INT64': case 'INT96': return 'int64'
    case 'FLOAT': case 'DOUBLE': return 'double'
    case 'BYTE_ARRAY': return isText(element) ? 'string' : 'bytes'
    default: return 'bytes' // FIXED_LEN_BYTE_ARRAY: carried as bytes
  }
}
