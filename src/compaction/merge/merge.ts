// K-way merge of the inputs on the sort key (metric_name in UTF-8 byte order, chq_tid and
// chq_timestamp as signed 64-bit integers). Inputs that are not in that order are found by a
// key-only pre-scan (isSorted) and join the merge as sorted runs (merge/runs.ts).
import type { MemoryAccount } from '../account.ts'
import { readKeys, USABLE, type Batch, type KeyColumns } from '../read/batch-reader.ts'
import { WindowReader } from '../read/input-columns.ts'
import { compareUtf8 } from '../schema.ts'
import type { Segment } from '../read/segment.ts'

/** Compares row i of a with row j of b by the sort key; both rows must be usable. */
export function compareKeys (a: KeyColumns, i: number, b: KeyColumns, j: number): number {
  const na = a.names[i]!
  const nb = b.names[j]!
  if (na !== nb) return compareUtf8(na, nb)
  const ha = a.tidWords[2 * i + 1]
  const hb = b.tidWords[2 * j + 1]
  if (ha !== hb) return ha < hb ? -1 : 1
  const la = a.tidWords[2 * i] >>> 0
  const lb = b.tidWords[2 * j] >>> 0
  if (la !== lb) return la < lb ? -1 : 1
  const ta = a.ts[i]
  const tb = b.ts[j]
  return ta < tb ? -1 : ta > tb ? 1 : 0
}

/** Reads a segment's key columns group by group; true when its usable rows are in sort-key order. */
export async function isSorted (segment: Segment, account: MemoryAccount): Promise<boolean> {
  let prev: KeyColumns | null = null
  let prevRow = -1
  for (let g = 0; g < segment.rowGroups.length; g++) {
    const keys = await readKeys(segment, g, account)
    for (let i = 0; i < keys.length; i++) {
      if (keys.status[i] !== USABLE) continue
      if (prev && compareKeys(prev, prevRow, keys, i) > 0) return false
      prev = keys
      prevRow = i
    }
  }
  return true
}

/** The usable rows of a batch in sort-key order (stable). */
export function sortOrder (batch: KeyColumns): Int32Array {
  let n = 0
  for (let i = 0; i < batch.length; i++) if (batch.status[i] === USABLE) n++
  const order = new Int32Array(n)
  n = 0
  for (let i = 0; i < batch.length; i++) if (batch.status[i] === USABLE) order[n++] = i
  return order.sort((i, j) => compareKeys(batch, i, batch, j) || i - j)
}

/** Where an input's rows come from next, in sort order. Equal keys go to the input listed first, then to its first run. */
export interface Cursor {
  /** The input the rows are from, and the run among its runs (0 for an input in order). */
  readonly input: number
  readonly run: number
  batch: Batch | null
  /** The current usable row of `batch`. */
  row: number
  /** Moves to the next usable row within the current batch; false when the batch is used up. */
  step (): boolean
  /** Loads batches until one has a usable row; false when the rows are exhausted. */
  load (): Promise<boolean>
  close (): void
}

/**
 * The rows of a segment in sort order, batch by batch (WindowReader: no carried columns, the
 * writer reads those): an input, or a run of an input out of order (merge/runs.ts).
 */
export class SegmentCursor implements Cursor {
  readonly segment: Segment
  /** The input the rows are from, and the run among its runs (0 for an input in order). */
  readonly input: number
  readonly run: number
  batch: Batch | null = null
  /** The current usable row of `batch`. */
  row = -1
  private readonly windows: WindowReader
  private readonly onBatch: (batch: Batch) => void

  /** `windowRows`: rows per batch at most (default WINDOW_ROWS). */
  constructor (segment: Segment, input: number, run: number, account: MemoryAccount, onBatch: (batch: Batch) => void, windowRows?: number) {
    this.segment = segment
    this.input = input
    this.run = run
    this.windows = new WindowReader(segment, account, windowRows)
    this.onBatch = onBatch
  }

  /** Moves to the next usable row within the current batch; false when the batch is used up. */
  step (): boolean {
    const batch = this.batch
    if (!batch) return false
    const status = batch.status
    let r = this.row + 1
    while (r < batch.length && status[r] !== USABLE) r++
    this.row = r
    return r < batch.length
  }

  /** Gives back what the cursor's reader holds. */
  close (): void {
    this.windows.close()
  }

  /** Loads batches until one has a usable row; false when the segment is exhausted. */
  async load (): Promise<boolean> {
    for (;;) {
      this.batch = await this.windows.next()
      if (this.batch === null) return false
      this.onBatch(this.batch)
      this.row = -1
      if (this.step()) return true
    }
  }
}

/** An input out of order sorted in memory (merge/runs.ts): its one batch, in the order of its usable rows. */
export class SortedBatchCursor implements Cursor {
  readonly input: number
  readonly run = 0
  batch: Batch | null = null
  row = -1
  private readonly whole: Batch
  private readonly order: Int32Array
  private pos = -1
  private loaded = false

  constructor (batch: Batch, order: Int32Array) {
    this.whole = batch
    this.order = order
    this.input = batch.segment
  }

  step (): boolean {
    if (++this.pos >= this.order.length) return false
    this.row = this.order[this.pos]
    return true
  }

  async load (): Promise<boolean> {
    this.batch = null
    if (this.loaded) return false
    this.loaded = true
    this.batch = this.whole
    return this.step()
  }

  close (): void {}
}

/** A binary min-heap of cursors ordered by their current row; ties go to the input listed first, then to its first run. */
export class CursorHeap {
  private readonly items: Cursor[] = []

  get size (): number { return this.items.length }
  top (): Cursor { return this.items[0] }

  push (cursor: Cursor): void {
    const items = this.items
    items.push(cursor)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (less(items[parent], items[i])) break
      ;[items[parent], items[i]] = [items[i], items[parent]]
      i = parent
    }
  }

  /** Restores order after the top cursor moved on. */
  siftTop (): void {
    const items = this.items
    const n = items.length
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) return
      const r = l + 1
      const m = r < n && less(items[r], items[l]) ? r : l
      if (less(items[i], items[m])) return
      const t = items[i]
      items[i] = items[m]
      items[m] = t
      i = m
    }
  }

  /** Removes the top cursor (its segment is exhausted). */
  popTop (): void {
    const last = this.items.pop()!
    if (this.items.length > 0) {
      this.items[0] = last
      this.siftTop()
    }
  }
}

function less (a: Cursor, b: Cursor): boolean {
  const c = compareKeys(a.batch!, a.row, b.batch!, b.row)
  return c < 0 || (c === 0 && (a.input < b.input || (a.input === b.input && a.run < b.run)))
}
