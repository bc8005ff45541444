// The memory a compaction is expected to need at its peak, from its inputs' parquet footers: what
// it reserves from the budget before it starts. README "Memory guards" has the formula.
import { basename } from 'node:path'
import { FILES_BUFFERED, currentName, type CompactionInput } from '../compaction/index.ts'
import { readFooterFigures, type FooterFigures } from './footer.ts'

/**
 * Fixed part of every compaction, over its child's idle baseline (which the budget holds apart):
 * the engine's scratch, the footers, the heap's growth. Measured peaks over the baseline, for 12
 * real segments: 15 to 19 MiB (`node bench/estimate.ts DIR`, README "Memory guards").
 */
export const BASE_BYTES = 32 * 1024 * 1024
/**
 * Bytes per uncompressed byte of each input's largest row group: made for the engine that decoded
 * a row group whole (typed arrays, offsets, dictionaries, statuses), an upper bound of what an
 * input holds now (its columns' current pages and dictionaries, a batch of its key columns).
 */
export const DECODE_FACTOR = 4
/** Bytes per output row per column held by the output buffers (references, offsets, gathered values). */
export const OUTPUT_BYTES_PER_CELL = 32
/**
 * How much denser than its inputs a compacted file is taken to be, in rows per byte: files sized by
 * bytes are counted at targetFileBytes x this / (input bytes per row) rows each. Compaction merges
 * duplicate keys and re-encodes, so outputs are denser than their inputs: about 2x on the bench's
 * generated data, but 11x on bench `real-wide` (real segments copied 68 times: 9.0 MB in, 0.8 MB
 * out), past this bound. The estimate stays above the peak there because each counted row is
 * charged OUTPUT_BYTES_PER_CELL per column, several times what a buffered row takes (README,
 * "Memory guards": 5 046 MiB estimated, 359 MiB measured).
 */
export const OUTPUT_DENSITY_BOUND = 8

/** What the estimate is made of, read from the footers. */
export interface InputFigures {
  /** Uncompressed bytes of each input's largest row group (what bounds the pages an input holds at a time). */
  readonly largestRowGroupBytes: readonly number[]
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
  const columns = new Set<string>()
  let rows = 0
  let bytes: number | undefined = 0
  for (const input of inputs) {
    bytes = input.bytes === undefined || bytes === undefined ? undefined : bytes + input.bytes
    const footer = input.footer ?? await readFooterFigures(input.path, input.label ?? basename(input.path))
    largestRowGroupBytes.push(footer.largestRowGroupBytes)
    rows += footer.rows
    for (const name of footer.columns) columns.add(currentName(name))
  }
  return { largestRowGroupBytes, rows, columns: columns.size, bytes }
}

/**
 * Peak bytes of a compaction: BASE + DECODE_FACTOR x sum of the largest row group of each input
 * + the output buffers of FILES_BUFFERED files (min(rows, FILES_BUFFERED x rows per file) x columns x
 * OUTPUT_BYTES_PER_CELL): the files in flight and the one being filled.
 * Rows per file: recordsPerFile when given, and for files sized by bytes at most
 * targetFileBytes x OUTPUT_DENSITY_BOUND / (input bytes per row) when the inputs' bytes are known;
 * otherwise every row counts (one file may hold the whole bundle).
 */
export function estimateBytes (figures: InputFigures, recordsPerFile: number | undefined, targetFileBytes = Infinity): number {
  const decoded = DECODE_FACTOR * figures.largestRowGroupBytes.reduce((a, b) => a + b, 0)
  const bytesPerRow = figures.bytes === undefined || figures.rows === 0 ? 0 : figures.bytes / figures.rows
  const rowsPerTarget = bytesPerRow > 0 ? Math.ceil(targetFileBytes * OUTPUT_DENSITY_BOUND / bytesPerRow) : Infinity
  const outputRows = Math.min(figures.rows, FILES_BUFFERED * (recordsPerFile ?? Infinity), FILES_BUFFERED * rowsPerTarget)
  const output = outputRows * figures.columns * OUTPUT_BYTES_PER_CELL
  return BASE_BYTES + decoded + output
}
