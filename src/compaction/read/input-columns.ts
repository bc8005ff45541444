// The inputs read by row ranges, page by page: `SegmentColumns` reads any of a segment's columns
// forward over its row groups through ChunkCursors that hold only their pages; `WindowReader`
// gives the merge a sorted input's batches of key, sketch and rollup columns; `InputColumns` gives
// the writer the carried columns of each file's rows and counts replaced_utf8 as it goes. So memory
// follows the inputs, the columns and their pages, not the row groups their writer chose.
import { asCompactorError } from '../../errors.ts'
import { Tab, type MemoryAccount } from '../account.ts'
import { ChunkCursor, UnsupportedChunk, checkForGeneralReader, emptyColumn, sliceColumn, type DecodedColumn } from './chunk-reader.ts'
import {
  KEY_COLUMNS, MAX_READ_GAP, VALUE_BYTES, coalesce, concatBytes, concatColumns, invalidUtf8Values, readGeneral, textColumn, toBatch,
  type Batch, type CarriedColumn,
} from './batch-reader.ts'
import { isText } from '../parquet.ts'
import type { Segment, SourceColumn } from './segment.ts'

/** Bytes one read of SegmentColumns spans at most: a chunk, and the wanted chunks after it that fit. */
const READ_AHEAD_BYTES = 1024 * 1024

/**
 * Rows per batch read from a sorted segment (WindowReader). Memory then follows the inputs, the
 * columns and their pages, not the row groups their writer chose: a batch of a 59 152-row group
 * of the real segments decoded whole took 17 MB.
 */
export const WINDOW_ROWS = 8192

/** One physical column of a segment as SegmentColumns reads it: its row group, and its cursor there (or, past a layout the cursor does not read, the general reader's values from group row `generalFrom`). */
interface PhysicalColumn {
  group: number
  /** The group's rows before this one are read (or skipped). */
  row: number
  cursor: ChunkCursor | null
  general: DecodedColumn | null
  generalFrom: number
}

/**
 * The columns of one segment read forward by row ranges, over its row groups: each physical column
 * through a ChunkCursor on its current chunk, which holds only its page (and dictionary). A range
 * that starts before the last one ended begins the column again (rare: a file written again). A
 * chunk the cursor does not read is left to the general reader (hyparquet), checked first, from
 * the row where the cursor gave up, as readBatch does.
 */
export class SegmentColumns {
  readonly segment: Segment
  private readonly account: MemoryAccount
  private readonly physical = new Map<string, PhysicalColumn>()
  /** The leaf indexes of the columns it reads. */
  private readonly wanted: ReadonlySet<number>
  /** Chunks read along with another one's, waiting for their column's cursor: by physical name, their row group and bytes (charged). */
  private readonly ahead = new Map<string, { group: number, bytes: Uint8Array }>()
  /** The wanted leaves of one row group in file order (the last group asked for). */
  private order: { group: number, leaves: number[] } | null = null

  /** The segment's columns `names` (current names) are read. */
  constructor (segment: Segment, account: MemoryAccount, names: readonly string[]) {
    this.segment = segment
    this.account = account
    const wanted = new Set<number>()
    for (const name of names) for (const source of segment.columns.get(name) ?? []) wanted.add(segment.columnIndex.get(source.physical)!)
    this.wanted = wanted
  }

  /** Segment rows [start, end) of a column by its current name (its physical columns coalesced); null when the segment has none. Charged to `tab`. */
  async read (name: string, start: number, end: number, tab: Tab): Promise<CarriedColumn | null> {
    const physical = this.segment.columns.get(name)
    if (!physical) return null
    const decoded: DecodedColumn[] = []
    for (const source of physical) decoded.push(await this.readPhysical(source, start, end, tab))
    return decoded.length === 1 ? { type: physical[0].type, column: decoded[0] } : coalesce(physical, decoded, tab)
  }

  /** Gives back what every cursor holds, and the chunks read ahead. */
  close (): void {
    for (const column of this.physical.values()) column.cursor?.close()
    this.physical.clear()
    for (const { bytes } of this.ahead.values()) this.account.release(bytes.length)
    this.ahead.clear()
  }

  private async readPhysical (source: SourceColumn, start: number, end: number, tab: Tab): Promise<DecodedColumn> {
    const segment = this.segment
    const groups = segment.rowGroups
    let column = this.physical.get(source.physical)
    if (column && column.group >= 0 && start < groups[column.group].start + column.row) {
      column.cursor?.close()
      column = undefined
    }
    if (!column) {
      column = { group: -1, row: 0, cursor: null, general: null, generalFrom: 0 }
      this.physical.set(source.physical, column)
    }
    const parts: DecodedColumn[] = []
    try {
      for (let at = start; at < end;) {
        if (column.group < 0 || at >= groups[column.group].start + groups[column.group].rows) await this.open(source, column, at)
        const group = groups[column.group]
        if (at > group.start + column.row) this.skip(source, column, at - group.start - column.row)
        const k = Math.min(end, group.start + group.rows) - at
        parts.push(await this.take(source, column, k, tab))
        at += k
      }
    } catch (err) {
      throw asCompactorError(err, 'CMP_ERR_BAD_PARQUET', `${segment.label}: row group ${column.group} does not decode`, { file: segment.label })
    }
    if (parts.length === 0) return emptyColumn(segment.elements[segment.columnIndex.get(source.physical)!], tab) ?? { kind: 'values', values: [] }
    if (parts.length > 1) tab.charge(concatBytes(parts))
    return concatColumns(parts)
  }

  /** Moves a column to the row group that holds segment row `at` and reads its chunk. */
  private async open (source: SourceColumn, column: PhysicalColumn, at: number): Promise<void> {
    const segment = this.segment
    column.cursor?.close()
    column.cursor = null
    column.general = null
    let g = Math.max(0, column.group)
    while (g < segment.rowGroups.length && at >= segment.rowGroups[g].start + segment.rowGroups[g].rows) g++
    if (g >= segment.rowGroups.length) throw new Error(`row ${at} past the segment's ${segment.numRows} rows`)
    column.group = g
    column.row = 0
    const index = segment.columnIndex.get(source.physical)!
    const bytes = await this.chunkBytes(source.physical, index, g)
    const [lo, hi] = segment.chunkRanges[g][index]
    try {
      column.cursor = new ChunkCursor(bytes, lo, hi - lo, segment.metadata.row_groups[g].columns[index].meta_data!, segment.elements[index], segment.rowGroups[g].rows, this.account, segment.label)
    } catch (err) {
      this.account.release(hi - lo)
      if (!(err instanceof UnsupportedChunk)) throw err
    }
  }

  /**
   * The bytes of leaf `index`'s chunk in row group g, charged (the cursor gives them back once its
   * last page is loaded): read ahead with another's, or read now together with the wanted chunks
   * after it in the file (up to READ_AHEAD_BYTES), which wait for their columns. One read instead
   * of one per chunk: the carried columns of a file are read one after the other.
   */
  private async chunkBytes (physical: string, index: number, g: number): Promise<Uint8Array> {
    const segment = this.segment
    const ranges = segment.chunkRanges[g]
    const waiting = this.ahead.get(physical)
    if (waiting) {
      this.ahead.delete(physical)
      if (waiting.group === g) return waiting.bytes
      this.account.release(waiting.bytes.length)
    }
    const [lo, own] = ranges[index]
    let hi = own
    const along: number[] = []
    const leaves = this.leaves(g)
    for (let k = leaves.indexOf(index) + 1; k < leaves.length; k++) {
      const next = leaves[k]
      const [start, end] = ranges[next]
      if (start < hi || start - hi > MAX_READ_GAP || end - lo > READ_AHEAD_BYTES) break
      const name = segment.elements[next].name
      const column = this.physical.get(name)
      if (this.ahead.has(name) || (column && column.group >= g)) break
      along.push(next)
      hi = end
    }
    this.account.charge(hi - lo, segment.label)
    let read: Uint8Array
    try {
      read = new Uint8Array(await segment.file.slice(lo, hi))
    } catch (err) {
      this.account.release(hi - lo)
      throw err
    }
    // the gaps between the chunks are not kept
    let kept = own - lo
    for (const next of along) {
      const [start, end] = ranges[next]
      const name = segment.elements[next].name
      if (this.ahead.has(name)) continue
      this.ahead.set(name, { group: g, bytes: read.subarray(start - lo, end - lo) })
      kept += end - start
    }
    this.account.release(hi - lo - kept)
    return read.subarray(0, own - lo)
  }

  /** The wanted leaves of row group g, in the order of their chunks in the file. */
  private leaves (g: number): number[] {
    if (this.order?.group !== g) {
      const ranges = this.segment.chunkRanges[g]
      this.order = { group: g, leaves: [...this.wanted].sort((a, b) => ranges[a][0] - ranges[b][0]) }
    }
    return this.order.leaves
  }

  /** Passes over n rows of the column's group (decoded, and dropped). */
  private skip (source: SourceColumn, column: PhysicalColumn, n: number): void {
    if (column.cursor !== null) {
      const scratch = new Tab(this.account, this.segment.label)
      try {
        for (let left = n; left > 0; left -= WINDOW_ROWS) column.cursor.read(Math.min(left, WINDOW_ROWS), scratch)
      } catch (err) {
        if (!(err instanceof UnsupportedChunk)) throw err
        column.cursor.close()
        column.cursor = null
      } finally {
        scratch.close()
      }
    }
    column.row += n
  }

  /** The next k rows of the column's group. */
  private async take (source: SourceColumn, column: PhysicalColumn, k: number, tab: Tab): Promise<DecodedColumn> {
    if (column.cursor !== null && column.general === null) {
      try {
        const parts = column.cursor.read(k, tab)
        column.row += k
        if (parts.length > 1) tab.charge(concatBytes(parts))
        return concatColumns(parts)
      } catch (err) {
        if (!(err instanceof UnsupportedChunk)) throw err
        column.cursor.close()
        column.cursor = null
      }
    }
    if (column.general === null || column.row < column.generalFrom) {
      // the rest of the row group from the general reader, checked first (readGroup's fallback)
      column.generalFrom = column.row
      column.general = await this.general(source, column, tab)
    }
    const from = column.row - column.generalFrom
    column.row += k
    return sliceColumn(column.general, from, from + k)
  }

  /** Group rows [column.row, end of group) of a column from the general reader. */
  private async general (source: SourceColumn, column: PhysicalColumn, tab: Tab): Promise<DecodedColumn> {
    const segment = this.segment
    const g = column.group
    const index = segment.columnIndex.get(source.physical)!
    const { rows, start } = segment.rowGroups[g]
    const [lo, hi] = segment.chunkRanges[g][index]
    const chunk = segment.metadata.row_groups[g].columns[index].meta_data!
    tab.account.charge(hi - lo, tab.file)
    try {
      const bytes = new Uint8Array(await segment.file.slice(lo, hi))
      const need = checkForGeneralReader(bytes, lo, chunk, segment.elements[index], rows, tab)
      tab.charge((rows - column.row + need.dictionaryEntries) * VALUE_BYTES + need.pageBytes)
      const values = await readGeneral(segment, [source.physical], start + column.row, start + rows)
      const decoded = values.get(source.physical)!
      return isText(segment.elements[index]) ? textColumn(decoded, tab) : decoded
    } finally {
      tab.account.release(hi - lo)
    }
  }
}

/**
 * A sorted segment read as batches of at most WINDOW_ROWS rows (or those asked for) within its row groups, in order:
 * readBatch's batches with only the key, sketch and rollup columns (the writer reads the carried
 * ones through InputColumns, for the rows it needs).
 */
export class WindowReader {
  private readonly segment: Segment
  private readonly account: MemoryAccount
  private readonly columns: SegmentColumns
  private group = 0
  /** Rows of the current row group read so far. */
  private row = 0
  /** The charges of the last batch. */
  private tab: Tab | null = null
  private readonly rows: number

  /** Batches of `rows` rows at most (a run's smaller pages are read in smaller batches). */
  constructor (segment: Segment, account: MemoryAccount, rows = WINDOW_ROWS) {
    this.segment = segment
    this.account = account
    this.rows = rows
    this.columns = new SegmentColumns(segment, account, KEY_COLUMNS)
  }

  /**
   * The next batch; null when the segment is read. The batch before it is given back to the
   * account now (the merge has passed it: only a group still open may keep a row of it).
   */
  async next (): Promise<Batch | null> {
    this.tab?.close()
    this.tab = null
    const groups = this.segment.rowGroups
    while (this.group < groups.length && this.row >= groups[this.group].rows) {
      this.group++
      this.row = 0
    }
    if (this.group >= groups.length) return null
    const start = groups[this.group].start + this.row
    const length = Math.min(this.rows, groups[this.group].rows - this.row)
    const tab = new Tab(this.account, this.segment.label)
    try {
      // the columns at once: a read from the file for one waits with the others'
      // (all settled before any failure is thrown: nothing is charged to the tab after it is closed)
      const columns = await Promise.allSettled(KEY_COLUMNS.map(name => this.columns.read(name, start, start + length, tab)))
      const raw = new Map<string, CarriedColumn>()
      for (const [i, name] of KEY_COLUMNS.entries()) {
        const column = columns[i]
        if (column.status === 'rejected') throw column.reason
        if (column.value) raw.set(name, column.value)
      }
      const batch = toBatch(this.segment, raw, start, length, [], new Set(), tab)
      this.tab = tab
      this.row += length
      return batch
    } catch (err) {
      tab.close()
      throw err
    }
  }

  /** Gives back what its cursors and its last batch hold. */
  close (): void {
    this.tab?.close()
    this.tab = null
    this.columns.close()
  }
}

/** A carried column as InputColumns reads it: its values from row `base` of its input, charged until `release` is called. */
export interface CarriedRead {
  readonly column: CarriedColumn
  readonly base: number
  release (): void
}

/**
 * The carried columns of the inputs, read by the writer for the rows of each output file: each
 * segment (an input in order, or a run of one out of order) through its SegmentColumns, forward,
 * page by page. For the report it counts, once per row of the inputs it is told to count, the
 * values of carried string columns whose bytes are not valid UTF-8 (replacedUtf8): the rows a file
 * needs, the rows passed over between them, and (finish) the rows after the last.
 */
export class InputColumns {
  /** Per input: values of carried string columns whose bytes were not valid UTF-8. */
  readonly replacedUtf8: Float64Array
  private readonly segments: readonly Segment[]
  private readonly account: MemoryAccount
  private readonly carry: readonly string[]
  private readonly asText: ReadonlySet<string>
  private readonly readers: SegmentColumns[]
  /** Inputs sorted in memory: their batch, which holds every carried column. */
  private readonly whole: Array<Batch | null>
  /** Per segment: whether its rows are counted here (runs, and inputs sorted into runs, are counted as they are written). */
  private readonly counting: readonly boolean[]
  /** Per input and counted column: the rows counted so far. */
  private readonly counted: Array<Map<string, number>>
  /** Per input and row group: its carried columns with a value (footer statistics). */
  private readonly withValues: number[][]

  /**
   * `segments` by their index; `carry`: the carried columns; `asText`: those written as strings (see
   * readBatch); `counting`: per segment, whether its replaced UTF-8 is counted here (default: all).
   */
  constructor (segments: readonly Segment[], carry: readonly string[], asText: ReadonlySet<string>, account: MemoryAccount,
    counting: readonly boolean[] = segments.map(() => true)) {
    this.segments = segments
    this.carry = carry
    this.asText = asText
    this.account = account
    this.counting = counting
    this.replacedUtf8 = new Float64Array(segments.length)
    this.readers = segments.map(s => new SegmentColumns(s, account, carry))
    this.whole = segments.map(() => null)
    this.counted = segments.map(() => new Map())
    this.withValues = segments.map(s => s.rowGroups.map((_, g) => carriedWithValues(s, g, carry)))
  }

  /**
   * Carried column `name` of input `segment` over its rows [start, end) at least, and the row its
   * first value is; null when the input has no such column. Its memory is charged until `release`.
   */
  async read (segment: number, name: string, start: number, end: number): Promise<CarriedRead | null> {
    const whole = this.whole[segment]
    if (whole) {
      const column = whole.carried.get(name)
      return column ? { column, base: whole.start, release: () => {} } : null
    }
    const counting = this.counts(segment, name)
    const from = counting ? Math.min(start, this.counted[segment].get(name) ?? 0) : start
    const tab = new Tab(this.account, this.segments[segment].label)
    try {
      const column = await this.readers[segment].read(name, from, end, tab)
      if (column === null) {
        tab.close()
        return null
      }
      if (counting) this.count(segment, name, column, from, end)
      return { column, base: from, release: () => tab.close() }
    } catch (err) {
      tab.close()
      throw err
    }
  }

  /** An input sorted in memory: its rows are read from its batch (which counted them; its segment must not be counted here). */
  useWhole (batch: Batch): void {
    this.readers[batch.segment].close()
    this.whole[batch.segment] = batch
  }

  /** Counts the rows of the counted columns no file needed (after the last one read). */
  async finish (): Promise<void> {
    for (const segment of this.readers.keys()) {
      if (!this.counting[segment]) continue
      const rows = this.segments[segment].numRows
      for (const name of this.carry) {
        if (!this.counts(segment, name)) continue
        for (let at = this.counted[segment].get(name) ?? 0; at < rows; at = Math.min(rows, at + WINDOW_ROWS)) {
          (await this.read(segment, name, at, Math.min(rows, at + WINDOW_ROWS)))?.release()
        }
      }
    }
  }

  /** The carried columns with a value in the row group holding a segment row (what a series there costs in them). */
  carriedColumns (segment: number, row: number): number {
    const groups = this.segments[segment].rowGroups
    let lo = 0
    let hi = groups.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (groups[mid].start <= row) lo = mid
      else hi = mid - 1
    }
    return this.withValues[segment][lo] ?? 0
  }

  close (): void {
    for (const reader of this.readers) reader.close()
  }

  private counts (segment: number, name: string): boolean {
    if (!this.counting[segment]) return false
    const type = this.segments[segment].columns.get(name)?.[0]?.type
    return type !== undefined && (type === 'string' || this.asText.has(name))
  }

  private count (segment: number, name: string, column: CarriedColumn, from: number, end: number): void {
    const done = this.counted[segment].get(name) ?? 0
    if (end <= done) return
    const c = done > from ? sliceColumn(column.column, done - from, end - from) : column.column
    this.replacedUtf8[segment] += invalidUtf8Values(c)
    this.counted[segment].set(name, end)
  }
}

/** How many of the carried columns have a value in row group g, by the footer's statistics (a chunk without a null count is taken to have one). */
function carriedWithValues (segment: Segment, g: number, carry: readonly string[]): number {
  const chunks = segment.metadata.row_groups[g].columns
  let n = 0
  for (const name of carry) {
    const sources = segment.columns.get(name)
    if (!sources) continue
    const has = sources.some(s => {
      const meta = chunks[segment.columnIndex.get(s.physical)!].meta_data
      const nulls = meta?.statistics?.null_count
      return nulls === undefined || nulls === null || Number(nulls) < Number(meta!.num_values)
    })
    if (has) n++
  }
  return n
}
