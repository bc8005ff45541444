// K-way merge of the inputs on the sort key (metric_name in UTF-8 byte order, chq_tid and
// chq_timestamp as signed 64-bit integers). Inputs that claim to be sorted but are not are found by
// a key-only pre-scan and sorted in memory before they join the merge.
import type { MemoryAccount } from '../account.ts'
import { readBatch, readKeys, USABLE, type Batch, type KeyColumns } from '../read/batch-reader.ts'
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

/** Sorts a whole-segment batch: the usable rows' positions in sort-key order (stable). */
export function sortOrder (batch: KeyColumns): Int32Array {
  let n = 0
  for (let i = 0; i < batch.length; i++) if (batch.status[i] === USABLE) n++
  const order = new Int32Array(n)
  n = 0
  for (let i = 0; i < batch.length; i++) if (batch.status[i] === USABLE) order[n++] = i
  return order.sort((i, j) => compareKeys(batch, i, batch, j) || i - j)
}

/**
 * Where a segment's rows come from next: a sorted segment's batches in order (WindowReader: no
 * carried columns, the writer reads those), or an unsorted one read whole with its carried columns
 * (`carry`) and sorted.
 */
export class SegmentCursor {
  readonly segment: Segment
  batch: Batch | null = null
  /** The current usable row of `batch`. */
  row = -1
  private order: Int32Array | null = null
  private pos = -1
  private nextGroup = 0
  private windows: WindowReader | null = null
  private readonly carry: readonly string[]
  private readonly asText: ReadonlySet<string>
  private readonly sorted: boolean
  private readonly account: MemoryAccount
  private readonly onBatch: (batch: Batch) => void

  /** `asText`: the carried columns written as strings (see readBatch). */
  constructor (segment: Segment, sorted: boolean, carry: readonly string[], account: MemoryAccount, onBatch: (batch: Batch) => void,
    asText: ReadonlySet<string> = new Set()) {
    this.segment = segment
    this.sorted = sorted
    this.carry = carry
    this.asText = asText
    this.account = account
    this.onBatch = onBatch
  }

  /** Moves to the next usable row within the current batch; false when the batch is used up. */
  step (): boolean {
    const batch = this.batch
    if (!batch) return false
    if (this.order) {
      if (++this.pos >= this.order.length) return false
      this.row = this.order[this.pos]
      return true
    }
    const status = batch.status
    let r = this.row + 1
    while (r < batch.length && status[r] !== USABLE) r++
    this.row = r
    return r < batch.length
  }

  /** Gives back what the cursor's reader holds (the batches themselves are released as they are collected). */
  close (): void {
    this.windows?.close()
  }

  /** Loads batches until one has a usable row; false when the segment is exhausted. */
  async load (): Promise<boolean> {
    for (;;) {
      this.batch = null
      const groups = this.segment.rowGroups.length
      if (this.sorted) {
        this.windows ??= new WindowReader(this.segment, this.account)
        this.batch = await this.windows.next()
        if (this.batch === null) return false
      } else {
        if (this.nextGroup >= groups) return false
        // an unsorted segment is read whole and sorted in memory: charged whole, its sort order too
        this.nextGroup = groups
        this.batch = await readBatch(this.segment, 0, groups - 1, this.carry, this.account, this.asText)
        this.account.charge(4 * this.batch.length, this.segment.label)
        this.account.hold(this.batch, 4 * this.batch.length)
        this.order = sortOrder(this.batch)
      }
      this.onBatch(this.batch)
      this.row = -1
      this.pos = -1
      if (this.step()) return true
    }
  }
}

/** A binary min-heap of cursors ordered by their current row; ties go to the input listed first. */
export class CursorHeap {
  private readonly items: SegmentCursor[] = []

  get size (): number { return this.items.length }
  top (): SegmentCursor { return this.items[0] }

  push (cursor: SegmentCursor): void {
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

function less (a: SegmentCursor, b: SegmentCursor): boolean {
  const c = compareKeys(a.batch!, a.row, b.batch!, b.row)
  return c < 0 || (c === 0 && a.segment.index < b.segment.index)
}
