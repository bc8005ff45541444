// Parquet -> columnar batches: key columns parsed to their forced types, rollups into Float64Arrays,
// sketches as byte views, every other column kept as the decoder's array. Each row gets a status:
// usable, or the reason it is dropped (DOMAIN.md section 4).
import { parquetRead, type DecodedArray, type ParquetParsers } from 'hyparquet'
import { CompactorError, asCompactorError } from '../errors.ts'
import { readCompressors } from './codecs.ts'
import { MAX_INDEXABLE, checkSketch } from './ddsketch.ts'
import { METRIC_NAME, ROLLUP_COLUMNS, ROLLUP_COUNT, ROLLUP_SUM, SKETCH, TID, TIMESTAMP, type ColumnType } from './schema.ts'
import type { Segment, SourceColumn } from './segment.ts'

/** Row status codes: 0 is a usable row, every other value is a drop reason. */
export const USABLE = 0
export const MISSING_KEY = 1
export const BAD_KEY = 2
export const NONFINITE_ROLLUP = 3
export const MISSING_SKETCH = 4
export const BAD_SKETCH = 5
/** Drop reasons as the report names them, indexed by status code. */
export const DROP_REASONS = ['usable', 'missing_key', 'bad_key', 'nonfinite_rollup', 'missing_sketch', 'bad_sketch'] as const
export type DropReason = Exclude<typeof DROP_REASONS[number], 'usable'>

/** A column carried through from a group's first row, as its decoder gave it. */
export interface CarriedColumn {
  readonly type: ColumnType
  readonly values: ArrayLike<unknown>
}

/** The sort key columns of a run of rows, parsed to exact types. */
export interface KeyColumns {
  readonly length: number
  /** 0 = usable, else a drop reason (key reasons only in a key-only read). */
  readonly status: Uint8Array
  readonly names: Array<string | null>
  /** chq_tid as int64; `tidWords` views the same memory as [low, high] 32-bit words per row. */
  readonly tid: BigInt64Array
  readonly tidWords: Int32Array
  /** chq_timestamp in ms, exact (safe integers only; anything else is a bad key). */
  readonly ts: Float64Array
}

/** A columnar batch of one segment's rows. */
export interface Batch extends KeyColumns {
  readonly segment: number
  readonly sketches: ArrayLike<Uint8Array | null | undefined>
  /** One Float64Array per ROLLUP_COLUMNS slot, and whether each value was present. */
  readonly rollups: readonly Float64Array[]
  readonly rollupPresent: readonly Uint8Array[]
  readonly carried: ReadonlyMap<string, CarriedColumn>
  /** Rows dropped in this batch, indexed by status code (slot 0 unused). */
  readonly drops: Int32Array
}

// Raw values: the engine wants int64 as bigint and dates as numbers, never Date objects.
const RAW_PARSERS: Partial<ParquetParsers> = {
  timestampFromMilliseconds: (v: bigint) => v,
  timestampFromMicroseconds: (v: bigint) => v,
  timestampFromNanoseconds: (v: bigint) => v,
  dateFromDays: (v: number) => v,
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Reads rows [rowStart, rowEnd) of a segment as a batch carrying the named columns. */
export async function readBatch (segment: Segment, rowStart: number, rowEnd: number, carry: readonly string[]): Promise<Batch> {
  const wanted = [METRIC_NAME, TID, TIMESTAMP, SKETCH, ...ROLLUP_COLUMNS, ...carry]
  const raw = await readColumns(segment, wanted, rowStart, rowEnd)
  const keys = parseKeys(raw, rowEnd - rowStart)
  const { status } = keys
  const rollups: Float64Array[] = []
  const rollupPresent: Uint8Array[] = []
  for (const name of ROLLUP_COLUMNS) {
    const [values, present] = parseDoubles(raw.get(name), keys.length)
    rollups.push(values)
    rollupPresent.push(present)
  }
  const sketchColumn = raw.get(SKETCH)
  const sketches: ArrayLike<Uint8Array | null | undefined> = sketchColumn && sketchColumn.type === 'bytes'
    ? sketchColumn.values as ArrayLike<Uint8Array | null>
    : new Array<null>(keys.length).fill(null)
  const sketchUnreadable = sketchColumn !== undefined && sketchColumn.type !== 'bytes'
  const drops = new Int32Array(DROP_REASONS.length)
  for (let i = 0; i < keys.length; i++) {
    if (status[i] === USABLE) status[i] = rowStatus(i, rollups, rollupPresent, sketches[i], sketchUnreadable, sketchColumn)
    drops[status[i]]++
  }
  drops[USABLE] = 0
  const carried = new Map<string, CarriedColumn>()
  for (const name of carry) {
    const column = raw.get(name)
    if (column) carried.set(name, column)
  }
  return { ...keys, segment: segment.index, sketches, rollups, rollupPresent, carried, drops }
}

/** Reads only the sort key columns of rows [rowStart, rowEnd): enough to check the sort order. */
export async function readKeys (segment: Segment, rowStart: number, rowEnd: number): Promise<KeyColumns> {
  const raw = await readColumns(segment, [METRIC_NAME, TID, TIMESTAMP], rowStart, rowEnd)
  return parseKeys(raw, rowEnd - rowStart)
}

function rowStatus (i: number, rollups: readonly Float64Array[], present: readonly Uint8Array[],
  sketch: Uint8Array | null | undefined, sketchUnreadable: boolean, sketchColumn: CarriedColumn | undefined): number {
  for (let r = 0; r < rollups.length; r++) {
    if (present[r][i] === 1 && !Number.isFinite(rollups[r][i])) return NONFINITE_ROLLUP
  }
  if (sketchUnreadable) {
    const v = sketchColumn!.values[i]
    return v === null || v === undefined || v === '' ? singletonStatus(i, rollups, present) : BAD_SKETCH
  }
  if (!sketch || sketch.length === 0) return singletonStatus(i, rollups, present)
  return checkSketch(sketch) ? USABLE : BAD_SKETCH
}

// A row without a sketch survives only as a legacy singleton: count 1 and a sum a sketch can hold.
function singletonStatus (i: number, rollups: readonly Float64Array[], present: readonly Uint8Array[]): number {
  return present[ROLLUP_COUNT][i] === 1 && rollups[ROLLUP_COUNT][i] === 1 && present[ROLLUP_SUM][i] === 1 &&
    Math.abs(rollups[ROLLUP_SUM][i]) <= MAX_INDEXABLE ? USABLE : MISSING_SKETCH
}

/** Reads the physical columns behind the given current names, coalescing duplicates, as one array each. */
async function readColumns (segment: Segment, names: readonly string[], rowStart: number, rowEnd: number): Promise<Map<string, CarriedColumn>> {
  const sources: SourceColumn[] = []
  for (const name of names) sources.push(...(segment.columns.get(name) ?? []))
  const length = rowEnd - rowStart
  const chunks = new Map<string, Array<{ rowStart: number, rowEnd: number, data: DecodedArray }>>()
  if (length > 0 && sources.length > 0) {
    try {
      await parquetRead({
        file: segment.file,
        metadata: segment.metadata,
        columns: sources.map(s => s.physical),
        rowStart,
        rowEnd,
        compressors: readCompressors,
        utf8: false,
        parsers: RAW_PARSERS,
        onChunk ({ columnName, columnData, rowStart: start, rowEnd: end }) {
          const list = chunks.get(columnName) ?? []
          list.push({ rowStart: start, rowEnd: end, data: columnData })
          chunks.set(columnName, list)
        },
      })
    } catch (err) {
      throw asCompactorError(err, 'CMP_ERR_BAD_PARQUET', `${segment.label}: rows ${rowStart}-${rowEnd} do not decode`, { file: segment.label })
    }
  }
  const out = new Map<string, CarriedColumn>()
  for (const name of names) {
    const physical = segment.columns.get(name)
    if (!physical) continue
    const arrays = physical.map(s => assemble(segment, s.physical, chunks.get(s.physical) ?? [], rowStart, rowEnd))
    out.set(name, arrays.length === 1 ? { type: physical[0].type, values: arrays[0] } : coalesce(physical, arrays))
  }
  return out
}

/** Joins the decoded chunks of one column into exactly the rows [rowStart, rowEnd). */
function assemble (segment: Segment, column: string, chunks: Array<{ rowStart: number, rowEnd: number, data: DecodedArray }>,
  rowStart: number, rowEnd: number): DecodedArray {
  const length = rowEnd - rowStart
  if (chunks.length === 1 && chunks[0].rowStart === rowStart && chunks[0].rowEnd === rowEnd && chunks[0].data.length === length) return chunks[0].data
  const out = new Array<unknown>(length)
  let filled = 0
  chunks.sort((a, b) => a.rowStart - b.rowStart)
  for (const chunk of chunks) {
    if (chunk.data.length !== chunk.rowEnd - chunk.rowStart) break
    const from = Math.max(rowStart, chunk.rowStart)
    const to = Math.min(rowEnd, chunk.rowEnd)
    if (from !== rowStart + filled) break
    for (let r = from; r < to; r++) out[r - rowStart] = chunk.data[r - chunk.rowStart]
    filled += Math.max(0, to - from)
  }
  if (filled !== length) {
    throw new CompactorError('CMP_ERR_BAD_PARQUET', `${segment.label}: column ${column} decoded ${filled} of ${length} rows`, { file: segment.label })
  }
  return out as DecodedArray
}

// Two physical columns with one current name: the first non-null value, in file column order.
function coalesce (physical: readonly SourceColumn[], arrays: readonly DecodedArray[]): CarriedColumn {
  let type = physical[0].type
  for (const s of physical) if (s.type !== type) type = 'string'
  const length = arrays[0].length
  const values = new Array<unknown>(length)
  for (let i = 0; i < length; i++) {
    let v: unknown = null
    for (let c = 0; c < arrays.length && (v === null || v === undefined); c++) v = arrays[c][i]
    values[i] = v ?? null
  }
  if (type === 'string') {
    for (let i = 0; i < length; i++) if (values[i] !== null) values[i] = toText(values[i])
  }
  return { type, values }
}

function parseKeys (raw: Map<string, CarriedColumn>, length: number): KeyColumns {
  const status = new Uint8Array(length)
  const names = parseNames(raw.get(METRIC_NAME), status, length)
  const tid = new BigInt64Array(length)
  parseInt64s(raw.get(TID), status, tid)
  const tsWide = new BigInt64Array(length)
  parseInt64s(raw.get(TIMESTAMP), status, tsWide)
  const ts = new Float64Array(length)
  for (let i = 0; i < length; i++) {
    const v = Number(tsWide[i])
    ts[i] = v
    if (status[i] === USABLE && !Number.isSafeInteger(v)) status[i] = BAD_KEY
  }
  return { length, status, names, tid, tidWords: new Int32Array(tid.buffer), ts }
}

function parseNames (column: CarriedColumn | undefined, status: Uint8Array, length: number): Array<string | null> {
  const names = new Array<string | null>(length).fill(null)
  if (!column) {
    status.fill(MISSING_KEY)
    return names
  }
  const values = column.values
  for (let i = 0; i < length; i++) {
    const v = values[i]
    if (typeof v === 'string') {
      if (v.length > 0) names[i] = v
      else setStatus(status, i, MISSING_KEY)
    } else if (v === null || v === undefined) {
      setStatus(status, i, MISSING_KEY)
    } else {
      const text = tryText(v)
      if (text === null) setStatus(status, i, BAD_KEY)
      else if (text.length === 0) setStatus(status, i, MISSING_KEY)
      else names[i] = text
    }
  }
  return names
}

/** Parses an int64 key column into `out`; nulls are missing keys, unparsable values bad keys. */
function parseInt64s (column: CarriedColumn | undefined, status: Uint8Array, out: BigInt64Array): void {
  if (!column) {
    status.fill(MISSING_KEY)
    return
  }
  const values = column.values
  if (values instanceof BigInt64Array) {
    out.set(values)
    return
  }
  for (let i = 0; i < out.length; i++) {
    const v = values[i]
    if (typeof v === 'bigint') out[i] = v
    else if (v === null || v === undefined) setStatus(status, i, MISSING_KEY)
    else {
      const parsed = parseInt64(v)
      if (parsed === null) setStatus(status, i, BAD_KEY)
      else out[i] = parsed
    }
  }
}

const INT64_TEXT = /^[+-]?\d{1,19}$/

/** A non-bigint key value as an exact int64, or null when it is not one. */
export function parseInt64 (v: unknown): bigint | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : null
  const text = typeof v === 'string' ? v.trim() : tryText(v)
  if (text === null || !INT64_TEXT.test(text)) return null
  const n = BigInt(text)
  return BigInt.asIntN(64, n) === n ? n : null
}

function setStatus (status: Uint8Array, i: number, reason: number): void {
  if (status[i] === USABLE) status[i] = reason
}

/** Parses a double column: values (0 where absent) and a presence flag per row. */
function parseDoubles (column: CarriedColumn | undefined, length: number): [Float64Array, Uint8Array] {
  const present = new Uint8Array(length)
  if (!column) return [new Float64Array(length), present]
  const values = column.values
  if (values instanceof Float64Array) return [values, present.fill(1)]
  const out = new Float64Array(length)
  for (let i = 0; i < length; i++) {
    const v = values[i]
    if (typeof v === 'number') {
      out[i] = v
      present[i] = 1
    } else if (v !== null && v !== undefined) {
      out[i] = typeof v === 'bigint' ? Number(v) : Number(tryText(v) ?? NaN)
      present[i] = 1
    }
  }
  return [out, present]
}

/** Any decoded value as text (bytes as UTF-8); null when bytes are not valid UTF-8. */
export function tryText (v: unknown): string | null {
  if (typeof v === 'string') return v
  if (v instanceof Uint8Array) {
    try {
      return utf8.decode(v)
    } catch {
      return null
    }
  }
  return String(v)
}

/** Any decoded value as text; invalid UTF-8 bytes are replaced rather than refused. */
export function toText (v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8')
  return typeof v === 'string' ? v : String(v)
}
