// Output rows waiting to be written: one columnar buffer, filled group by group by the aggregator
// and emptied a file at a time by the writer. Carried columns are not copied here: each row keeps
// a reference to its group's first input row, and the writer gathers from it column by column.
import { ROLLUP_COLUMNS } from './schema.ts'
import type { Batch } from './read.ts'

const ROLLUPS = ROLLUP_COLUMNS.length
const INITIAL_ROWS = 16_384

/** A growable columnar buffer of output rows. */
export class OutputRows {
  count = 0
  /** First row of the series (name, tid) being written; rows before it are complete series. */
  seriesStart = 0
  names: string[] = []
  /** A sketch made for the row (merged or rebuilt), or null: the group's first input row's sketch, as is. */
  sketches: Array<Uint8Array | null> = []
  /** The first input row of each output row's group, for the carried columns. */
  sources: Batch[] = []
  sourceRows = new Int32Array(INITIAL_ROWS)
  /** chq_tid as [low, high] 32-bit words per row. */
  tidWords = new Int32Array(2 * INITIAL_ROWS)
  /** Bucket start in ms. */
  buckets = new Float64Array(INITIAL_ROWS)
  /** One array per ROLLUP_COLUMNS slot. */
  rollups: Float64Array[] = ROLLUP_COLUMNS.map(() => new Float64Array(INITIAL_ROWS))

  /** Appends a row; its rollups are then written with setRollup. Returns its index. */
  push (name: string, tidWords: Int32Array, tidRow: number, bucket: number, sketch: Uint8Array | null, source: Batch, sourceRow: number): number {
    const i = this.count
    if (i === this.buckets.length) this.grow()
    this.names.push(name)
    this.sketches.push(sketch)
    this.sources.push(source)
    this.sourceRows[i] = sourceRow
    this.tidWords[2 * i] = tidWords[2 * tidRow]
    this.tidWords[2 * i + 1] = tidWords[2 * tidRow + 1]
    this.buckets[i] = bucket
    this.count = i + 1
    return i
  }

  /** Removes rows [0, n) once written, moving the rest to the front. */
  dropPrefix (n: number): void {
    const rest = this.count - n
    this.names.splice(0, n)
    this.sketches.splice(0, n)
    this.sources.splice(0, n)
    this.sourceRows.copyWithin(0, n, this.count)
    this.tidWords.copyWithin(0, 2 * n, 2 * this.count)
    this.buckets.copyWithin(0, n, this.count)
    for (const column of this.rollups) column.copyWithin(0, n, this.count)
    this.count = rest
    this.seriesStart = Math.max(0, this.seriesStart - n)
  }

  private grow (): void {
    const capacity = this.buckets.length * 2
    this.sourceRows = resized(this.sourceRows, capacity)
    this.tidWords = resized(this.tidWords, 2 * capacity)
    this.buckets = resized(this.buckets, capacity)
    for (let r = 0; r < ROLLUPS; r++) this.rollups[r] = resized(this.rollups[r], capacity)
  }
}

function resized<T extends Int32Array | Float64Array> (a: T, capacity: number): T {
  const b = new (a.constructor as new (n: number) => T)(capacity)
  b.set(a)
  return b
}
