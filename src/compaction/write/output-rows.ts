// Output rows waiting to be written: columnar blocks of BLOCK_ROWS rows, filled group by group by
// the aggregator and emptied a file at a time by the writer. Carried columns are not copied here:
// each row keeps where its group's first input row is (input and row number), and the writer reads
// them from the inputs column by column. Nothing here keeps an input's batch alive.
//
// Blocks, not one growable array per column: rows are never copied as the buffer grows or as
// written rows are dropped (a block goes once all its rows are written), and the memory is the
// rows held, rounded up to a block, not up to the next power of two. A file of 753 168 rows
// (bench `real-wide`) held 1 048 576 rows of arrays, and 1.5 times that while they were copied to
// grow.
//
// A row's eleven rollups take 88 bytes, most of a row; but a row of count 1 whose statistics are
// all its one value (a single point: 93 % of `real-wide`'s output rows, 71 % of `wide`'s) keeps
// that value alone, and only the others keep all eleven, in their block's side table
// (BENCHMARKS.md, "Compile cache, output rows in blocks...").
import { ByteBuffer, copyBytes } from '../bytes.ts'
import { ROLLUP_COLUMNS, ROLLUP_COUNT, ROLLUP_SUM } from '../schema.ts'
import type { SketchAccumulator } from '../ddsketch.ts'

const ROLLUPS = ROLLUP_COLUMNS.length
/** `full` of a row whose rollups are all its one value, of count 1. */
const SINGLE = -1
const BLOCK_SHIFT = 15
/** Rows per block: 32 768 rows of 48 bytes each, besides their sketches and the side table's 88 bytes a row. */
export const BLOCK_ROWS = 1 << BLOCK_SHIFT
const BLOCK_MASK = BLOCK_ROWS - 1
/** The first block's capacity: a small compaction does not allocate a whole block. */
const FIRST_ROWS = 4096
/** The first block's sketch arena; later blocks start at the size the block before them took. */
const FIRST_ARENA_BYTES = 1 << 16

/** BLOCK_ROWS rows (fewer while the first is still growing), column by column. */
class Block {
  names: string[]
  /** Row j's sketch is arena.bytes[j === 0 ? 0 : sketchEnd[j - 1], sketchEnd[j]): rows' sketches are in row order. */
  readonly arena: ByteBuffer
  sketchEnd: Int32Array
  /** The first input row of each row's group, for the carried columns: its input's index, and its row number there. */
  sourceSegments: Int32Array
  sourceRows: Int32Array
  /** chq_tid as [low, high] 32-bit words per row. */
  tidWords: Int32Array
  /** Bucket start in ms. */
  buckets: Float64Array
  /** Per row: where its rollups are in `side` (ROLLUPS values from ROLLUPS x full[j]), or SINGLE: count 1, every other rollup single[j]. */
  full: Int32Array
  single: Float64Array
  /** The rollups of the rows that are not SINGLE, ROLLUPS values each, in row order. */
  side: Float64Array
  sideRows = 0

  constructor (rows: number, arenaBytes: number, sideRows: number) {
    this.names = new Array<string>(rows)
    this.arena = new ByteBuffer(arenaBytes)
    this.sketchEnd = new Int32Array(rows)
    this.sourceSegments = new Int32Array(rows)
    this.sourceRows = new Int32Array(rows)
    this.tidWords = new Int32Array(2 * rows)
    this.buckets = new Float64Array(rows)
    this.full = new Int32Array(rows)
    this.single = new Float64Array(rows)
    this.side = new Float64Array(ROLLUPS * Math.max(1, sideRows))
  }

  /** Row j's rollup slot r. */
  rollup (j: number, r: number): number {
    const at = this.full[j]
    if (at === SINGLE) return r === ROLLUP_COUNT ? 1 : this.single[j]
    return this.side[ROLLUPS * at + r]
  }

  /** Stores row j's rollups: its value alone when they are a single point's, else all of them in `side`. */
  setRollups (j: number, rollups: Float64Array): void {
    const v = rollups[ROLLUP_SUM]
    let single = rollups[ROLLUP_COUNT] === 1
    for (let r = 0; r < ROLLUPS && single; r++) single = r === ROLLUP_COUNT || Object.is(rollups[r], v)
    if (single) {
      this.full[j] = SINGLE
      this.single[j] = v
      return
    }
    if (ROLLUPS * (this.sideRows + 1) > this.side.length) {
      const side = new Float64Array(Math.min(2 * this.side.length, ROLLUPS * BLOCK_ROWS))
      side.set(this.side)
      this.side = side
    }
    this.side.set(rollups, ROLLUPS * this.sideRows)
    this.full[j] = this.sideRows++
  }

  get capacity (): number {
    return this.buckets.length
  }

  /**
   * Once full: its sketch arena and side table shrink to what they hold (they grow by doubling),
   * so that a full block takes its rows' bytes and no more.
   */
  seal (): void {
    const arena = this.arena
    if (arena.bytes.length > arena.length) arena.bytes = arena.bytes.slice(0, arena.length)
    if (this.side.length > ROLLUPS * this.sideRows) this.side = this.side.slice(0, ROLLUPS * Math.max(1, this.sideRows))
  }

  /** Grows a block that holds fewer than BLOCK_ROWS rows to twice its capacity (at most BLOCK_ROWS). */
  grow (): void {
    const rows = Math.min(BLOCK_ROWS, 2 * this.capacity)
    this.names.length = rows
    this.sketchEnd = resized(this.sketchEnd, rows)
    this.sourceSegments = resized(this.sourceSegments, rows)
    this.sourceRows = resized(this.sourceRows, rows)
    this.tidWords = resized(this.tidWords, 2 * rows)
    this.buckets = resized(this.buckets, rows)
    this.full = resized(this.full, rows)
    this.single = resized(this.single, rows)
  }
}

/**
 * The output rows buffered, numbered from 0 (the oldest not yet dropped). Rows are appended by
 * push (after their sketch), and read back by index or by ranges.
 */
export class OutputRows {
  count = 0
  private blocks: Block[] = [new Block(FIRST_ROWS, FIRST_ARENA_BYTES, FIRST_ROWS / 8)]
  /** Row 0's place in blocks[0]. */
  private first = 0
  /** Whether a sketch was encoded or copied for the next row. */
  private pendingSketch = false

  /** Encodes a sketch for the next pushed row. */
  encodeSketch (sketch: SketchAccumulator): void {
    if (this.pendingSketch) throw new Error('a sketch without its output row')
    const arena = this.tail().arena
    arena.ensure(sketch.encodedLength())
    arena.length = sketch.encodeTo(arena.bytes, arena.length)
    this.pendingSketch = true
  }

  /** Copies an input row's sketch bytes, as they are, for the next pushed row. */
  copySketch (data: Uint8Array, start: number, end: number): void {
    if (this.pendingSketch) throw new Error('a sketch without its output row')
    const arena = this.tail().arena
    arena.ensure(end - start)
    arena.length = copyBytes(arena.bytes, arena.length, data, start, end)
    this.pendingSketch = true
  }

  /** Appends a row with the sketch encoded or copied just before, and its rollups in ROLLUP_COLUMNS order. */
  push (name: string, tidWords: Int32Array, tidRow: number, bucket: number, segment: number, sourceRow: number, rollups: Float64Array): void {
    if (!this.pendingSketch) throw new Error('an output row without its sketch')
    this.pendingSketch = false
    const block = this.tail()
    const j = (this.first + this.count) & BLOCK_MASK
    block.names[j] = name
    block.sketchEnd[j] = block.arena.length
    block.sourceSegments[j] = segment
    block.sourceRows[j] = sourceRow
    block.tidWords[2 * j] = tidWords[2 * tidRow]
    block.tidWords[2 * j + 1] = tidWords[2 * tidRow + 1]
    block.buckets[j] = bucket
    block.setRollups(j, rollups)
    this.count++
  }

  /** Bytes the buffer's arrays take (the names' strings apart: pointers only). */
  heldBytes (): number {
    let bytes = 0
    for (const block of this.blocks) {
      bytes += 8 * block.names.length + block.arena.bytes.byteLength + block.sketchEnd.byteLength + block.sourceSegments.byteLength +
        block.sourceRows.byteLength + block.tidWords.byteLength + block.buckets.byteLength + block.full.byteLength + block.single.byteLength + block.side.byteLength
    }
    return bytes
  }

  /** Row i's metric name. */
  name (i: number): string {
    const p = this.first + i
    return this.blocks[p >>> BLOCK_SHIFT].names[p & BLOCK_MASK]
  }

  /** Row i's bucket start in ms. */
  bucket (i: number): number {
    const p = this.first + i
    return this.blocks[p >>> BLOCK_SHIFT].buckets[p & BLOCK_MASK]
  }

  /** Row i's rollup count. */
  rollupCount (i: number): number {
    const p = this.first + i
    return this.blocks[p >>> BLOCK_SHIFT].rollup(p & BLOCK_MASK, ROLLUP_COUNT)
  }

  /** The input row i's group began with: its input's index. */
  sourceSegment (i: number): number {
    const p = this.first + i
    return this.blocks[p >>> BLOCK_SHIFT].sourceSegments[p & BLOCK_MASK]
  }

  /** The input row i's group began with: its row number there. */
  sourceRow (i: number): number {
    const p = this.first + i
    return this.blocks[p >>> BLOCK_SHIFT].sourceRows[p & BLOCK_MASK]
  }

  /** The length in bytes of row i's sketch. */
  sketchLength (i: number): number {
    const p = this.first + i
    const block = this.blocks[p >>> BLOCK_SHIFT]
    const j = p & BLOCK_MASK
    return block.sketchEnd[j] - (j === 0 ? 0 : block.sketchEnd[j - 1])
  }

  /** Rows [s, s + n) of rollup slot r, copied. */
  rollupColumn (r: number, s: number, n: number): Float64Array {
    const out = new Float64Array(n)
    this.ranges(s, n, (block, j, k, at) => {
      for (let i = 0; i < k; i++) out[at + i] = block.rollup(j + i, r)
    })
    return out
  }

  /** Rows [s, s + n) of the bucket starts, copied. */
  bucketColumn (s: number, n: number): Float64Array {
    const out = new Float64Array(n)
    this.ranges(s, n, (block, j, k, at) => out.set(block.buckets.subarray(j, j + k), at))
    return out
  }

  /** Rows [s, s + n) of chq_tid, copied. */
  tidColumn (s: number, n: number): BigInt64Array {
    const words = new Int32Array(2 * n)
    this.ranges(s, n, (block, j, k, at) => words.set(block.tidWords.subarray(2 * j, 2 * (j + k)), 2 * at))
    return new BigInt64Array(words.buffer)
  }

  /** Rows [s, s + n) of the sketches, copied into one buffer: row i's is data[offsets[i], offsets[i + 1]). */
  sketchColumn (s: number, n: number): { data: Uint8Array, offsets: Int32Array } {
    const offsets = new Int32Array(n + 1)
    this.ranges(s, n, (block, j, k, at) => {
      const base = (j === 0 ? 0 : block.sketchEnd[j - 1]) - offsets[at]
      for (let i = 0; i < k; i++) offsets[at + i + 1] = block.sketchEnd[j + i] - base
    })
    const data = new Uint8Array(offsets[n])
    this.ranges(s, n, (block, j, k, at) => {
      const start = j === 0 ? 0 : block.sketchEnd[j - 1]
      data.set(block.arena.bytes.subarray(start, block.sketchEnd[j + k - 1]), offsets[at])
    })
    return { data, offsets }
  }

  /** Removes rows [0, n) once written: the blocks they filled go. */
  dropPrefix (n: number): void {
    if (n < 0 || n > this.count) throw new Error(`dropping ${n} of ${this.count} output rows`)
    this.first += n
    this.count -= n
    const whole = Math.min(this.first >>> BLOCK_SHIFT, this.blocks.length - 1)
    if (whole > 0) {
      this.blocks = this.blocks.slice(whole)
      this.first -= whole << BLOCK_SHIFT
    }
  }

  /** Calls f for each block's part of rows [s, s + n): the block, the part's first row in it, its length, and its place in the range. */
  private ranges (s: number, n: number, f: (block: Block, j: number, k: number, at: number) => void): void {
    if (s < 0 || n < 0 || s + n > this.count) throw new Error(`output rows [${s}, ${s + n}) of ${this.count}`)
    for (let at = 0; at < n;) {
      const p = this.first + s + at
      const j = p & BLOCK_MASK
      const k = Math.min(n - at, BLOCK_ROWS - j)
      f(this.blocks[p >>> BLOCK_SHIFT], j, k, at)
      at += k
    }
  }

  /** The block the next row goes in: grown, or a new one after a full block. */
  private tail (): Block {
    const p = this.first + this.count
    const b = p >>> BLOCK_SHIFT
    if (b === this.blocks.length) {
      const previous = this.blocks[b - 1]
      previous.seal()
      this.blocks.push(new Block(BLOCK_ROWS, Math.max(FIRST_ARENA_BYTES, previous.arena.length), previous.sideRows))
    }
    const block = this.blocks[b]
    if ((p & BLOCK_MASK) === block.capacity) block.grow()
    return block
  }
}

function resized<T extends Int32Array | Float64Array> (a: T, capacity: number): T {
  const b = new (a.constructor as new (n: number) => T)(capacity)
  b.set(a)
  return b
}
