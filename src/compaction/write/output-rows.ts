// Output rows waiting to be written: one columnar buffer, filled group by group by the aggregator
// and emptied a file at a time by the writer. Carried columns are not copied here: each row keeps
// where its group's first input row is (input and row number), and the writer reads them from the
// inputs column by column. Nothing here keeps an input's batch alive.
import { ByteBuffer, copyBytes } from '../bytes.ts'
import { ROLLUP_COLUMNS } from '../schema.ts'
import type { SketchAccumulator } from '../ddsketch.ts'

const ROLLUPS = ROLLUP_COLUMNS.length
const INITIAL_ROWS = 16_384

/** A growable columnar buffer of output rows. */
export class OutputRows {
  count = 0
  names: string[] = new Array<string>(INITIAL_ROWS)
  /** Every row's sketch (merged, rebuilt, or its input row's, copied) lives in one arena, in row order: row i's is sketchArena.bytes[sketchStart[i], sketchEnd[i]). */
  readonly sketchArena = new ByteBuffer(1 << 20)
  sketchStart = new Int32Array(INITIAL_ROWS)
  sketchEnd = new Int32Array(INITIAL_ROWS)
  private pendingSketch = -1
  /** The first input row of each output row's group, for the carried columns: its input's index, and its row number there. */
  sourceSegments = new Int32Array(INITIAL_ROWS)
  sourceRows = new Int32Array(INITIAL_ROWS)
  /** chq_tid as [low, high] 32-bit words per row. */
  tidWords = new Int32Array(2 * INITIAL_ROWS)
  /** Bucket start in ms. */
  buckets = new Float64Array(INITIAL_ROWS)
  /** One array per ROLLUP_COLUMNS slot. */
  rollups: Float64Array[] = ROLLUP_COLUMNS.map(() => new Float64Array(INITIAL_ROWS))

  /** Encodes a sketch for the next pushed row into the arena. */
  encodeSketch (sketch: SketchAccumulator): void {
    const arena = this.sketchArena
    arena.ensure(sketch.encodedLength())
    this.pendingSketch = arena.length
    arena.length = sketch.encodeTo(arena.bytes, arena.length)
  }

  /** Copies an input row's sketch bytes, as they are, for the next pushed row. */
  copySketch (data: Uint8Array, start: number, end: number): void {
    const arena = this.sketchArena
    arena.ensure(end - start)
    this.pendingSketch = arena.length
    arena.length = copyBytes(arena.bytes, arena.length, data, start, end)
  }

  /** Appends a row with the sketch encoded or copied just before; its rollups are then written by index. Returns its index. */
  push (name: string, tidWords: Int32Array, tidRow: number, bucket: number, segment: number, sourceRow: number): number {
    const i = this.count
    if (i === this.buckets.length) this.grow()
    if (this.pendingSketch < 0) throw new Error('an output row without its sketch')
    this.names[i] = name
    this.sketchStart[i] = this.pendingSketch
    this.sketchEnd[i] = this.sketchArena.length
    this.pendingSketch = -1
    this.sourceSegments[i] = segment
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
    // the remaining rows' sketches are the arena's tail: move it to the front
    const base = n < this.count ? this.sketchStart[n] : this.sketchArena.length
    this.sketchArena.dropPrefix(base)
    for (let i = n; i < this.count; i++) {
      this.sketchStart[i] -= base
      this.sketchEnd[i] -= base
    }
    this.sketchStart.copyWithin(0, n, this.count)
    this.sketchEnd.copyWithin(0, n, this.count)
    moveToFront(this.names, n, this.count)
    this.sourceSegments.copyWithin(0, n, this.count)
    this.sourceRows.copyWithin(0, n, this.count)
    this.tidWords.copyWithin(0, 2 * n, 2 * this.count)
    this.buckets.copyWithin(0, n, this.count)
    for (const column of this.rollups) column.copyWithin(0, n, this.count)
    this.count = rest
  }

  private grow (): void {
    const capacity = this.buckets.length * 2
    this.names.length = capacity
    this.sourceSegments = resized(this.sourceSegments, capacity)
    this.sourceRows = resized(this.sourceRows, capacity)
    this.sketchStart = resized(this.sketchStart, capacity)
    this.sketchEnd = resized(this.sketchEnd, capacity)
    this.tidWords = resized(this.tidWords, 2 * capacity)
    this.buckets = resized(this.buckets, capacity)
    for (let r = 0; r < ROLLUPS; r++) this.rollups[r] = resized(this.rollups[r], capacity)
  }
}

/**
 * Array.prototype.copyWithin(0, from, end) for a plain array, as a loop: V8's builtin takes the
 * generic path on object arrays, about ten times slower (it was 4 % of a compaction's main thread).
 */
function moveToFront<T> (a: T[], from: number, end: number): void {
  for (let i = from; i < end; i++) a[i - from] = a[i]
}

function resized<T extends Int32Array | Float64Array> (a: T, capacity: number): T {
  const b = new (a.constructor as new (n: number) => T)(capacity)
  b.set(a)
  return b
}
