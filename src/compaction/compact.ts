// The pipeline: inputs -> (validate footers, union schemas, check sort order) -> k-way merge ->
// aggregate -> output files split between series -> segment metadata + a report that balances.
import { createHash } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { AsyncBuffer } from 'hyparquet'
import { CompactorError } from '../errors.ts'
import { MemoryAccount } from './account.ts'
import { Aggregator, dateintRange } from './merge/aggregate.ts'
import { segmentIdFor } from './ids.ts'
import { CursorHeap, SegmentCursor, isSorted } from './merge/merge.ts'
import { OutputRows } from './write/output-rows.ts'
import { DROP_REASONS, type Batch, type DropReason } from './read/batch-reader.ts'
import { ENGINE_COLUMNS, FORCED_TYPES, compareNames, promote, type ColumnType } from './schema.ts'
import type { FileIdentity } from './read/input-file.ts'
import { openSegment, type Segment } from './read/segment.ts'
import { prepareSegmentFile, type OutputColumn, type SegmentMeta } from './write/segment-file.ts'
import { FileWriters } from './write/file-writers.ts'

/** Bucket widths a compaction accepts, in ms. */
export const FREQUENCIES: readonly number[] = [10_000, 60_000, 300_000, 1_200_000, 3_600_000]
export const DEFAULT_FREQUENCY_MS = 10_000
export const DEFAULT_RECORDS_PER_FILE = 80_000
/** Bytes read at a time to hash an input. */
const HASH_READ_BYTES = 1 << 20

/** One input segment: a local parquet file, and optionally its segment id in the lake. */
export interface CompactionInput {
  readonly path: string
  /** Shown in errors and the report; defaults to the file name. */
  readonly label?: string
  /** The lake's segment id; without one the file's content hash identifies it. */
  readonly segmentId?: string
  /** The file that must be found at path (checked by another process): any other is refused. */
  readonly identity?: FileIdentity
}

export interface CompactionOptions {
  readonly inputs: readonly CompactionInput[]
  /** Directory the output files are written to. */
  readonly outDir: string
  readonly frequencyMs?: number
  /** Rows per output file at most (a single series larger than this still stays in one file); Infinity for one file. */
  readonly recordsPerFile?: number
  readonly organizationId?: string
  readonly dateint?: number
  readonly instanceNum?: number
  /** Called as batches are read: rows read so far, rows in all inputs. */
  readonly onProgress?: (rowsRead: number, rowsTotal: number) => void
  /** Called when an output file is complete in outDir, in file order. */
  readonly onFile?: (file: SegmentMeta) => void | Promise<void>
  /** Write output files on a worker thread while merging goes on (default true). */
  readonly parallelWrite?: boolean
  /**
   * Memory the inputs' decoded data may take at most (undefined: unlimited). The reader charges
   * pages and batches before it allocates them; an input that does not fit is CMP_ERR_INPUT_TOO_COSTLY.
   */
  readonly memoryLimitBytes?: number
}

export type InputStatus = 'compacted' | 'already_compacted' | 'missing_skipped'

export interface InputReport {
  name: string
  segment_id?: string
  status: InputStatus
  rows: number
  bytes: number
  /** Compacted inputs: values of carried string columns whose invalid UTF-8 was replaced by U+FFFD. */
  replaced_utf8?: number
  /** Compacted inputs: rows whose unsigned 64-bit chq_tid was 2^63 or more, kept as the signed id of the same bits. */
  unsigned_tid?: number
}

/** What a compaction did, row for row: rows_in = rows_aggregated + sum(dropped). */
export interface CompactionReport {
  frequency_ms: number
  dateint: number | null
  rows_in: number
  rows_aggregated: number
  rows_out: number
  dropped: Record<DropReason, number>
  rows_outside_dateint: number
  /** Values of carried string columns whose bytes were not valid UTF-8, written with U+FFFD in their place. */
  replaced_utf8: number
  /** Rows whose chq_tid was an unsigned 64-bit value of 2^63 or more, kept as the signed id of the same 64 bits. */
  unsigned_tid: number
  sketch_merges: number
  bytes_in: number
  bytes_out: number
  files_out: number
  duration_ms: number
  inputs: InputReport[]
}

export interface CompactionResult {
  files: SegmentMeta[]
  report: CompactionReport
}

/** Compacts the inputs into files in outDir; every input is opened and validated before any output. */
export async function compact (options: CompactionOptions): Promise<CompactionResult> {
  const started = performance.now()
  const frequencyMs = options.frequencyMs ?? DEFAULT_FREQUENCY_MS
  const recordsPerFile = options.recordsPerFile ?? DEFAULT_RECORDS_PER_FILE
  checkOptions(options, frequencyMs, recordsPerFile)
  const day = options.dateint === undefined ? null : dateintRange(options.dateint)
  const account = new MemoryAccount(options.memoryLimitBytes ?? Infinity)

  const segments: Segment[] = []
  const files: SegmentMeta[] = []
  const begun: string[] = [] // every output file name begun, written or not
  let inFlight: Promise<void> = Promise.resolve()
  try {
    for (const [i, input] of options.inputs.entries()) segments.push(await openSegment(input.path, i, input.label, input.identity))
    const schema = outputSchema(segments)
    const carry = schema.filter(c => !ENGINE_COLUMNS.has(c.name)).map(c => c.name)
    const asText = new Set(schema.filter(c => c.type === 'string' && !ENGINE_COLUMNS.has(c.name)).map(c => c.name))
    const sorted: boolean[] = []
    for (const segment of segments) sorted.push(await isSorted(segment, account))
    const inputIds = await Promise.all(options.inputs.map(async (input, i) => input.segmentId ?? await contentHash(segments[i].file)))
    const bundleKey = JSON.stringify([options.organizationId ?? '', options.dateint ?? 0, frequencyMs, options.instanceNum ?? 0])

    const rowsTotal = segments.reduce((n, s) => n + s.numRows, 0)
    const dropped = new Float64Array(DROP_REASONS.length)
    const altered: Altered = { replacedUtf8: new Float64Array(segments.length), unsignedTid: new Float64Array(segments.length) }
    let rowsRead = 0
    const onBatch = (batch: Batch): void => {
      rowsRead += batch.length
      for (let r = 1; r < dropped.length; r++) dropped[r] += batch.drops[r]
      altered.replacedUtf8[batch.segment] += batch.replacedUtf8
      altered.unsignedTid[batch.segment] += batch.unsignedTid
      options.onProgress?.(rowsRead, rowsTotal)
    }

    const rows = new OutputRows()
    const aggregator = new Aggregator(frequencyMs, rows, day)
    // A file is gathered here, then written (on the writer thread) while merging goes on; at most
    // one file is in flight, so memory holds two files' columns at most.
    const writers = new FileWriters(options.outDir, schema, { parallel: options.parallelWrite ?? true })
    const flush = async (n: number): Promise<void> => {
      const prepared = prepareSegmentFile(rows, n, schema, segmentIdFor(bundleKey, inputIds, begun.length))
      rows.dropPrefix(n)
      begun.push(prepared.fileName)
      const previous = inFlight
      const written = writers.write(prepared)
      written.catch(() => {}) // may fail while an earlier file is still being delivered: awaited below
      inFlight = (async () => {
        await previous
        const file: SegmentMeta = { ...prepared.meta, file_size: await written }
        files.push(file)
        await options.onFile?.(file)
      })()
      inFlight.catch(() => {}) // a failure surfaces where inFlight is awaited, never as an unhandled rejection
      await previous
    }
    // At a series boundary every buffered row belongs to a complete series: split only here.
    const splitAtBoundary = async (): Promise<void> => {
      if (rows.count > recordsPerFile) {
        if (rows.seriesStart > 0) await flush(rows.seriesStart)
        if (rows.count > recordsPerFile) await flush(rows.count)
      }
      rows.seriesStart = rows.count
    }

    const heap = new CursorHeap()
    for (const segment of segments) {
      const cursor = new SegmentCursor(segment, sorted[segment.index], carry, account, onBatch, asText)
      if (await cursor.load()) heap.push(cursor)
    }
    while (heap.size > 0) {
      const cursor = heap.top()
      aggregator.add(cursor.batch!, cursor.row)
      if (aggregator.seriesBoundary) {
        aggregator.seriesBoundary = false
        await splitAtBoundary()
      }
      if (cursor.step() || await cursor.load()) heap.siftTop()
      else heap.popTop()
    }
    aggregator.finish()
    await splitAtBoundary()
    if (rows.count > 0) await flush(rows.count)
    await inFlight

    const report = buildReport(options, segments, inputIds, frequencyMs, dropped, altered, aggregator, files, rowsRead, started)
    if (report.rows_in !== rowsTotal || report.rows_in !== report.rows_aggregated + Object.values(report.dropped).reduce((a, b) => a + b, 0)) {
      throw new CompactorError('CMP_ERR_INTERNAL', 'the compaction report does not balance', { report })
    }
    return { files, report }
  } catch (err) {
    // a failed compaction leaves no output behind: nothing partial can be registered (once the
    // file being written has settled, so that it cannot appear after the clean-up)
    await inFlight.catch(() => {})
    await Promise.all(begun.flatMap(name => [name, name + '.partial']).map(name => rm(join(options.outDir, name), { force: true })))
    throw err
  } finally {
    await Promise.all(segments.map(s => s.close()))
  }
}

function checkOptions (options: CompactionOptions, frequencyMs: number, recordsPerFile: number): void {
  if (options.inputs.length === 0) throw new CompactorError('CMP_ERR_NO_INPUTS')
  if (!FREQUENCIES.includes(frequencyMs)) {
    throw new CompactorError('CMP_ERR_BAD_FREQUENCY', `got ${frequencyMs}`, { field: 'frequency_ms', value: frequencyMs })
  }
  if (!(recordsPerFile === Infinity || (Number.isSafeInteger(recordsPerFile) && recordsPerFile > 0))) {
    throw new CompactorError('CMP_ERR_BAD_ARGUMENT', `records_per_file must be a positive integer, got ${recordsPerFile}`, { field: 'records_per_file' })
  }
  if (options.dateint !== undefined && dateintRange(options.dateint) === null) {
    throw new CompactorError('CMP_ERR_BAD_ARGUMENT', `dateint must be a YYYYMMDD date, got ${options.dateint}`, { field: 'dateint' })
  }
}

/** The union of the inputs' columns (current names, promoted types) plus every engine column, sorted by name. */
export function outputSchema (segments: readonly Segment[]): OutputColumn[] {
  const types = new Map<string, ColumnType>(FORCED_TYPES)
  for (const segment of segments) {
    for (const [name, sources] of segment.columns) {
      if (FORCED_TYPES.has(name)) continue
      for (const { type } of sources) {
        const known = types.get(name)
        types.set(name, known === undefined ? type : promote(known, type))
      }
    }
  }
  return [...types].map(([name, type]) => ({ name, type })).sort((a, b) => compareNames(a.name, b.name))
}

/** SHA-256 of a file's bytes, read through its open descriptor: the identity of an input that has no segment id. */
export async function contentHash (file: AsyncBuffer): Promise<string> {
  const hash = createHash('sha256')
  for (let start = 0; start < file.byteLength; start += HASH_READ_BYTES) {
    hash.update(new Uint8Array(await file.slice(start, Math.min(file.byteLength, start + HASH_READ_BYTES))))
  }
  return hash.digest('hex')
}

/** Values read and kept altered, per input: invalid UTF-8 replaced, unsigned tids read as signed. */
interface Altered {
  readonly replacedUtf8: Float64Array
  readonly unsignedTid: Float64Array
}

function buildReport (options: CompactionOptions, segments: readonly Segment[], inputIds: readonly string[], frequencyMs: number,
  dropped: Float64Array, altered: Altered, aggregator: Aggregator, files: readonly SegmentMeta[], rowsRead: number, started: number): CompactionReport {
  const drops = {} as Record<DropReason, number>
  for (let r = 1; r < DROP_REASONS.length; r++) drops[DROP_REASONS[r] as DropReason] = dropped[r]
  const sum = (a: Float64Array): number => a.reduce((n, v) => n + v, 0)
  return {
    frequency_ms: frequencyMs,
    dateint: options.dateint ?? null,
    rows_in: rowsRead,
    rows_aggregated: aggregator.stats.rowsAggregated,
    rows_out: files.reduce((n, f) => n + f.record_count, 0),
    dropped: drops,
    rows_outside_dateint: aggregator.stats.rowsOutsideDateint,
    replaced_utf8: sum(altered.replacedUtf8),
    unsigned_tid: sum(altered.unsignedTid),
    sketch_merges: aggregator.stats.sketchMerges,
    bytes_in: segments.reduce((n, s) => n + s.byteLength, 0),
    bytes_out: files.reduce((n, f) => n + f.file_size, 0),
    files_out: files.length,
    duration_ms: Math.round(performance.now() - started),
    inputs: segments.map((s, i) => ({
      name: s.label,
      ...(options.inputs[i].segmentId === undefined ? {} : { segment_id: inputIds[i] }),
      status: 'compacted' as const,
      rows: s.numRows,
      bytes: s.byteLength,
      replaced_utf8: altered.replacedUtf8[i],
      unsigned_tid: altered.unsignedTid[i],
    })),
  }
}
