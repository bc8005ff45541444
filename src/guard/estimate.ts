// The memory a compaction is expected to need at its peak, from its inputs' parquet footers: what
// it reserves from the budget before it starts. README "Memory guards" has the formula.
import { basename } from 'node:path'
import { FILES_BUFFERED, FILES_IN_FLIGHT, RUN_ROWS, WINDOW_ROWS, currentName, runLayout, type CompactionInput } from '../compaction/index.ts'
import { readFooterFigures, type FooterFigures } from './footer.ts'

/**
 * Fixed part of every compaction, over its child's idle baseline (which the budget holds apart):
 * the engine's scratch, the footers, the heap's growth and the garbage not yet collected. Measured
 * peaks over the baseline, for 12 real segments: 14 to 16 MiB (`node bench/estimate.ts DIR`,
 * README "Memory guards").
 */
export const BASE_BYTES = 48 * 1024 * 1024
/**
 * Bytes per uncompressed byte of each input's largest row group: an input holds its columns'
 * current pages decompressed (a row group's at most), their dictionaries decoded, and a chunk's
 * compressed bytes until its last page is read. Decoded columns take about as much: 3x a row
 * group's uncompressed bytes (135 MiB peak against 133 estimated with 2x when the unsorted bundle
 * of test/guard/estimate-peak.test.ts was read whole).
 */
export const PAGE_FACTOR = 3
/**
 * Bytes per row of an input's current batch (WINDOW_ROWS rows at most) of its key, sketch and
 * rollup columns: statuses, names, tids and timestamps (40), rollups with their presence (99),
 * sketch offsets and bytes, and the batch a group still open keeps.
 */
export const BATCH_ROW_BYTES = 256
/**
 * Bytes per buffered output row (write/output-rows.ts): name, tid, bucket, input and row, sketch
 * end and a single point's value (48), all eleven rollups when it is not a single point (88: taken
 * for every row), and its sketch (40; 27 bytes on average on bench `real-wide` and `wide`). Rows
 * are held in blocks of 32 768, each trimmed to its bytes once full; only the block being filled
 * has room to grow (BASE_BYTES holds it).
 */
export const OUTPUT_ROW_BYTES = 176
/** Bytes per row of a file being gathered: one column's values, and the inputs' values it is gathered from. */
export const GATHER_ROW_BYTES = 16
/**
 * How much denser than its inputs a compacted file is taken to be, in rows per byte: files sized by
 * bytes are counted at targetFileBytes x this / (input bytes per row) rows each. Compaction merges
 * duplicate keys and re-encodes, so outputs are denser than their inputs: about 1.4-2x on the
 * bench's generated data, but 11x on bench `real-wide` (real segments copied 68 times: 9.0 MB in,
 * 0.8 MB out), past this bound; the estimate holds there because its three files' rows are more
 * than the bundle's.
 */
export const OUTPUT_DENSITY_BOUND = 8

/** What the estimate is made of, read from the footers. */
export interface InputFigures {
  /** Uncompressed bytes of each input's largest row group (what bounds the pages an input holds at a time). */
  readonly largestRowGroupBytes: readonly number[]
  /** Rows of each input. */
  readonly inputRows: readonly number[]
  /**
   * Per input, the uncompressed bytes of all its row groups when its footer proves it out of order
   * (the engine sorts it into runs), else 0. Absent: none is.
   */
  readonly outOfOrderBytes?: readonly number[]
  readonly rows: number
  /** Distinct columns across the inputs (the output schema's width, roughly). */
  readonly columns: number
  /** The inputs' file bytes, when every input's size is known (else undefined). */
  readonly bytes?: number
}

/**
 * Reads the figures of the inputs' footers (or takes those already read through the descriptor the
 * input was checked on: `footer`). Only what the estimate needs is decoded (footer.ts); the engine
 * validates each footer in full when it opens the segment in its child.
 */
export async function inputFigures (inputs: ReadonlyArray<CompactionInput & { readonly footer?: FooterFigures, readonly bytes?: number }>): Promise<InputFigures> {
  const largestRowGroupBytes: number[] = []
  const outOfOrderBytes: number[] = []
  const inputRows: number[] = []
  const columns = new Set<string>()
  let rows = 0
  let bytes: number | undefined = 0
  for (const input of inputs) {
    bytes = input.bytes === undefined || bytes === undefined ? undefined : bytes + input.bytes
    const footer = input.footer ?? await readFooterFigures(input.path, input.label ?? basename(input.path))
    largestRowGroupBytes.push(footer.largestRowGroupBytes)
    outOfOrderBytes.push(footer.outOfOrder ? footer.totalBytes : 0)
    inputRows.push(footer.rows)
    rows += footer.rows
    for (const name of footer.columns) columns.add(currentName(name))
  }
  return { largestRowGroupBytes, inputRows, outOfOrderBytes, rows, columns: columns.size, bytes }
}

/**
 * Peak bytes of a compaction (its files written inline, as in a compaction child): BASE, and its
 * two phases added (the memory the first takes is not all given back to the system before the
 * second: on one unsorted file of 200 000 rows the peak was 92-120 MiB against 107 estimated with
 * the larger of the two).
 *
 * Sorting the inputs out of order of more than RUN_ROWS rows into runs, one chunk at a time (only
 * those the footers prove out of order; README "Memory guards"): the largest over them of
 *   PAGE_FACTOR x (its largest row group + its uncompressed bytes per row x RUN_ROWS).
 *
 * The merge:
 *   PAGE_FACTOR x the sum of each input's largest row group (its pages)
 * + BATCH_ROW_BYTES x the sum of each input's batch rows (min(WINDOW_ROWS, its rows))
 * + in place of both for an input out of order: of at most RUN_ROWS rows (sorted in memory),
 *   PAGE_FACTOR x all its row groups' uncompressed bytes; else per run of it, as for an
 *   input of the run's row groups, PAGE_FACTOR x a row group (its uncompressed bytes per row x a
 *   run's group rows) and BATCH_ROW_BYTES x a run's batch
 * + OUTPUT_ROW_BYTES x the output rows buffered: min(rows, FILES_BUFFERED x rows per file)
 * + GATHER_ROW_BYTES x the rows of one file, and FILES_IN_FLIGHT files' compressed bytes (the
 *   target, or the inputs' bytes for one file).
 * Rows per file: recordsPerFile when given, and for files sized by bytes at most
 * targetFileBytes x OUTPUT_DENSITY_BOUND / (input bytes per row) when the inputs' bytes are known;
 * otherwise every row counts (one file may hold the whole bundle).
 */
export function estimateBytes (figures: InputFigures, recordsPerFile: number | undefined, targetFileBytes = Infinity): number {
  let pages = 0
  let batches = 0
  let sorting = 0
  const { groupRows, pageRows } = runLayout(RUN_ROWS)
  for (const [i, rows] of figures.inputRows.entries()) {
    const outOfOrder = figures.outOfOrderBytes?.[i] ?? 0
    if (outOfOrder === 0 || rows === 0) {
      pages += PAGE_FACTOR * figures.largestRowGroupBytes[i]
      batches += BATCH_ROW_BYTES * Math.min(WINDOW_ROWS, rows)
      continue
    }
    if (rows <= RUN_ROWS) {
      // sorted in memory: decoded whole, held through the merge
      pages += PAGE_FACTOR * outOfOrder
      continue
    }
    // sorted into runs: a chunk at a time, then a cursor per run
    const perRow = outOfOrder / rows
    sorting = Math.max(sorting, PAGE_FACTOR * (figures.largestRowGroupBytes[i] + perRow * RUN_ROWS))
    const runs = Math.ceil(rows / RUN_ROWS)
    batches += BATCH_ROW_BYTES * runs * Math.min(pageRows, rows)
    pages += runs * PAGE_FACTOR * perRow * Math.min(groupRows, rows)
  }
  const bytesPerRow = figures.bytes === undefined || figures.rows === 0 ? 0 : figures.bytes / figures.rows
  const rowsPerTarget = bytesPerRow > 0 ? Math.ceil(targetFileBytes * OUTPUT_DENSITY_BOUND / bytesPerRow) : Infinity
  const rowsPerFile = Math.min(figures.rows, recordsPerFile ?? Infinity, rowsPerTarget)
  const buffered = Math.min(figures.rows, FILES_BUFFERED * rowsPerFile)
  const fileBytes = Math.min(targetFileBytes, figures.bytes ?? (Number.isFinite(targetFileBytes) ? targetFileBytes : 0))
  const merge = pages + batches + OUTPUT_ROW_BYTES * buffered + GATHER_ROW_BYTES * rowsPerFile + FILES_IN_FLIGHT * fileBytes
  return BASE_BYTES + sorting + merge
}
