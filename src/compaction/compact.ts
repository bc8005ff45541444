// The pipeline: open the inputs (footers validated), the output schema (their union), the sort
// check, then the merge loop (k-way merge -> aggregate -> the segment writer, which splits files
// between series), finish, and a report that balances. read/, merge/ and write/ hold the stages.
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { AsyncBuffer } from 'hyparquet'
import { CompactorError } from '../errors.ts'
import { MemoryAccount } from './account.ts'
import { segmentIdFor } from './ids.ts'
import { Aggregator } from './merge/aggregate.ts'
import { CursorHeap, SegmentCursor, SortedBatchCursor, isSorted, type Cursor } from './merge/merge.ts'
import { MAX_RUN_ROWS, RUN_ROWS, runLayout, sortInput, type SortedInput } from './merge/runs.ts'
import { DROP_REASONS, type Batch } from './read/batch-reader.ts'
import { InputColumns } from './read/input-columns.ts'
import type { FileIdentity } from './read/input-file.ts'
import { openSegment, type Segment } from './read/segment.ts'
import { buildReport, type Altered, type CompactionReport } from './report.ts'
import { ENGINE_COLUMNS, FORCED_TYPES, IGNORED_COLUMNS, compareNames, promote, type ColumnType } from './schema.ts'
import { DEFAULT_FREQUENCY_MS, checkDateint, checkFrequency } from './time.ts'
import type { OutputColumn, SegmentMeta } from './write/segment-file.ts'
import { SegmentWriter } from './write/segment-writer.ts'

/** Output files are at most this many bytes, but for a file of one series (TARGET_FILE_BYTES, target_file_bytes). */
export const DEFAULT_TARGET_FILE_BYTES = 2 * 1024 * 1024
/** The range of target_file_bytes the service and the CLI accept. */
export const MIN_TARGET_FILE_BYTES = 64 * 1024
export const MAX_TARGET_FILE_BYTES = 1024 * 1024 * 1024
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
  /**
   * Bytes per output file at most (default DEFAULT_TARGET_FILE_BYTES): a file closes before the
   * series that would take it past this; a single series larger than this is a file of its own.
   * Infinity (with recordsPerFile unset) for one file.
   */
  readonly targetFileBytes?: number
  /** Rows per output file at most as well (a single series larger than this still stays in one file); unset: no row cap. */
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
  /** Filled in when given: files written again because their first writing came out past the target, and files begun again after them. */
  readonly writeStats?: { rewritten: number, restarted: number }
  /**
   * Directory the runs of an input out of sort order are written to (merge/runs.ts); default: a
   * directory made in outDir when the first such input is found. Runs are removed at the end.
   */
  readonly spillDir?: string
  /** Called with each run's bytes once it is written; what it throws stops the compaction (the service charges MAX_TEMP_BYTES). */
  readonly onSpill?: (bytes: number) => void | Promise<void>
  /** Rows of an input out of order sorted at a time into one run (default RUN_ROWS). */
  readonly runRows?: number
  /**
   * Memory the inputs' decoded data may take at most (undefined: unlimited). The reader charges
   * pages and batches before it allocates them; an input that does not fit is CMP_ERR_INPUT_TOO_COSTLY.
   */
  readonly memoryLimitBytes?: number
}

export interface CompactionResult {
  files: SegmentMeta[]
  report: CompactionReport
}

/** Compacts the inputs into files in outDir; every input is opened and validated before any output. */
export async function compact (options: CompactionOptions): Promise<CompactionResult> {
  const started = performance.now()
  const frequencyMs = checkFrequency(options.frequencyMs ?? DEFAULT_FREQUENCY_MS)
  const targetFileBytes = options.targetFileBytes ?? DEFAULT_TARGET_FILE_BYTES
  checkOptions(options, targetFileBytes)
  const day = options.dateint === undefined ? null : checkDateint(options.dateint)
  const account = new MemoryAccount(options.memoryLimitBytes ?? Infinity)

  const segments: Segment[] = []
  const runs: Segment[] = []
  const cursors: Cursor[] = []
  let spillDir: string | null = null
  let inputs: InputColumns | undefined
  let writer: SegmentWriter | undefined
  try {
    // open: every footer validated before anything is written
    for (const [i, input] of options.inputs.entries()) segments.push(await openSegment(input.path, i, input.label, input.identity))
    // schema: the union of the inputs', with every engine column
    const schema = outputSchema(segments)
    const carry = schema.filter(c => !ENGINE_COLUMNS.has(c.name)).map(c => c.name)
    const asText = new Set(schema.filter(c => c.type === 'string' && !ENGINE_COLUMNS.has(c.name)).map(c => c.name))
    // sort check: an input out of order is sorted into runs before the merge
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
    // each input's place in the merge: the input itself, or, out of order, the runs it was sorted
    // into or its batch sorted in memory (counted as they were read)
    const runRows = options.runRows ?? RUN_ROWS
    const sortedInputs: SortedInput[] = []
    const spillTo = async (): Promise<string> => (spillDir ??= options.spillDir ?? await mkdtemp(join(options.outDir, '.runs-')))
    for (const segment of segments) {
      if (sorted[segment.index]) continue
      const done = await sortInput(segment, { dir: spillTo, firstIndex: segments.length + runs.length, rows: runRows, carry, asText, account, onBatch, onRun: options.onSpill })
      sortedInputs.push(done)
      if ('runs' in done) runs.push(...done.runs)
    }
    inputs = new InputColumns([...segments, ...runs], carry, asText, account, [...sorted, ...runs.map(() => false)])

    writer = new SegmentWriter({
      outDir: options.outDir,
      schema,
      targetFileBytes,
      recordsPerFile: options.recordsPerFile,
      inputs,
      segmentId: file => segmentIdFor(bundleKey, inputIds, file),
      parallel: options.parallelWrite ?? true,
      onFile: options.onFile,
    })
    const aggregator = new Aggregator(frequencyMs, writer.rows, day)

    // the merge loop: rows in key order, aggregated; files end only where a series does
    const heap = new CursorHeap()
    const pageRows = runLayout(runRows).pageRows
    const outOfOrder = sortedInputs[Symbol.iterator]()
    for (const segment of segments) {
      const cursorsOf: Cursor[] = []
      if (sorted[segment.index]) cursorsOf.push(new SegmentCursor(segment, segment.index, 0, account, onBatch))
      else {
        const done = outOfOrder.next().value!
        if ('runs' in done) for (const [k, run] of done.runs.entries()) cursorsOf.push(new SegmentCursor(run, segment.index, k, account, () => {}, pageRows))
        else {
          inputs.useWhole(done.batch)
          cursorsOf.push(new SortedBatchCursor(done.batch, done.order))
        }
      }
      for (const cursor of cursorsOf) {
        cursors.push(cursor)
        if (await cursor.load()) heap.push(cursor)
      }
    }
    while (heap.size > 0) {
      const cursor = heap.top()
      if (aggregator.add(cursor.batch!, cursor.row)) await writer.seriesEnded()
      if (cursor.step() || await cursor.load()) heap.siftTop()
      else heap.popTop()
    }
    aggregator.finish()
    const files = await writer.finish()
    // the rows no file needed are counted too (replaced_utf8 counts every row read)
    await inputs.finish()
    for (let i = 0; i < segments.length; i++) altered.replacedUtf8[i] += inputs.replacedUtf8[i]

    const report = buildReport(options, segments, inputIds, frequencyMs, dropped, altered, aggregator.stats, files, rowsRead, started)
    if (report.rows_in !== rowsTotal || report.rows_in !== report.rows_aggregated + Object.values(report.dropped).reduce((a, b) => a + b, 0)) {
      throw new CompactorError('CMP_ERR_INTERNAL', 'the compaction report does not balance', { report })
    }
    if (options.writeStats) {
      options.writeStats.rewritten = writer.rewrites
      options.writeStats.restarted = writer.restarts
    }
    return { files, report }
  } catch (err) {
    await writer?.abort()
    throw err
  } finally {
    for (const cursor of cursors) cursor.close()
    inputs?.close()
    await Promise.all([...segments, ...runs].map(s => s.close()))
    // the runs are gone with the compaction (a directory given by the caller is the caller's)
    if (spillDir !== null && options.spillDir === undefined) await rm(spillDir, { recursive: true, force: true })
    else for (const run of runs) await rm(run.path, { force: true })
  }
}

function checkOptions (options: CompactionOptions, targetFileBytes: number): void {
  if (options.inputs.length === 0) throw new CompactorError('CMP_ERR_NO_INPUTS')
  if (options.runRows !== undefined && !(Number.isSafeInteger(options.runRows) && options.runRows > 0 && options.runRows <= MAX_RUN_ROWS)) {
    throw new CompactorError('CMP_ERR_BAD_ARGUMENT', `runRows must be an integer from 1 to ${MAX_RUN_ROWS}, got ${options.runRows}`, { field: 'runRows' })
  }
  const recordsPerFile = options.recordsPerFile
  if (recordsPerFile !== undefined && !isPositive(recordsPerFile)) {
    throw new CompactorError('CMP_ERR_BAD_ARGUMENT', `records_per_file must be a positive integer, got ${recordsPerFile}`, { field: 'records_per_file' })
  }
  if (!isPositive(targetFileBytes)) {
    throw new CompactorError('CMP_ERR_BAD_ARGUMENT', `target_file_bytes must be a positive integer, got ${targetFileBytes}`, { field: 'target_file_bytes' })
  }
}

/** A positive safe integer, or Infinity (no limit). */
function isPositive (n: number): boolean {
  return n === Infinity || (Number.isSafeInteger(n) && n > 0)
}

/** The union of the inputs' columns (current names, promoted types; no ignored column) plus every engine column, sorted by name. */
export function outputSchema (segments: readonly Segment[]): OutputColumn[] {
  const types = new Map<string, ColumnType>(FORCED_TYPES)
  for (const segment of segments) {
    for (const [name, sources] of segment.columns) {
      if (FORCED_TYPES.has(name) || IGNORED_COLUMNS.has(name)) continue
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
