// The memory a compaction is expected to need at its peak, from its inputs' parquet footers: what
// it reserves from the budget before it starts. README "Memory guards" has the formula.
import { basename } from 'node:path'
import { FILES_BUFFERED, FILES_IN_FLIGHT, WINDOW_ROWS, currentName, type CompactionInput } from '../compaction/index.ts'
import { readFooterFigures, type FooterFigures } from './footer.ts'

/**
 * Fixed part of every compaction, over its child's idle baseline (which the budget holds apart):
 * the engine's scratch, the footers, the heap's growth and the garbage not yet collected. Measured
 * peaks over the baseline, for 12 real segments: 14 to 16 MiB (`node bench/estimate.ts DIR`,
 * README "Memory guards").
 */
export const BASE_BYTES = 48 * 1024 * 1024
/**
 * Bytes per uncompressed byte of each input's largest row group: an input in sort order holds its
 * columns' current pages decompressed (a row group's at most), their dictionaries decoded, and a
 * chunk's compressed bytes until its last page is read; an input out of order, read whole, its
 * decoded columns (for one row group about 3x its uncompressed bytes: 135 MiB peak against 133
 * estimated with 2x on the unsorted bundle of test/guard/estimate-peak.test.ts).
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
  /**
   * Uncompressed bytes of each input's largest row group (what bounds the pages an input holds at
   * a time), or of all its row groups when its footer proves it out of order (it is read whole).
   */
  readonly largestRowGroupBytes: readonly number[]
  /** Rows of each input. */
  readonly inputRows: readonly number[]
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
  const inputRows: number[] = []
  const columns = new Set<string>()
  let rows = 0
  let bytes: number | undefined = 0
  for (const input of inputs) {
    bytes = input.bytes === undefined || bytes === undefined ? undefined : bytes + input.bytes
    const footer = input.footer ?? await readFooterFigures(input.path, input.label ?? basename(input.path))
    largestRowGroupBytes.push(footer.outOfOrder ? footer.totalBytes : footer.largestRowGroupBytes)
    inputRows.push(footer.rows)
    rows += footer.rows
    for (const name of footer.columns) columns.add(currentName(name))
  }
  return { largestRowGroupBytes, inputRows, rows, columns: columns.size, bytes }
}

/**
 * Peak bytes of a compaction (its files written inline, as in a compaction child):
 *   BASE
 * + PAGE_FACTOR x the sum of each input's largest row group (its pages)
 * + BATCH_ROW_BYTES x the sum of each input's batch rows (min(WINDOW_ROWS, its rows))
 * + OUTPUT_ROW_BYTES x the output rows buffered: min(rows, FILES_BUFFERED x rows per file)
 * + GATHER_ROW_BYTES x the rows of one file, and FILES_IN_FLIGHT files' compressed bytes (the
 *   target, or the inputs' bytes for one file).
 * Rows per file: recordsPerFile when given, and for files sized by bytes at most
 * targetFileBytes x OUTPUT_DENSITY_BOUND / (input bytes per row) when the inputs' bytes are known;
 * otherwise every row counts (one file may hold the whole bundle).
 */
export function estimateBytes (figures: InputFigures, recordsPerFile: number | undefined, targetFileBytes = Infinity): number {
  const pages = PAGE_FACTOR * figures.largestRowGroupBytes.reduce((a, b) => a + b, 0)
  const batches = BATCH_ROW_BYTES * figures.inputRows.reduce((sum, rows) => sum + Math.min(WINDOW_ROWS, rows), 0)
  const bytesPerRow = figures.bytes === undefined || figures.rows === 0 ? 0 : figures.bytes / figures.rows
  const rowsPerTarget = bytesPerRow > 0 ? Math.ceil(targetFileBytes * OUTPUT_DENSITY_BOUND / bytesPerRow) : Infinity
  const rowsPerFile = Math.min(figures.rows, recordsPerFile ?? Infinity, rowsPerTarget)
  const buffered = Math.min(figures.rows, FILES_BUFFERED * rowsPerFile)
  const fileBytes = Math.min(targetFileBytes, figures.bytes ?? (Number.isFinite(targetFileBytes) ? targetFileBytes : 0))
  return BASE_BYTES + pages + batches + OUTPUT_ROW_BYTES * buffered + GATHER_ROW_BYTES * rowsPerFile + FILES_IN_FLIGHT * fileBytes
}
