// Bucket truncation and group merge (docs/DOMAIN.md section 4): consecutive rows, in sort order, with
// equal (metric_name, chq_tid, bucket) become one output row. The first row supplies the other
// columns; sketches are merged only for groups of two or more; count/sum/min/max merge exactly.
import { SketchAccumulator } from '../ddsketch.ts'
import { bucketOf } from '../time.ts'
import type { Batch } from '../read/batch-reader.ts'
import type { OutputRows } from '../write/output-rows.ts'
import {
  PERCENTILES, ROLLUP_AVG, ROLLUP_COLUMNS, ROLLUP_COUNT, ROLLUP_FIRST_PERCENTILE, ROLLUP_MAX, ROLLUP_MIN, ROLLUP_SUM,
} from '../schema.ts'

/** Counters the aggregation keeps for the report. */
export interface AggregateStats {
  rowsAggregated: number
  rowsOutsideDateint: number
  sketchMerges: number
}

const ROLLUPS = ROLLUP_COLUMNS.length
const EXACT_SLOTS = [ROLLUP_COUNT, ROLLUP_SUM, ROLLUP_MIN, ROLLUP_MAX] as const

/** Folds rows, fed in sort order, into output rows. */
export class Aggregator {
  readonly stats: AggregateStats = { rowsAggregated: 0, rowsOutsideDateint: 0, sketchMerges: 0 }

  private readonly periodMs: number
  private readonly day: [number, number] | null
  private readonly out: OutputRows
  private readonly merged = new SketchAccumulator()
  private readonly scratch = new SketchAccumulator()
  private readonly memberStats = new Float64Array(ROLLUPS)
  private readonly rollupScratch = new Float64Array(ROLLUPS)
  /** The rollups of the output row being closed, in ROLLUP_COLUMNS order. */
  private readonly rowRollups = new Float64Array(ROLLUPS)

  // The open group: its first row, bucket and exact statistics so far.
  private first: Batch | null = null
  private firstRow = -1
  private bucket = 0
  private members = 0
  private count = 0
  private sum = 0
  private min = 0
  private max = 0

  constructor (periodMs: number, out: OutputRows, dateint: [number, number] | null) {
    this.periodMs = periodMs
    this.out = out
    this.day = dateint
  }

  /**
   * Adds one usable row; closes the open group first when the row starts another. Returns true when
   * the row starts a new (name, tid) series: every output row before it then belongs to a complete series.
   */
  add (batch: Batch, row: number): boolean {
    const bucket = bucketOf(batch.ts[row], this.periodMs)
    this.stats.rowsAggregated++
    if (this.day && (bucket < this.day[0] || bucket >= this.day[1])) this.stats.rowsOutsideDateint++
    const first = this.first
    if (first !== null) {
      const sameSeries = first.tidWords[2 * this.firstRow] === batch.tidWords[2 * row] &&
        first.tidWords[2 * this.firstRow + 1] === batch.tidWords[2 * row + 1] &&
        first.names[this.firstRow] === batch.names[row]
      if (sameSeries && bucket === this.bucket) {
        this.addMember(batch, row)
        return false
      }
      this.closeGroup()
      this.open(batch, row, bucket)
      return !sameSeries
    }
    this.open(batch, row, bucket)
    return false
  }

  private open (batch: Batch, row: number, bucket: number): void {
    this.first = batch
    this.firstRow = row
    this.bucket = bucket
    this.members = 1
  }

  /** Closes the last open group. */
  finish (): void {
    if (this.first !== null) this.closeGroup()
    this.first = null
  }

  private addMember (batch: Batch, row: number): void {
    if (this.members === 1) {
      this.merged.reset()
      this.mergeSketch(this.first!, this.firstRow)
      this.exactStats(this.first!, this.firstRow)
      this.count = this.memberStats[ROLLUP_COUNT]
      this.sum = this.memberStats[ROLLUP_SUM]
      this.min = this.memberStats[ROLLUP_MIN]
      this.max = this.memberStats[ROLLUP_MAX]
    }
    this.mergeSketch(batch, row)
    this.exactStats(batch, row)
    this.count += this.memberStats[ROLLUP_COUNT]
    this.sum += this.memberStats[ROLLUP_SUM]
    if (this.memberStats[ROLLUP_MIN] < this.min) this.min = this.memberStats[ROLLUP_MIN]
    if (this.memberStats[ROLLUP_MAX] > this.max) this.max = this.memberStats[ROLLUP_MAX]
    this.members++
    this.stats.sketchMerges++
  }

  private mergeSketch (batch: Batch, row: number): void {
    const start = batch.sketchOffsets[row]
    const end = batch.sketchOffsets[row + 1]
    if (end > start) this.merged.addEncoded(batch.sketchData, start, end)
    else this.merged.addValue(batch.rollups[ROLLUP_SUM][row])
  }

  /** count, sum, min and max of one input row into memberStats: its rollups, or its sketch where they are absent. */
  private exactStats (batch: Batch, row: number): void {
    const stats = this.memberStats
    if (batch.sketchOffsets[row + 1] === batch.sketchOffsets[row]) {
      const v = batch.rollups[ROLLUP_SUM][row]
      stats[ROLLUP_COUNT] = 1
      stats[ROLLUP_SUM] = v
      stats[ROLLUP_MIN] = v
      stats[ROLLUP_MAX] = v
      return
    }
    let computed = false
    for (let k = 0; k < EXACT_SLOTS.length; k++) {
      const r = EXACT_SLOTS[k]
      if (batch.rollupPresent[r][row] === 1) stats[r] = batch.rollups[r][row]
      else {
        if (!computed) this.rollupsFromSketch(batch, row)
        computed = true
        stats[r] = this.rollupScratch[r]
      }
    }
  }

  private rollupsFromSketch (batch: Batch, row: number): void {
    this.scratch.reset()
    this.scratch.addEncoded(batch.sketchData, batch.sketchOffsets[row], batch.sketchOffsets[row + 1])
    this.scratch.rollups(this.rollupScratch)
  }

  private closeGroup (): void {
    const batch = this.first!
    const row = this.firstRow
    const rebuilt = batch.sketchOffsets[row + 1] === batch.sketchOffsets[row]
    const out = this.out
    const r = this.rowRollups
    if (this.members > 1) {
      out.encodeSketch(this.merged)
      r[ROLLUP_COUNT] = this.count
      r[ROLLUP_SUM] = this.sum
      r[ROLLUP_AVG] = this.sum / this.count
      r[ROLLUP_MIN] = this.min
      r[ROLLUP_MAX] = this.max
      for (let p = 0; p < PERCENTILES.length; p++) r[ROLLUP_FIRST_PERCENTILE + p] = this.merged.quantile(PERCENTILES[p])
    } else if (rebuilt) {
      const v = batch.rollups[ROLLUP_SUM][row]
      this.scratch.reset()
      this.scratch.addValue(v)
      out.encodeSketch(this.scratch)
      r.fill(v)
      r[ROLLUP_COUNT] = 1
    } else {
      out.copySketch(batch.sketchData, batch.sketchOffsets[row], batch.sketchOffsets[row + 1])
      let computed = false
      for (let k = 0; k < ROLLUPS; k++) {
        if (batch.rollupPresent[k][row] === 1) r[k] = batch.rollups[k][row]
        else {
          if (!computed) this.rollupsFromSketch(batch, row)
          computed = true
          r[k] = this.rollupScratch[k]
        }
      }
    }
    out.push(batch.names[row]!, batch.tidWords, row, this.bucket, batch.segment, batch.start + row, r)
    this.first = null
  }
}
