// A compaction job: what a request asked for once its inputs are on local disk and validated, and
// running it through the engine (in a compaction child, src/worker/).
import { compact, DROP_REASONS, type CompactionInput, type CompactionReport, type CompactionResult, type DropReason, type InputReport, type SegmentMeta } from '../compaction/index.ts'
import type { FooterFigures } from '../guard/footer.ts'

/** Where the compacted files go: streamed back (tar or one parquet file) or stored under a URL prefix. */
export type Delivery =
  | { readonly kind: 'tar' }
  | { readonly kind: 'parquet' }
  | { readonly kind: 'store', readonly urlPrefix: string, readonly collectorName: string }

/** A segment to compact, as it was checked: its size, and its footer's figures when they were read already (through the descriptor it was checked on). */
export interface JobInput extends CompactionInput {
  readonly bytes?: number
  readonly footer?: FooterFigures
}

export interface CompactionJob {
  /** The segments to compact, on local disk, in bundle order. */
  readonly inputs: readonly JobInput[]
  /**
   * Every segment of the bundle in order: null for the next of `inputs`, or the report of a segment
   * that is not compacted (already compacted, or missing and skipped).
   */
  readonly entries: ReadonlyArray<InputReport | null>
  readonly frequencyMs: number
  /** Bytes per output file at most, but for a file of one series. */
  readonly targetFileBytes: number
  /** Rows per output file at most as well, when the request gave a cap. */
  readonly recordsPerFile: number | undefined
  readonly organizationId: string | undefined
  readonly dateint: number | undefined
  readonly instanceNum: number | undefined
  readonly delivery: Delivery
}

/**
 * Runs a job somewhere (the service: a compaction child of the pool): files into outDir, onFile as
 * each is complete; onSpill with the bytes of each run written in outDir (an input out of order),
 * which throws when they do not fit the temporary disk budget.
 */
export type JobRunner = (job: CompactionJob, outDir: string, onFile: (file: SegmentMeta) => Promise<void>, onSpill: (bytes: number) => void) => Promise<CompactionResult>

/**
 * Runs a job's compaction into outDir (and the runs of inputs out of order, onSpill told of each),
 * calling onFile as each output file is complete; returns the
 * files and the report, which lists every segment of the bundle with its status. The engine's
 * decoded data may hold at most memoryLimitBytes (beyond: CMP_ERR_INPUT_TOO_COSTLY).
 */
export async function runJob (job: CompactionJob, outDir: string, memoryLimitBytes: number, onFile: (file: SegmentMeta) => Promise<void>,
  onSpill?: (bytes: number) => Promise<void>): Promise<CompactionResult> {
  const result = job.inputs.length === 0
    ? { files: [], report: emptyReport(job) }
    : await compact({
      inputs: job.inputs,
      outDir,
      frequencyMs: job.frequencyMs,
      // one file for the parquet response: neither limit applies (the request may not give them)
      targetFileBytes: job.delivery.kind === 'parquet' ? Infinity : job.targetFileBytes,
      recordsPerFile: job.delivery.kind === 'parquet' ? undefined : job.recordsPerFile,
      organizationId: job.organizationId,
      dateint: job.dateint,
      instanceNum: job.instanceNum,
      onFile,
      onSpill,
      memoryLimitBytes,
      // the pool's children are the parallelism here: a writer thread per compaction would cost a
      // fresh isolate (~0.3 s, ~50 MB) each time (bench/load.ts: 2.5x the time, more peak RSS)
      parallelWrite: false,
    })
  const compacted = result.report.inputs[Symbol.iterator]()
  result.report.inputs = job.entries.map(entry => entry ?? compacted.next().value!)
  return result
}

/** The report of a bundle with nothing to compact. */
function emptyReport (job: CompactionJob): CompactionReport {
  const dropped = Object.fromEntries(DROP_REASONS.slice(1).map(r => [r, 0])) as Record<DropReason, number>
  return {
    frequency_ms: job.frequencyMs,
    dateint: job.dateint ?? null,
    rows_in: 0,
    rows_aggregated: 0,
    rows_out: 0,
    dropped,
    rows_outside_dateint: 0,
    replaced_utf8: 0,
    unsigned_tid: 0,
    sketch_merges: 0,
    bytes_in: 0,
    bytes_out: 0,
    files_out: 0,
    duration_ms: 0,
    inputs: [],
  }
}
