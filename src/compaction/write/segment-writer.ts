// The write side of a compaction, as one object: it owns the output rows the aggregator fills,
// decides where files split (only between series, by bytes), turns a file's rows into its columns
// and has them encoded and written (on the writer thread, or inline), keeps at most two files in
// flight (FILES_IN_FLIGHT), collects each file's segment metadata as it completes, and removes
// every file it began when the compaction fails. Its callers say only "a series ended", "finish"
// and "abort": how columns are gathered and encoded can change behind it.
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { FileWriters } from './file-writers.ts'
import { OutputRows } from './output-rows.ts'
import { prepareSegmentFile, rowGroupRows, segmentFileName, type CarriedSource, type OutputColumn, type PreparedFile, type SegmentMeta, type WrittenFile } from './segment-file.ts'
import { METRIC_NAME, ROLLUP_COLUMNS, SKETCH, TID, TIMESTAMP, TSNS } from '../schema.ts'

export interface SegmentWriterOptions {
  /** Directory the output files are written to. */
  readonly outDir: string
  /** The output schema: every file has all of its columns. */
  readonly schema: readonly OutputColumn[]
  /** Bytes per file at most, except that a series is never split (Infinity: no byte limit). */
  readonly targetFileBytes: number
  /** Rows per file at most, except that a series is never split (undefined or Infinity: no row cap). */
  readonly recordsPerFile?: number
  /** The inputs' carried columns, read as each file is gathered. */
  readonly inputs: CarriedSource
  /** The segment id of the file-th output file (0-based, in file order). */
  readonly segmentId: (file: number) => bigint
  /** Encode and write files on the shared writer thread while the caller goes on (else inline). */
  readonly parallel: boolean
  /** Called when a file is complete in outDir and accepted, in file order; the merge goes on only once it has returned. */
  readonly onFile?: (file: SegmentMeta) => void | Promise<void>
}

// A file's bytes are known only once it is written. Until then they are estimated from its rows'
// raw sizes in four groups (ROWS, SKETCHES, SERIES, CARRIED), each times its own ratio (bytes per
// raw byte of the group's columns in the files written so far), plus the bytes outside the column
// chunks: a fixed part per column (the footer's column metadata) and a share of the column bytes
// (page index, bloom filters, statistics) as in the last file written. The first file uses the
// PRIOR ratios and share; a file written again uses the ratios of its own first writing.
/** chq_timestamp, chq_tsns and the rollups: per row, 8 bytes per rollup value that can differ (2 in a row of count 1). */
const ROWS = 0
/** chq_sketch: per row, its bytes past the header every sketch shares. */
const SKETCHES = 1
/** metric_name and chq_tid: per series, its tid and, where the name changes, the name. */
const SERIES = 2
/** Every other column: per series (a series' attributes are constant along it), one byte per column with values in its first row's row group. */
const CARRIED = 3
const GROUPS = 4
/** Raw bytes of a row's rollups: one value and its count where the count is 1 (every statistic is that value), else all 11. */
const SINGLE_ROW_RAW = 16
const ROW_RAW = 88
/** The canonical sketch header (flags, gamma, offset): the same bytes in every sketch. */
const SKETCH_HEADER_BYTES = 17
/**
 * Bytes per raw byte of each group assumed before any file is written: about the highest ratios
 * learned on the bench's generated bundles (`default` and `wide`: rows 0.49, sketches 0.57, series
 * 1.34, carried 1.40; the real fixtures' are lower). A first file estimated too large only stays
 * small; one estimated too small is written again, and the file begun after it begun again. With
 * the real fixtures' ratios as priors, `default` had 1 rewrite and 1 restart in 13 files, and took
 * 1.17x the time of the engine before byte-sized files; with these, 1.06x (`bash bench/ab.sh
 * 7b523fc`, BENCHMARKS.md).
 */
export const PRIOR_RATIOS: readonly number[] = [0.5, 0.6, 1.4, 1.4]
/** A file's bytes outside its column chunks: per column (the footer's column metadata), and as a share of its column bytes before any file is written. */
export const OVERHEAD_PER_COLUMN = 200
export const PRIOR_OVERHEAD_SHARE = 0.1
/**
 * The share of the target a file's estimate aims at: estimates err both ways, and a file whose
 * actual size turns out past the target is written again with fewer series.
 */
export const FILL = 0.9

/**
 * Files written at once at most: while one is encoded and written (on the writer thread), the next
 * is gathered and handed over, so that gathering never waits for the writing before it. The rows
 * of both stay in the buffer until each is accepted, besides the rows of the file being filled.
 */
export const FILES_IN_FLIGHT = 2
/** Files' rows the buffer holds at most: those in flight and the one being filled (the memory estimate's). */
export const FILES_BUFFERED = FILES_IN_FLIGHT + 1

/** A file being written: the buffer's series from the end of the file before it (or 0) to `series`. */
interface Pending {
  readonly index: number
  /** The buffer's series [0, series) are this file's and the files' before it (adjusted as those are dropped). */
  series: number
  /** Its metadata but for its size (the gathered columns are the writers' alone). */
  readonly meta: PreparedFile['meta']
  readonly written: Promise<WrittenFile>
}

/**
 * The split rule (docs/DOMAIN.md section 5). At each series end, the complete series buffered
 * after the files in flight are estimated; while they are estimated past FILL x the target (or
 * hold more than recordsPerFile rows), the longest run of whole series within both limits (at
 * least one series) becomes the next file, gathered at once and written while the merge goes on.
 * With FILES_IN_FLIGHT files in flight already, the oldest is accepted first: awaited and measured
 * (its actual bytes give the ratios of the files after it). A file whose actual size is past the
 * target and that holds more than one series is written again, shorter (its last series go back
 * to the buffer), until it fits or holds one series; the file begun after it is then begun again
 * from the new end. Every decision depends on the rows and on the bytes of files already accepted,
 * at points fixed by the rows alone (a file is awaited only where the rule says, never polled),
 * so the same inputs give the same files whether they are written on the writer thread or inline.
 */
export class SegmentWriter {
  /** Rows waiting to be written: the aggregator appends to them. */
  readonly rows = new OutputRows()
  /** The files complete so far, in order. */
  readonly files: SegmentMeta[] = []
  /** Files written again because their first writing came out past the target. */
  rewrites = 0
  /** Files begun again because the file before them was written again shorter. */
  restarts = 0
  /** Files accepted so far (their delivery may still be on its way). */
  private accepted = 0
  private readonly options: SegmentWriterOptions
  private readonly writers: FileWriters
  private readonly goalBytes: number
  private readonly maxRows: number
  /** The estimate group of each schema column. */
  private readonly groupOf: Uint8Array
  /** Every output file name begun, written or not: what abort() removes. */
  private readonly begun = new Set<string>()
  /** The end row (exclusive) of each complete series buffered. */
  private seriesEnds: number[] = []
  /** Raw bytes of rows [0, seriesEnds[j]) in group g: seriesRaw[GROUPS * j + g]. */
  private seriesRaw: number[] = []
  /** Rows [0, scanned) are in seriesEnds; the last series' name. */
  private scanned = 0
  private lastName: string | null = null
  /** Bytes per raw byte of each group: of the files accepted so far, or of the writing just measured. */
  private readonly ratios = Float64Array.from(PRIOR_RATIOS)
  /** Bytes outside the column chunks: a fixed part, and a share of the column bytes. */
  private readonly fixedOverhead: number
  private overheadShare = PRIOR_OVERHEAD_SHARE
  /** The column bytes and the raw bytes of each group in the files accepted so far, and in the last writing. */
  private readonly acceptedBytes = new Float64Array(GROUPS)
  private readonly acceptedRaw = new Float64Array(GROUPS)
  private readonly lastBytes = new Float64Array(GROUPS)
  /**
   * The files being written, oldest first (at most FILES_IN_FLIGHT): the first series of the
   * buffer, whose rows stay there until each file is accepted (it may have to be written again
   * with fewer of them).
   */
  private pending: Pending[] = []
  /** The delivery (files list, onFile) of the files accepted so far, in order. */
  private delivered: Promise<void> = Promise.resolve()

  constructor (options: SegmentWriterOptions) {
    this.options = options
    this.goalBytes = FILL * options.targetFileBytes
    this.maxRows = options.recordsPerFile ?? Infinity
    this.groupOf = Uint8Array.from(options.schema, column => groupOf(column.name))
    this.fixedOverhead = OVERHEAD_PER_COLUMN * options.schema.length
    this.writers = new FileWriters(options.outDir, options.schema, { parallel: options.parallel })
  }

  /**
   * A series has ended: every buffered row belongs to a complete series, the only place a file may
   * end. Files are begun while the series after the one in flight are past a file's limits.
   */
  async seriesEnded (): Promise<void> {
    this.endSeries()
    await this.split(false)
  }

  /** Writes the rows left (the last series has ended) and waits for every file; returns them all. */
  async finish (): Promise<SegmentMeta[]> {
    this.endSeries()
    await this.split(true)
    await this.delivered
    return this.files
  }

  /**
   * Removes every file begun, complete or not, once the file in flight and the deliveries have
   * settled (so that no file can appear after the clean-up): a failed compaction leaves nothing
   * that could be registered.
   */
  async abort (): Promise<void> {
    await Promise.all(this.pending.map(file => file.written.catch(() => {})))
    await this.delivered.catch(() => {})
    const dir = this.options.outDir
    await Promise.all([...this.begun].flatMap(name => [name, name + '.partial']).map(name => rm(join(dir, name), { force: true })))
  }

  /** Records the series rows [scanned, count) make, with their raw bytes: O(1) per row. */
  private endSeries (): void {
    const rows = this.rows
    const end = rows.count
    const start = this.scanned
    if (end === start) return
    const j = this.seriesEnds.length
    const raw = this.seriesRaw
    const base = GROUPS * (j - 1)
    let rowBytes = j === 0 ? 0 : raw[base + ROWS]
    let sketchBytes = j === 0 ? 0 : raw[base + SKETCHES]
    let seriesBytes = (j === 0 ? 0 : raw[base + SERIES]) + 8
    let carriedBytes = j === 0 ? 0 : raw[base + CARRIED]
    const name = rows.name(start)
    if (name !== this.lastName) seriesBytes += name.length
    this.lastName = name
    carriedBytes += this.options.inputs.carriedColumns(rows.sourceSegment(start), rows.sourceRow(start))
    for (let i = start; i < end; i++) {
      rowBytes += rows.rollupCount(i) === 1 ? SINGLE_ROW_RAW : ROW_RAW
      sketchBytes += Math.max(1, rows.sketchLength(i) - SKETCH_HEADER_BYTES)
    }
    this.scanned = end
    this.seriesEnds.push(end)
    raw.push(rowBytes, sketchBytes, seriesBytes, carriedBytes)
  }

  /**
   * Begins files while the series after the files in flight are past a file's limits (all of them,
   * when `final`); with FILES_IN_FLIGHT files in flight, the oldest is accepted before the next is
   * chosen.
   */
  private async split (final: boolean): Promise<void> {
    for (;;) {
      const first = this.pending.at(-1)?.series ?? 0
      const total = this.seriesEnds.length
      if (total === first) {
        if (!final || this.pending.length === 0) return
        await this.accept()
        continue
      }
      if (!final && this.fits(first, total)) return
      if (this.pending.length === FILES_IN_FLIGHT) {
        await this.accept()
        continue
      }
      await this.begin(first, this.cut(first, total))
      // the files accepted before the one just begun are delivered before the merge goes on
      await this.delivered
    }
  }

  /** The estimated bytes of a file of series [first, last). */
  private estimate (first: number, last: number): number {
    const raw = this.seriesRaw
    let bytes = 0
    for (let g = 0; g < GROUPS; g++) bytes += this.ratios[g] * (raw[GROUPS * (last - 1) + g] - (first === 0 ? 0 : raw[GROUPS * (first - 1) + g]))
    return this.fixedOverhead + bytes * (1 + this.overheadShare)
  }

  /** Whether series [first, last) together are within recordsPerFile and, estimated, FILL x the target. */
  private fits (first: number, last: number): boolean {
    const rows = this.seriesEnds[last - 1] - (first === 0 ? 0 : this.seriesEnds[first - 1])
    return rows <= this.maxRows && this.estimate(first, last) <= this.goalBytes
  }

  /** The end of the most series from `first`, ending at most at `limit`, that fit a file; at least one. */
  private cut (first: number, limit: number): number {
    let lo = first + 1 // fits, or is a series of its own
    let hi = limit
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (this.fits(first, mid)) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  /** Gathers the buffer's series [first, series) into the next file and hands it to the writers. */
  private async begin (first: number, series: number): Promise<void> {
    const index = this.accepted + this.pending.length
    const file = await this.write(index, first, series, this.options.segmentId(index))
    this.pending.push(file)
    this.begun.add(file.meta.file_name)
  }

  private async write (index: number, first: number, series: number, segmentId: bigint): Promise<Pending> {
    const start = first === 0 ? 0 : this.seriesEnds[first - 1]
    const end = this.seriesEnds[series - 1]
    const groupRows = rowGroupRows(end - start, this.estimate(first, series))
    const sink = this.writers.open(segmentFileName(segmentId), end - start, groupRows)
    let prepared: PreparedFile
    try {
      prepared = await prepareSegmentFile(this.rows, start, end, this.options.schema, segmentId, groupRows, this.options.inputs, values => sink.add(values))
    } catch (err) {
      sink.abort()
      throw err
    }
    const written = sink.finish()
    written.catch(() => {}) // a failure surfaces where it is awaited (accept), never as an unhandled rejection
    return { index, series, meta: prepared.meta, written }
  }

  /**
   * Waits for the oldest file in flight and measures it; past the target with more than one series,
   * writes it again (same name) with the series that fit by its own ratios, until it fits or holds
   * one series, and then begins the file after it again from its new end. Then takes the ratios of
   * all the files accepted so far, drops its rows from the buffer and delivers it after the files
   * before it.
   */
  private async accept (): Promise<void> {
    let file = this.pending[0]
    let written = await file.written
    this.learn(file, written)
    if (written.size > this.options.targetFileBytes && file.series > 1) {
      // the files begun after it start at its old end: they are begun again once it is shorter
      // (settled while still in `pending`, so that an abort meanwhile waits for them too; then
      // removed, so that no file of the wrong rows is left should the process die before its name
      // is written again)
      const later = this.pending.slice(1)
      await Promise.all(later.map(next => next.written.catch(() => {})))
      this.pending.length = 1
      await Promise.all(later.map(next => rm(join(this.options.outDir, next.meta.file_name), { force: true })))
      this.restarts += later.length
      do {
        file = this.pending[0] = await this.write(file.index, 0, this.cut(0, file.series - 1), file.meta.segment_id)
        this.rewrites++
        written = await file.written
        this.learn(file, written)
      } while (written.size > this.options.targetFileBytes && file.series > 1)
    }
    const base = GROUPS * (file.series - 1)
    for (let g = 0; g < GROUPS; g++) {
      this.acceptedBytes[g] += this.lastBytes[g]
      this.acceptedRaw[g] += this.seriesRaw[base + g]
      if (this.acceptedRaw[g] > 0) this.ratios[g] = this.acceptedBytes[g] / this.acceptedRaw[g]
    }
    this.pending.shift()
    this.accepted++
    this.drop(file.series)
    for (const next of this.pending) next.series -= file.series
    const meta: SegmentMeta = { ...file.meta, file_size: written.size }
    const previous = this.delivered
    this.delivered = (async () => {
      await previous
      this.files.push(meta)
      await this.options.onFile?.(meta)
    })()
    this.delivered.catch(() => {}) // a failure surfaces where delivered is awaited
  }

  /** Takes each group's ratio and the overhead's share from a file just written, from its column chunk sizes. */
  private learn (file: Pending, { size, chunkBytes: chunks }: WrittenFile): void {
    const bytes = this.lastBytes
    bytes.fill(0)
    let columns = 0
    for (let c = 0; c < chunks.length; c++) {
      bytes[this.groupOf[c]] += chunks[c]
      columns += chunks[c]
    }
    const base = GROUPS * (file.series - 1)
    for (let g = 0; g < GROUPS; g++) {
      const raw = this.seriesRaw[base + g]
      if (raw > 0) this.ratios[g] = bytes[g] / raw
    }
    if (columns > 0) this.overheadShare = Math.max(0, size - columns - this.fixedOverhead) / columns
  }

  /** Removes the buffer's first `series` series, written. */
  private drop (series: number): void {
    const n = this.seriesEnds[series - 1]
    const base = this.seriesRaw.slice(GROUPS * (series - 1), GROUPS * series)
    this.rows.dropPrefix(n)
    this.seriesEnds = this.seriesEnds.slice(series).map(end => end - n)
    this.seriesRaw = this.seriesRaw.slice(GROUPS * series).map((bytes, i) => bytes - base[i % GROUPS])
    this.scanned -= n
  }
}

/** The estimate group of an output column. */
function groupOf (name: string): number {
  if (name === SKETCH) return SKETCHES
  if (name === METRIC_NAME || name === TID) return SERIES
  if (name === TIMESTAMP || name === TSNS || (ROLLUP_COLUMNS as readonly string[]).includes(name)) return ROWS
  return CARRIED
}
