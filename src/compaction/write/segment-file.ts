// Output rows -> one ZSTD parquet file (current column names, sorted by name, all optional,
// statistics on) and the segment metadata a lake registers it with (docs/DOMAIN.md section 5).
import { renameSync, rmSync } from 'node:fs'
import { ByteWriter, fileWriter } from 'hyparquet-writer'
import type { ColumnChunk, RowGroup } from 'hyparquet'
import { copyBytes } from '../bytes.ts'
import { STATISTICS_BYTES, writeColumnChunk, type ChunkLayout, writePageIndexes, type ChunkPageIndex, type ColumnValues } from './column-writer.ts'
import { bloomCandidate, writeBloomCandidates, type BloomCandidate } from './bloom.ts'
import { MAGIC, parquetSchema, writeMetadata } from '../parquet.ts'
import { metricFingerprints } from '../ids.ts'
import { toText, valueAt, type Batch, type CarriedColumn } from '../read/batch-reader.ts'
import { textIndices, type DecodedColumn } from '../read/chunk-reader.ts'
import type { OutputRows } from './output-rows.ts'
import {
  METRIC_NAME, METRIC_TYPE, ROLLUP_COLUMNS, SKETCH, TID, TIMESTAMP, TSNS, compareUtf8, type ColumnType,
} from '../schema.ts'

/** A column of the output schema. */
export interface OutputColumn {
  readonly name: string
  readonly type: ColumnType
}

/** What the caller registers for one output file (docs/DOMAIN.md section 5). */
export interface SegmentMeta {
  segment_id: bigint
  file_name: string
  record_count: number
  file_size: number
  /** [first bucket, last bucket + 1) in ms. */
  ts_range: [number, number]
  metric_names: string[]
  metric_types: number[]
  fingerprints: bigint[]
  sort_version: 3
}

/**
 * Rows per parquet row group in output files at most. Files are sized by bytes (2 MiB by default),
 * and a file of the default size is one row group: on bench `default` (1M rows) 10,000-row groups
 * gave 100 groups in 14 files, 513 KB of footers, 1.09x DuckDB's bytes and 1.2-5x its query times;
 * one group per file gave 13 groups, 83 KB of footers, 0.99x its bytes and 0.83-0.92x on
 * selective queries (BENCHMARKS.md, "Output files"). The cap bounds a group of a large target.
 */
export const ROW_GROUP_ROWS = 1_048_576
/**
 * Bytes per row group at most, as estimated before the file is written: DuckDB splits a scan by
 * row group, and probes each group's bloom filters apart, so groups are about the size of
 * DuckDB's own (122 880 rows, 2.7 MB on bench `default`). With `--target-file-bytes 64 MiB` bench
 * `default` and `wide` are one file of 7 groups: an absent value looked up in 0.98x and 0.93x the
 * time on DuckDB's own file of 8 groups, the full-scan aggregate in 1.00x and 1.05x
 * (BENCHMARKS.md, "Output files"). A file of the default 2 MiB is one group.
 */
export const ROW_GROUP_BYTES = 4 * 1024 * 1024

/** Rows per row group of a file of n rows estimated at `bytes`: equal groups of at most ROW_GROUP_BYTES and ROW_GROUP_ROWS. */
export function rowGroupRows (n: number, bytes: number): number {
  const groups = Math.max(1, Math.ceil(bytes / ROW_GROUP_BYTES), Math.ceil(n / ROW_GROUP_ROWS))
  return Math.max(1, Math.ceil(n / groups))
}
const CREATED_BY = 'metric-compactor'

const METRIC_TYPE_CODES: ReadonlyMap<string, number> = new Map([
  ['gauge', 1], ['sum', 2], ['counter', 2], ['count', 2], ['histogram', 3], ['exponential_histogram', 4], ['summary', 5],
])

/** The numeric metric type of docs/DOMAIN.md section 5: gauge 1, sum/counter/count 2, histogram 3, ... else 0. */
export function metricTypeCode (type: unknown): number {
  return typeof type === 'string' ? METRIC_TYPE_CODES.get(type.toLowerCase()) ?? 0 : 0
}

/** An output file gathered: its name, rows, row-group size and metadata but for its size (its columns went to `emit`). */
export interface PreparedFile {
  readonly fileName: string
  readonly n: number
  /** Rows per row group (the last may hold fewer). */
  readonly groupRows: number
  readonly meta: Omit<SegmentMeta, 'file_size'>
}

/** The inputs as the writer sees them: where it reads the carried columns of output rows from. */
export interface CarriedSource {
  /** How many carried columns have a value about an input row (its row group): what a series starting there costs in them, for the file size estimate. */
  carriedColumns (segment: number, row: number): number
  /**
   * The named carried column of input `segment` over rows [start, end) at least (its own row
   * numbers), and the row its first value is; null when that input has no such column. `release`
   * is called once the column is gathered.
   */
  read (segment: number, name: string, start: number, end: number): Promise<{ column: CarriedColumn, base: number, release: () => void } | null>
}

/** A file just written: its size, and each column's compressed chunk bytes over its row groups (as its footer says). */
export interface WrittenFile {
  readonly size: number
  readonly chunkBytes: number[]
}

/** The name of the output file of a segment id. */
export function segmentFileName (segmentId: bigint): string {
  return `tbl_${segmentId}.parquet`
}

/**
 * Gathers output rows [start, end) into the columns of file `tbl_<segmentId>.parquet`, in schema
 * order, each handed to `emit` as soon as it is gathered (the carried ones read from the inputs,
 * each input's rows of the file as one range). An emitted column's memory is emit's: the rows can
 * be dropped from the buffer before the file is written.
 */
export async function prepareSegmentFile (rows: OutputRows, start: number, end: number, schema: readonly OutputColumn[], segmentId: bigint, groupRows: number,
  carried: CarriedSource, emit: (values: ColumnValues) => Promise<void>): Promise<PreparedFile> {
  const fileName = segmentFileName(segmentId)
  const n = end - start
  const table = sourceTable(rows, start, n)
  let types: number[] | null = null
  for (const column of schema) {
    const values = await gather(rows, start, n, column, table, carried)
    if (column.name === METRIC_TYPE) types = seriesTypes(rows, start, n, values)
    await emit(values)
  }
  return { fileName, n, groupRows, meta: { segment_id: segmentId, file_name: fileName, sort_version: 3, ...describeRows(rows, start, n, types) } }
}

/** The metric type code of each name's first row among rows [s, s + n), from the gathered chq_metric_type. */
function seriesTypes (rows: OutputRows, s: number, n: number, typeColumn: ColumnValues): number[] {
  const types: number[] = []
  let last: string | null = null
  for (let i = 0; i < n; i++) {
    const name = rows.name(s + i)
    if (name === last) continue
    last = name
    const type = gatheredValue(typeColumn, i)
    types.push(metricTypeCode(type === null ? null : toText(type)))
  }
  return types
}

/** A column's encoded chunks, one per row group, in one buffer: chunk g is bytes[starts[g], starts[g + 1]), written as if the buffer began the file. */
interface EncodedColumn {
  readonly bytes: Uint8Array
  readonly starts: readonly number[]
  readonly chunks: readonly ColumnChunk[]
  readonly pageIndexes: readonly ChunkPageIndex[]
}

/**
 * An output file built a column at a time: each column, once gathered, is encoded into its
 * compressed chunks (one per row group) and its bloom filters, and its values can go; `write` then
 * lays the chunks out row group by row group (their offsets moved to where they land), the page
 * index, the filters and the footer. So a file's uncompressed columns are never all held, only its
 * compressed bytes. The bytes are those of a file written from all its columns at once.
 */
export class ColumnarFile {
  private readonly schema: readonly OutputColumn[]
  private readonly n: number
  private readonly groupRows: number
  private readonly ranges: Array<[number, number]> = []
  private readonly columns: EncodedColumn[] = []
  private readonly blooms: BloomCandidate[] = []
  private readonly withBlooms: boolean
  private readonly layout: ChunkLayout
  private encoded = 0

  /**
   * A file of n rows in row groups of `groupRows` (the last may hold fewer). For a file only the
   * engine reads (a run, merge/runs.ts): `blooms` false leaves out the bloom filters, and `layout`
   * bounds a data page's values and sets the ZSTD level (default PAGE_VALUES and ZSTD_LEVEL).
   */
  constructor (schema: readonly OutputColumn[], n: number, groupRows: number, { blooms = true, ...layout }: { blooms?: boolean } & ChunkLayout = {}) {
    if (!(groupRows >= 1 && groupRows <= ROW_GROUP_ROWS)) throw new Error(`row groups of ${groupRows} rows`)
    this.schema = schema
    this.n = n
    this.groupRows = groupRows
    this.withBlooms = blooms
    this.layout = layout
    for (let start = 0; start < n; start += groupRows) this.ranges.push([start, Math.min(n, start + groupRows)])
  }

  /** Encodes the next column of the schema from its gathered values (n rows). */
  add (values: ColumnValues): void {
    const c = this.columns.length
    const column = this.schema[c]
    if (column === undefined) throw new Error(`a column past the schema's ${this.schema.length}`)
    const writer = new ByteWriter()
    const starts: number[] = []
    const chunks: ColumnChunk[] = []
    const pageIndexes: ChunkPageIndex[] = []
    for (const [start, end] of this.ranges) {
      starts.push(writer.offset)
      chunks.push(writeColumnChunk(writer, column.name, column.type, values, start, end, pageIndexes, this.layout))
    }
    starts.push(writer.offset)
    this.columns.push({ bytes: new Uint8Array(writer.getBuffer().slice(0, writer.offset)), starts, chunks, pageIndexes })
    this.encoded += writer.offset
    const bloom = this.withBlooms ? bloomCandidate(column, c, values, this.ranges) : null
    if (bloom) this.blooms.push(bloom)
  }

  /** Bytes of the columns encoded so far. */
  get encodedBytes (): number {
    return this.encoded
  }

  /** Writes the file at path (via a `.partial` name) once every column is added. */
  write (path: string): WrittenFile {
    if (this.columns.length !== this.schema.length) throw new Error(`${this.columns.length} of ${this.schema.length} columns encoded`)
    const partial = path + '.partial'
    try {
      const writer = fileWriter(partial)
      writer.appendUint32(MAGIC)
      const rowGroups: RowGroup[] = []
      const pageIndexes: ChunkPageIndex[] = []
      const sorting = sortingColumns(this.schema)
      for (const [g, [start, end]] of this.ranges.entries()) {
        const groupStart = writer.offset
        const chunks = this.columns.map(column => {
          const chunk = relocated(column.chunks[g], column.pageIndexes[g], writer.offset - column.starts[g])
          writer.appendBytes(column.bytes.subarray(column.starts[g], column.starts[g + 1]))
          pageIndexes.push(column.pageIndexes[g])
          return chunk
        })
        rowGroups.push({
          columns: chunks,
          total_byte_size: chunks.reduce((sum, chunk) => sum + chunk.meta_data!.total_uncompressed_size, 0n),
          num_rows: BigInt(end - start),
          sorting_columns: sorting,
          file_offset: BigInt(groupStart),
          total_compressed_size: BigInt(writer.offset - groupStart),
        })
      }
      // after the row groups: the page index (every ColumnIndex, then every OffsetIndex), which sets its chunks' offsets
      writePageIndexes(writer, pageIndexes)
      // last before the footer (parquet-java's order): the bloom filters, which set their chunks' bloom_filter_offset/_length
      writeBloomCandidates(writer, this.schema, this.blooms, rowGroups)
      writeMetadata(writer, { version: 2, created_by: CREATED_BY, schema: parquetSchema(this.schema), num_rows: BigInt(this.n), row_groups: rowGroups, metadata_length: 0 }, STATISTICS_BYTES)
      writer.appendUint32(MAGIC)
      const size = writer.offset
      writer.finish()
      renameSync(partial, path)
      const chunkBytes = this.schema.map((_, c) => rowGroups.reduce((sum, group) => sum + Number(group.columns[c].meta_data!.total_compressed_size), 0))
      return { size, chunkBytes }
    } catch (err) {
      rmSync(partial, { force: true })
      throw err
    }
  }
}

/** A chunk encoded at another offset, moved by `delta` bytes: its offsets and its pages' (the page index's entry is the same object the chunk's index points at). */
function relocated (chunk: ColumnChunk, pageIndex: ChunkPageIndex, delta: number): ColumnChunk {
  const d = BigInt(delta)
  const meta = chunk.meta_data!
  meta.data_page_offset += d
  if (meta.dictionary_page_offset !== undefined) meta.dictionary_page_offset += d
  chunk.file_offset += d
  for (const location of pageIndex.offsetIndex.page_locations) location.offset += d
  return chunk
}

/**
 * The sort key as parquet's sorting_columns of every row group: metric_name, chq_tid, chq_timestamp
 * (their indexes in the schema), ascending; nulls last, as in an SQL `ORDER BY` of DuckDB or
 * DataFusion (vacuously true: a row with a null key is dropped, never written).
 */
export function sortingColumns (schema: readonly OutputColumn[]): NonNullable<RowGroup['sorting_columns']> {
  return [METRIC_NAME, TID, TIMESTAMP].map(name => schema.findIndex(c => c.name === name))
    .filter(index => index >= 0)
    .map(index => ({ column_idx: index, descending: false, nulls_first: false }))
}

/** Record count, time range, metric names and types (`seriesTypes`, per name; none: 0) of rows [s, s + n), which are in sort order. */
function describeRows (rows: OutputRows, s: number, n: number, seriesTypes: readonly number[] | null): Pick<SegmentMeta, 'record_count' | 'ts_range' | 'metric_names' | 'metric_types' | 'fingerprints'> {
  let lo = Infinity
  let hi = -Infinity
  const names: string[] = []
  for (let i = 0; i < n; i++) {
    const bucket = rows.bucket(s + i)
    if (bucket < lo) lo = bucket
    if (bucket > hi) hi = bucket
    const name = rows.name(s + i)
    if (names.length === 0 || names[names.length - 1] !== name) names.push(name)
  }
  const types = seriesTypes ?? names.map(() => 0)
  // names arrive in UTF-8 order already; the sort keeps the promise for any caller
  const order = names.map((_, i) => i).sort((a, b) => compareUtf8(names[a], names[b]))
  return {
    record_count: n,
    ts_range: [lo, hi + 1],
    metric_names: order.map(i => names[i]),
    metric_types: order.map(i => types[i]),
    fingerprints: metricFingerprints(names),
  }
}

/** Row i of a gathered column as a JS value (null when absent): for the file's metadata only. */
function gatheredValue (c: ColumnValues, i: number): unknown {
  switch (c.kind) {
    case 'dict': return c.indices[i] < 0 ? null : c.dictionary[c.indices[i]]
    case 'strings': return c.values[i]
    case 'values': return c.values[i] ?? null
    case 'bytes': return c.valid?.[i] === 0 ? null : c.data.subarray(c.offsets[i], c.offsets[i + 1])
    default: return c.valid?.[i] === 0 ? null : c.values[i]
  }
}

/** The values of one output column for rows [s, s + n), built column-at-a-time. */
async function gather (rows: OutputRows, s: number, n: number, column: OutputColumn, table: SourceTable, carried: CarriedSource): Promise<ColumnValues> {
  switch (column.name) {
    case METRIC_NAME: return gatherNames(rows, s, n)
    case TID: return { kind: 'int64', values: rows.tidColumn(s, n) }
    case TIMESTAMP: return { kind: 'int64', values: int64Column(rows.bucketColumn(s, n), n, 1) }
    case TSNS: return { kind: 'int64', values: int64Column(rows.bucketColumn(s, n), n, 1_000_000) }
    case SKETCH: return gatherSketches(rows, s, n)
  }
  const rollup = (ROLLUP_COLUMNS as readonly string[]).indexOf(column.name)
  if (rollup >= 0) return { kind: 'double', values: rows.rollupColumn(rollup, s, n) }
  return await gatherCarried(rows, s, n, column, table, carried)
}

/** Metric names as a dictionary: rows are sorted by name, so each new name starts a run. */
function gatherNames (rows: OutputRows, s: number, n: number): ColumnValues {
  const dictionary: string[] = []
  const indices = new Int32Array(n)
  let last: string | null = null
  for (let i = 0; i < n; i++) {
    const name = rows.name(s + i)
    if (name !== last) {
      dictionary.push(name)
      last = name
    }
    indices[i] = dictionary.length - 1
  }
  return { kind: 'dict', dictionary, indices }
}

/** Each row's sketch, copied from the output rows into one buffer. */
function gatherSketches (rows: OutputRows, s: number, n: number): ColumnValues {
  const { data, offsets } = rows.sketchColumn(s, n)
  return { kind: 'bytes', data, offsets, valid: new Uint8Array(n).fill(1) }
}

/** The inputs rows [s, s + n) come from: each row's index among them, its row in the range read of its input, and those ranges. */
export interface SourceTable {
  /** Input index of each source. */
  readonly segments: readonly number[]
  /** Rows [first, last] of each source's input that the rows need. */
  readonly first: readonly number[]
  readonly last: readonly number[]
  /** Per row: its source's index, and its row counted from that source's first. */
  readonly ids: Int32Array
  readonly local: Int32Array
}

/** The number of value in list, appending it (numbered in `numbers`) when it is new. */
function intern<T> (numbers: Map<T, number>, list: T[], value: T): number {
  let id = numbers.get(value)
  if (id === undefined) {
    id = list.length
    numbers.set(value, id)
    list.push(value)
  }
  return id
}

/** Numbers the inputs rows [s, s + n) come from, and the range of each input's rows they need, so that columns look sources up by index. */
function sourceTable (rows: OutputRows, s: number, n: number): SourceTable {
  const numbers = new Map<number, number>()
  const segments: number[] = []
  const first: number[] = []
  const last: number[] = []
  const ids = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    const id = intern(numbers, segments, rows.sourceSegment(s + i))
    const r = rows.sourceRow(s + i)
    if (id === first.length) {
      first.push(r)
      last.push(r)
    } else {
      if (r < first[id]) first[id] = r
      if (r > last[id]) last[id] = r
    }
    ids[i] = id
  }
  const local = new Int32Array(n)
  for (let i = 0; i < n; i++) local[i] = rows.sourceRow(s + i) - first[ids[i]]
  return { segments, first, last, ids, local }
}

/**
 * A carried column: each row's value from its group's first input row. Same-typed sources are
 * gathered column-to-column (strings through their dictionaries); other sources are converted.
 */
async function gatherCarried (rows: OutputRows, s: number, n: number, column: OutputColumn, table: SourceTable, carried: CarriedSource): Promise<ColumnValues> {
  // every input's range at once: their reads wait on the disk together
  const reads = await Promise.allSettled(table.segments.map((segment, id) => carried.read(segment, column.name, table.first[id], table.last[id] + 1)))
  try {
    const sources: Array<CarriedColumn | undefined> = []
    const bases: number[] = []
    for (const [id, read] of reads.entries()) {
      if (read.status === 'rejected') throw read.reason
      sources.push(read.value?.column)
      bases.push(read.value?.base ?? table.first[id])
    }
    return gatherFrom(rows, s, n, column, table, sources, bases)
  } finally {
    for (const read of reads) if (read.status === 'fulfilled') read.value?.release()
  }
}

/** gatherCarried once its sources are read: `bases[id]` is the input row of source id's first value. */
function gatherFrom (rows: OutputRows, s: number, n: number, column: OutputColumn, table: SourceTable, sources: ReadonlyArray<CarriedColumn | undefined>, bases: readonly number[]): ColumnValues {
  // each row's place in its source's values
  let at = table.local
  if (bases.some((base, id) => base !== table.first[id])) {
    at = new Int32Array(n)
    for (let i = 0; i < n; i++) at[i] = rows.sourceRow(s + i) - bases[table.ids[i]]
  }
  return gatherAt(at, n, table.ids, column, sources)
}

/**
 * A column of one input's rows `at`, in that order, as a file's carried column is gathered: how a
 * run of an input out of order is written (merge/runs.ts).
 */
export function gatherRows (source: CarriedColumn | undefined, at: Int32Array, column: OutputColumn): ColumnValues {
  return gatherAt(at, at.length, new Int32Array(at.length), column, [source])
}

/** Row i of the column is row at[i] of source ids[i]. */
function gatherAt (at: Int32Array, n: number, ids: Int32Array, column: OutputColumn, sources: ReadonlyArray<CarriedColumn | undefined>): ColumnValues {
  const direct = sources.every(c => c === undefined || (c.type === column.type && DIRECT_KINDS[column.type] === c.column.kind))
  if (direct) {
    const columns = sources.map(c => c?.column)
    switch (column.type) {
      case 'string': return gatherText(at, n, ids, columns as Array<Extract<DecodedColumn, { kind: 'text' }> | undefined>)
      case 'int64': case 'double': case 'bool': return gatherFixed(at, n, ids, columns as Array<Extract<DecodedColumn, { kind: 'int64' | 'double' | 'bool' }> | undefined>, column.type)
      case 'bytes': return gatherBytes(at, n, ids, columns as Array<Extract<DecodedColumn, { kind: 'bytes' }> | undefined>)
    }
  }
  const convert = converter(column.type)
  const values = new Array<unknown>(n)
  for (let i = 0; i < n; i++) {
    const source = sources[ids[i]]
    const v = source ? valueAt(source.column, at[i]) : null
    values[i] = v === null ? null : source!.type === column.type ? v : convert(v)
  }
  return column.type === 'string' ? { kind: 'strings', values: values as Array<string | null> } : { kind: 'values', values }
}

// The decoded kind that holds each output type's values as they are.
const DIRECT_KINDS: Record<ColumnType, DecodedColumn['kind']> = { string: 'text', int64: 'int64', double: 'double', bool: 'bool', bytes: 'bytes' }

/** Strings through per-source remaps into one file dictionary: no per-row hashing. */
function gatherText (at: Int32Array, n: number, ids: Int32Array, sources: ReadonlyArray<Extract<DecodedColumn, { kind: 'text' }> | undefined>): ColumnValues {
  const known = new Map<string, number>()
  const dictionary: string[] = []
  // the file's entries are at most the sources' together: indices as narrow as that allows
  const indices = textIndices(n, sources.reduce((sum, c) => sum + (c?.dictionary.length ?? 0), 0))
  const remaps = sources.map(c => (c ? new Int32Array(c.dictionary.length).fill(-1) : null))
  for (let i = 0; i < n; i++) {
    const source = sources[ids[i]]
    const k = source ? source.indices[at[i]] : -1
    if (k < 0) {
      indices[i] = -1
      continue
    }
    const remap = remaps[ids[i]]!
    let id = remap[k]
    if (id < 0) {
      id = intern(known, dictionary, source!.dictionary[k])
      remap[k] = id
    }
    indices[i] = id
  }
  return { kind: 'dict', dictionary, indices }
}

/** int64, double and bool values copied from same-typed sources, with their validity. */
function gatherFixed (at: Int32Array, n: number, ids: Int32Array, sources: ReadonlyArray<Extract<DecodedColumn, { kind: 'int64' | 'double' | 'bool' }> | undefined>,
  type: 'int64' | 'double' | 'bool'): ColumnValues {
  const valid = new Uint8Array(n)
  const width = type === 'bool' ? 1 : 8
  const out = new Uint8Array(n * width)
  const bytes = sources.map(c => (c ? new Uint8Array(c.values.buffer, c.values.byteOffset, c.values.byteLength) : null))
  for (let i = 0; i < n; i++) {
    const source = sources[ids[i]]
    const r = at[i]
    if (!source || source.valid[r] === 0) continue
    valid[i] = 1
    copyBytes(out, i * width, bytes[ids[i]]!, r * width, r * width + width)
  }
  if (type === 'bool') return { kind: 'bool', values: out, valid }
  if (type === 'int64') return { kind: 'int64', values: new BigInt64Array(out.buffer), valid }
  return { kind: 'double', values: new Float64Array(out.buffer), valid }
}

/** Byte strings copied from same-typed sources into one buffer. */
function gatherBytes (at: Int32Array, n: number, ids: Int32Array, sources: ReadonlyArray<Extract<DecodedColumn, { kind: 'bytes' }> | undefined>): ColumnValues {
  const valid = new Uint8Array(n)
  const offsets = new Int32Array(n + 1)
  for (let i = 0; i < n; i++) {
    const c = sources[ids[i]]
    const r = at[i]
    let size = 0
    if (c && c.valid[r] === 1) {
      valid[i] = 1
      size = c.offsets[r + 1] - c.offsets[r]
    }
    offsets[i + 1] = offsets[i] + size
  }
  const data = new Uint8Array(offsets[n])
  for (let i = 0; i < n; i++) {
    const c = sources[ids[i]]
    const r = at[i]
    if (valid[i] === 1) copyBytes(data, offsets[i], c!.data, c!.offsets[r], c!.offsets[r + 1])
  }
  return { kind: 'bytes', data, offsets, valid }
}

function converter (to: ColumnType): (v: unknown) => unknown {
  switch (to) {
    case 'string': return toText
    case 'double': return v => Number(v)
    case 'int64': return v => (typeof v === 'bigint' ? v : BigInt(v as number))
    default: return v => v
  }
}

/**
 * ms values times `factor` as an exact int64 column, built through 32-bit words so that no
 * BigInt is created per row. |value * factor| must be below 2^63.
 */
export function int64Column (values: Float64Array, n: number, factor: number): BigInt64Array {
  const words = new Int32Array(2 * n)
  for (let i = 0; i < n; i++) {
    const v = values[i]
    if (factor === 1) {
      const hi = Math.floor(v / 4294967296)
      words[2 * i] = v - hi * 4294967296
      words[2 * i + 1] = hi
    } else {
      mulToWords(v, factor, words, i)
    }
  }
  return new BigInt64Array(words.buffer)
}

// Exact two's-complement words of v * f for integers |v| < 2^53, 0 < f < 2^21, |v * f| < 2^63.
function mulToWords (v: number, f: number, words: Int32Array, i: number): void {
  const negative = v < 0
  const m = negative ? -v : v
  const mh = Math.floor(m / 67108864) // m = mh * 2^26 + ml
  const ml = m - mh * 67108864
  const x = ml * f // < 2^47
  const y = mh * f // < 2^48, contributes y * 2^26
  const yLow = y % 64 // the part of y * 2^26 below 2^32
  let lo = (x % 4294967296) + yLow * 67108864
  let hi = Math.floor(x / 4294967296) + Math.floor(y / 64)
  if (lo >= 4294967296) {
    lo -= 4294967296
    hi += 1
  }
  if (negative) {
    // two's complement of (hi, lo)
    lo = (4294967296 - lo) % 4294967296
    hi = lo === 0 ? -hi : -hi - 1
  }
  words[2 * i] = lo | 0
  words[2 * i + 1] = hi | 0
}
