// An input out of sort order, sorted in bounded memory: read RUN_ROWS rows at a time (every column
// it carries, page by page through SegmentColumns), each chunk's usable rows sorted (stable) and
// written as a run, a parquet file in the compaction's spill directory. The runs then join the
// merge as inputs in order (ties: the input's first run first, so the input's rows keep their
// order), and the writer gathers their carried columns from them. An input of one chunk is sorted
// in memory instead. Drops, replaced UTF-8 and unsigned tids are counted here, on the input's own
// rows: a run holds usable rows only, its strings already replaced, its tids as signed ids.
import { join } from 'node:path'
import { Tab, type MemoryAccount } from '../account.ts'
import { copyBytes } from '../bytes.ts'
import { KEY_COLUMNS, toBatch, type Batch, type CarriedColumn } from '../read/batch-reader.ts'
import { SegmentColumns, WINDOW_ROWS } from '../read/input-columns.ts'
import { openSegment, type Segment } from '../read/segment.ts'
import { METRIC_NAME, ROLLUP_COLUMNS, SKETCH, TID, TIMESTAMP, type ColumnType } from '../schema.ts'
import { ColumnarFile, gatherRows, int64Column, type OutputColumn } from '../write/segment-file.ts'
import type { ColumnValues } from '../write/column-writer.ts'
import { sortOrder } from './merge.ts'

/**
 * Input rows sorted at a time into one run; an input of at most this many rows is sorted in memory
 * (real segments are one row group of up to about 60 000 rows). A chunk's decoded columns are held
 * while it is sorted and written; each run then costs the merge a cursor: its batch, its pages,
 * and the compressed chunks of its current row group. On bench `unsorted` (20 files of 50 000
 * rows), runs of 32 768 rows took the compaction from 3.5 s to 6.1-7.3 s.
 */
export const RUN_ROWS = 65536
/** The most rows a run may be given (CompactionOptions.runRows): a row group of a run is a row group an input may have. */
export const MAX_RUN_ROWS = 1_048_576
/**
 * ZSTD level of a run's pages: a run is read once, by the engine. At the output's level 6, writing
 * the runs took 15 % of the CPU on bench `unsorted`.
 */
const RUN_ZSTD_LEVEL = -5
/** A run of `rows` rows is written in RUN_GROUPS row groups. */
const RUN_GROUPS = 4
/** A run's data pages hold at most 1/RUN_PAGES of its rows' values, and the merge reads it in batches of that many rows. */
const RUN_PAGES = 16

/** Rows per row group and per page (and per batch in the merge) of a run of at most `runRows` rows. */
export function runLayout (runRows: number): { groupRows: number, pageRows: number } {
  return { groupRows: Math.max(1, Math.ceil(runRows / RUN_GROUPS)), pageRows: Math.max(1, Math.min(WINDOW_ROWS, Math.ceil(runRows / RUN_PAGES))) }
}

/** Where runs go and what they cost. */
export interface RunOptions {
  /** The directory the run files are written to (made when the first run is written). */
  readonly dir: () => Promise<string>
  /** The index the first run's segment gets (segments are numbered across inputs and runs). */
  readonly firstIndex: number
  /** Input rows per run at most (RUN_ROWS in a compaction). */
  readonly rows: number
  /** Columns carried (current names), and those written as strings (their invalid UTF-8 is counted). */
  readonly carry: readonly string[]
  readonly asText: ReadonlySet<string>
  readonly account: MemoryAccount
  /** Each chunk of the input as it is read, for the counters: its rows, drops and alterations. */
  readonly onBatch: (batch: Batch) => void
  /** Each run's bytes once it is written; throwing stops the compaction (the service counts them in MAX_TEMP_BYTES). */
  readonly onRun?: (bytes: number) => void | Promise<void>
}

/**
 * An input out of order, sorted: into runs on disk, opened as segments (their label the input's,
 * for errors; none when no row is usable), or, when it is one chunk, in memory: its batch, every
 * carried column decoded, and its usable rows' sort order.
 */
export type SortedInput =
  | { readonly runs: Segment[] }
  | { readonly batch: Batch, readonly order: Int32Array }

/**
 * Sorts an input a chunk of options.rows rows at a time. An input of one chunk stays in memory (a
 * run would only write and read it again; it holds what one row group of that many rows would).
 */
export async function sortInput (segment: Segment, options: RunOptions): Promise<SortedInput> {
  const { account, carry, asText } = options
  const names = [...KEY_COLUMNS, ...carry]
  const columns = new SegmentColumns(segment, account, names)
  const schema = runSchema(segment, carry)
  const runs: Segment[] = []
  try {
    for (let start = 0; start < segment.numRows; start += options.rows) {
      const end = Math.min(segment.numRows, start + options.rows)
      const tab = new Tab(account, segment.label)
      try {
        const raw = new Map<string, CarriedColumn>()
        for (const name of names) {
          const column = await columns.read(name, start, end, tab)
          if (column) raw.set(name, column)
        }
        const batch = toBatch(segment, raw, start, end - start, carry, asText, tab)
        options.onBatch(batch)
        tab.charge(4 * batch.length)
        const order = sortOrder(batch)
        if (start === 0 && end === segment.numRows) {
          // the whole input: held until the merge is past it
          tab.heldBy(batch)
          return { batch, order }
        }
        if (order.length === 0) continue
        const path = join(await options.dir(), `run-${segment.index}-${runs.length}.parquet`)
        const bytes = writeRun(batch, order, schema, runLayout(options.rows), path, tab)
        await options.onRun?.(bytes)
        runs.push(await openSegment(path, options.firstIndex + runs.length, segment.label))
      } finally {
        tab.close()
      }
    }
    return { runs }
  } catch (err) {
    await Promise.all(runs.map(run => run.close()))
    throw err
  } finally {
    columns.close()
  }
}

/** The columns of an input's runs: the key, sketch and rollup columns, then those it carries, each of its type in the input (strings where its columns of one name differ, as they are coalesced). */
export function runSchema (segment: Segment, carry: readonly string[]): OutputColumn[] {
  const schema: OutputColumn[] = [
    { name: METRIC_NAME, type: 'string' }, { name: TID, type: 'int64' }, { name: TIMESTAMP, type: 'int64' }, { name: SKETCH, type: 'bytes' },
    ...ROLLUP_COLUMNS.map(name => ({ name, type: 'double' as ColumnType })),
  ]
  for (const name of carry) {
    const sources = segment.columns.get(name)
    if (!sources) continue
    schema.push({ name, type: sources.every(s => s.type === sources[0].type) ? sources[0].type : 'string' })
  }
  return schema
}

/** Writes rows `order` of a batch as a run file; returns its bytes. The gathered columns and the encoded ones are charged to the tab. */
function writeRun (batch: Batch, order: Int32Array, schema: readonly OutputColumn[], layout: { groupRows: number, pageRows: number }, path: string, tab: Tab): number {
  const file = new ColumnarFile(schema, order.length, layout.groupRows, { blooms: false, pageValues: layout.pageRows, level: RUN_ZSTD_LEVEL, lean: true })
  let charged = 0
  for (const column of schema) {
    // one gathered column at a time: at most 16 bytes a row, and its strings
    const values = tab.scratch(16 * order.length, () => runColumn(batch, order, column))
    file.add(values)
    tab.charge(file.encodedBytes - charged)
    charged = file.encodedBytes
  }
  return file.write(path).size
}

/** One column of a run: rows `order` of the batch. */
function runColumn (batch: Batch, order: Int32Array, column: OutputColumn): ColumnValues {
  const n = order.length
  switch (column.name) {
    case METRIC_NAME: {
      // sorted by name: each new name starts a run of equal ones
      const dictionary: string[] = []
      const indices = new Int32Array(n)
      let last: string | null = null
      for (let i = 0; i < n; i++) {
        const name = batch.names[order[i]]!
        if (name !== last) {
          dictionary.push(name)
          last = name
        }
        indices[i] = dictionary.length - 1
      }
      return { kind: 'dict', dictionary, indices }
    }
    case TID: {
      const words = new Int32Array(2 * n)
      for (let i = 0; i < n; i++) {
        words[2 * i] = batch.tidWords[2 * order[i]]
        words[2 * i + 1] = batch.tidWords[2 * order[i] + 1]
      }
      return { kind: 'int64', values: new BigInt64Array(words.buffer) }
    }
    case TIMESTAMP: {
      const ts = new Float64Array(n)
      for (let i = 0; i < n; i++) ts[i] = batch.ts[order[i]]
      return { kind: 'int64', values: int64Column(ts, n, 1) }
    }
    case SKETCH: {
      const { sketchData, sketchOffsets } = batch
      const offsets = new Int32Array(n + 1)
      const valid = new Uint8Array(n)
      for (let i = 0; i < n; i++) {
        const size = sketchOffsets[order[i] + 1] - sketchOffsets[order[i]]
        valid[i] = size > 0 ? 1 : 0
        offsets[i + 1] = offsets[i] + size
      }
      const data = new Uint8Array(offsets[n])
      for (let i = 0; i < n; i++) copyBytes(data, offsets[i], sketchData, sketchOffsets[order[i]], sketchOffsets[order[i] + 1])
      return { kind: 'bytes', data, offsets, valid }
    }
  }
  const rollup = (ROLLUP_COLUMNS as readonly string[]).indexOf(column.name)
  if (rollup >= 0) {
    const source = batch.rollups[rollup]
    const present = batch.rollupPresent[rollup]
    const values = new Float64Array(n)
    const valid = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      values[i] = source[order[i]]
      valid[i] = present[order[i]]
    }
    return { kind: 'double', values, valid }
  }
  return gatherRows(batch.carried.get(column.name), order, column)
}
