// Opening an input segment: its footer, read and checked against the file before anything is
// trusted, and its columns mapped to current names and engine types.
import type { FileHandle } from 'node:fs/promises'
import { basename } from 'node:path'
import { parquetMetadata, type FileMetaData, type SchemaElement, type AsyncBuffer } from 'hyparquet'
import { CompactorError, asCompactorError } from '../../errors.ts'
import { openInput, type FileIdentity } from './input-file.ts'
import { MAX_ROW_GROUP_ROWS, columnType, locateFooter } from '../parquet.ts'
import { currentName, type ColumnType } from '../schema.ts'

/** One physical column of a segment: its current name and the engine type of its values in this file. */
export interface SourceColumn {
  readonly physical: string
  readonly name: string
  readonly type: ColumnType
}

/** An opened input segment: validated footer, column mapping, and byte-range reads from disk. */
export interface Segment {
  readonly index: number
  readonly label: string
  readonly path: string
  readonly byteLength: number
  readonly metadata: FileMetaData
  readonly numRows: number
  readonly rowGroups: ReadonlyArray<{ readonly start: number, readonly rows: number }>
  /** Current name -> the file's physical columns that map to it, in file order (coalesced on read). */
  readonly columns: ReadonlyMap<string, readonly SourceColumn[]>
  /** Physical column name -> its position among the leaves (and in every row group's chunks). */
  readonly columnIndex: ReadonlyMap<string, number>
  /** Schema element of each leaf column, by position. */
  readonly elements: readonly SchemaElement[]
  /** Byte range [start, end) of each column chunk, by row group then position. */
  readonly chunkRanges: ReadonlyArray<ReadonlyArray<readonly [number, number]>>
  readonly file: AsyncBuffer
  close (): Promise<void>
}

/**
 * Opens a segment file once and validates its footer; throws CMP_ERR_BAD_PARQUET naming the file.
 * The open cannot block and the descriptor is checked before a byte is read (input-file.ts): a
 * regular file, and the one `expected` names when given (the service passes the identity of the
 * file it checked inside the storage root). Every read then goes through that descriptor.
 */
export async function openSegment (path: string, index: number, label = basename(path), expected?: FileIdentity): Promise<Segment> {
  const { handle, bytes: byteLength } = await openInput(path, label, expected)
  try {
    const file = fileBuffer(handle, byteLength)
    const metadata = await readFooter(file, label)
    const columns = mapColumns(metadata.schema, label)
    const elements = metadata.schema.slice(1)
    const { rowGroups, chunkRanges } = checkLayout(metadata, elements, byteLength, label)
    const numRows = rowGroups.reduce((n, g) => n + g.rows, 0)
    const columnIndex = new Map(elements.map((e, i) => [e.name, i]))
    return { index, label, path, byteLength, metadata, numRows, rowGroups, columns, columnIndex, elements, chunkRanges, file, close: () => handle.close() }
  } catch (err) {
    await handle.close()
    throw asCompactorError(err, 'CMP_ERR_BAD_PARQUET', label, { file: label })
  }
}

/** An AsyncBuffer over an open file: each slice is one positioned read, bounded by the file size. */
function fileBuffer (handle: FileHandle, byteLength: number): AsyncBuffer {
  return {
    byteLength,
    async slice (start: number, end = byteLength): Promise<ArrayBuffer> {
      if (!(start >= 0 && end <= byteLength && start <= end)) throw new Error(`read [${start}, ${end}) outside the file (${byteLength} bytes)`)
      const buf = new Uint8Array(end - start)
      let done = 0
      while (done < buf.length) {
        const { bytesRead } = await handle.read(buf, done, buf.length - done, start + done)
        if (bytesRead === 0) throw new Error('file shrank while being read')
        done += bytesRead
      }
      return buf.buffer
    },
  }
}

async function readFooter (file: AsyncBuffer, label: string): Promise<FileMetaData> {
  const { start } = await locateFooter(file.byteLength, async (from, to) => new Uint8Array(await file.slice(from, to)), label)
  // hyparquet reads the footer's length and the closing magic again: they are part of what it is given
  const footer = await file.slice(start)
  try {
    return parquetMetadata(footer)
  } catch (err) {
    throw asCompactorError(err, 'CMP_ERR_BAD_PARQUET', `${label}: unreadable footer`, { file: label })
  }
}

/** Checks that every row group and column chunk lies inside the file; returns row group extents and chunk ranges. */
function checkLayout (metadata: FileMetaData, elements: readonly SchemaElement[], byteLength: number, label: string):
{ rowGroups: Array<{ start: number, rows: number }>, chunkRanges: Array<Array<[number, number]>> } {
  const bad = (why: string) => new CompactorError('CMP_ERR_BAD_PARQUET', `${label}: ${why}`, { file: label })
  const dataEnd = BigInt(byteLength - 8 - metadata.metadata_length)
  const groups: Array<{ start: number, rows: number }> = []
  const chunkRanges: Array<Array<[number, number]>> = []
  let start = 0
  for (const [g, group] of metadata.row_groups.entries()) {
    const rows = Number(group.num_rows)
    if (!Number.isSafeInteger(rows) || rows < 0 || rows > MAX_ROW_GROUP_ROWS) throw bad(`row group ${g} claims ${group.num_rows} rows`)
    if (group.columns.length !== elements.length) throw bad(`row group ${g} has ${group.columns.length} column chunks for ${elements.length} columns`)
    const ranges: Array<[number, number]> = []
    for (const [c, chunk] of group.columns.entries()) {
      const meta = chunk.meta_data
      if (!meta) throw bad(`row group ${g} has a column chunk without metadata`)
      if (meta.path_in_schema.length !== 1 || meta.path_in_schema[0] !== elements[c].name) throw bad(`row group ${g} column chunk ${c} is not column ${elements[c].name}`)
      if (rows === 0) {
        // a row group of 0 rows holds nothing to read: writers leave its chunks empty (no page,
        // 0 bytes) or give them a page of no values; none of it is read, so no range is checked
        ranges.push([0, 0])
        continue
      }
      const dictionary = meta.dictionary_page_offset
      const first = dictionary !== undefined && dictionary > 0n && dictionary < meta.data_page_offset ? dictionary : meta.data_page_offset
      if (first < 4n || meta.data_page_offset >= dataEnd || meta.total_compressed_size < 0n || first + meta.total_compressed_size > dataEnd ||
        meta.data_page_offset >= first + meta.total_compressed_size) {
        throw bad(`column chunk ${meta.path_in_schema.join('.')} of row group ${g} lies outside the file`)
      }
      if (meta.num_values < 0n || meta.num_values > BigInt(MAX_ROW_GROUP_ROWS)) throw bad(`column chunk ${meta.path_in_schema.join('.')} claims ${meta.num_values} values`)
      ranges.push([Number(first), Number(first + meta.total_compressed_size)])
    }
    chunkRanges.push(ranges)
    groups.push({ start, rows })
    start += rows
  }
  if (BigInt(start) !== metadata.num_rows) throw bad(`row groups hold ${start} rows, footer says ${metadata.num_rows}`)
  return { rowGroups: groups, chunkRanges }
}

/** Maps a flat schema to current column names and engine types; nested schemas are refused. */
function mapColumns (schema: SchemaElement[], label: string): Map<string, SourceColumn[]> {
  const root = schema[0]
  // a schema of the root alone is a file of no columns (its rows, if any, lack every key); no root is no parquet
  if (!root) throw new CompactorError('CMP_ERR_BAD_PARQUET', `${label}: the footer has no schema, not even its root`, { file: label })
  if (root.num_children === undefined || root.num_children !== schema.length - 1) {
    throw new CompactorError('CMP_ERR_UNSUPPORTED_SCHEMA', `${label}: only flat schemas (no nested or repeated columns) can be compacted`, { file: label })
  }
  const columns = new Map<string, SourceColumn[]>()
  for (const element of schema.slice(1)) {
    if (element.num_children || element.repetition_type === 'REPEATED' || element.type === undefined) {
      throw new CompactorError('CMP_ERR_UNSUPPORTED_SCHEMA', `${label}: column ${element.name} is nested or repeated`, { file: label, column: element.name })
    }
    const name = currentName(element.name)
    const column: SourceColumn = { physical: element.name, name, type: columnType(element) }
    const list = columns.get(name)
    if (list) list.push(column)
    else columns.set(name, [column])
  }
  return columns
}
