// Parquet -> columnar batches (toBatch): key columns parsed to their forced types, rollups into
// Float64Arrays, sketches as one byte buffer with offsets, every other column kept decoded
// (dictionary + indices for strings). Each row gets a status: usable, or the reason it is dropped
// (docs/DOMAIN.md section 4). readBatch reads whole row groups (an unsorted input, read whole);
// input-columns.ts reads sorted inputs by row ranges, page by page, into the same batches.
import { isUtf8 } from 'node:buffer'
import { parquetRead, type ParquetParsers } from 'hyparquet'
import { asCompactorError } from '../../errors.ts'
import { Tab, withTab, type MemoryAccount } from '../account.ts'
import { validUtf8 } from '../bytes.ts'
import { UnsupportedChunk, checkForGeneralReader, emptyColumn, readChunk, textIndices, type DecodedColumn, type GeneralReaderNeed } from './chunk-reader.ts'
import { readCompressors } from '../codecs.ts'
import { isText } from '../parquet.ts'
import { MAX_INDEXABLE, checkSketch } from '../ddsketch.ts'
import { METRIC_NAME, ROLLUP_COLUMNS, ROLLUP_COUNT, ROLLUP_SUM, SKETCH, TID, TIMESTAMP, type ColumnType } from '../schema.ts'
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

/** A column carried through from a group's first row: its values and its type in this segment. */
export interface CarriedColumn {
  readonly type: ColumnType
  readonly column: DecodedColumn
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
  /** Rows whose chq_tid is an unsigned 64-bit value of 2^63 or more, kept as the signed id of the same 64 bits. */
  readonly unsignedTid: number
}

/** A columnar batch of one segment's rows. */
export interface Batch extends KeyColumns {
  readonly segment: number
  /** The segment row of the batch's row 0. */
  readonly start: number
  /** Row i's sketch is sketchData[sketchOffsets[i], sketchOffsets[i + 1]) (empty: no sketch). */
  readonly sketchData: Uint8Array
  readonly sketchOffsets: Int32Array
  /** One Float64Array per ROLLUP_COLUMNS slot, and whether each value was present. */
  readonly rollups: readonly Float64Array[]
  readonly rollupPresent: readonly Uint8Array[]
  readonly carried: ReadonlyMap<string, CarriedColumn>
  /** Rows dropped in this batch, indexed by status code (slot 0 unused). */
  readonly drops: Int32Array
  /** Values of carried string columns whose bytes were not valid UTF-8 (replaced by U+FFFD). */
  readonly replacedUtf8: number
}

// Raw values from the general reader: int64 as bigint and dates as numbers, never Date objects;
// strings (and JSON) as their bytes, decoded here as the fast reader decodes them (textColumn).
const RAW_PARSERS: Partial<ParquetParsers> = {
  timestampFromMilliseconds: (v: bigint) => v,
  timestampFromMicroseconds: (v: bigint) => v,
  timestampFromNanoseconds: (v: bigint) => v,
  dateFromDays: (v: number) => v,
  stringFromBytes: (v: Uint8Array) => v as unknown as string,
  jsonFromBytes: (v: Uint8Array) => v,
}

const INT64_MAX = 2n ** 63n - 1n

/**
 * Largest |chq_timestamp| (ms) accepted: its bucket at any frequency (at most an hour) times 10^6,
 * the output's chq_tsns, still fits a signed 64-bit integer (the year 2262). Beyond it: bad_key.
 */
export const MAX_TIMESTAMP_MS = Math.floor(Number(2n ** 63n - 1n) / 1e6) - 3_600_000

/** Unwanted bytes between two wanted column chunks that one read still spans. */
export const MAX_READ_GAP = 256 * 1024

/** A JS value as the general reader or a conversion makes it: its slot and a boxed number, BigInt, string or byte view. */
export const VALUE_BYTES = 96
/** An entry of a Map keyed by object. */
const MAP_ENTRY_BYTES = 48
/** A batch's own arrays per row: status, names, tid, and the timestamp as int64 and as a double. */
const KEY_BYTES_PER_ROW = 1 + 8 + 8 + 8 + 8

/**
 * Reads row groups [first, last] of a segment as one batch carrying the named columns. Its memory
 * is charged to the account as it is decoded and released once the batch is garbage collected
 * (rows of output files still to be written keep their batches). `asText` names the carried
 * columns written as strings: their values that are not valid UTF-8 are counted (replacedUtf8).
 */
export async function readBatch (segment: Segment, first: number, last: number, carry: readonly string[], account: MemoryAccount,
  asText: ReadonlySet<string> = new Set()): Promise<Batch> {
  return await withTab(account, segment.label, async tab => {
    const raw = await readColumns(segment, batchColumns(carry), first, last, tab)
    return toBatch(segment, raw, segment.rowGroups[first]?.start ?? 0, rowsOf(segment, first, last), carry, asText, tab)
  })
}

/** The columns a batch reads: the key, sketch and rollup columns, then the carried ones. */
function batchColumns (carry: readonly string[]): string[] {
  return [METRIC_NAME, TID, TIMESTAMP, SKETCH, ...ROLLUP_COLUMNS, ...carry]
}

/** The columns of a batch without carried ones. */
export const KEY_COLUMNS: readonly string[] = batchColumns([])

/** A batch of decoded columns: keys parsed, rollups and sketches checked, each row given its status. */
export function toBatch (segment: Segment, raw: Map<string, CarriedColumn>, start: number, length: number, carry: readonly string[], asText: ReadonlySet<string>, tab: Tab): Batch {
  const keys = parseKeys(raw, length, tab)
  const { status } = keys
  const rollups: Float64Array[] = []
  const rollupPresent: Uint8Array[] = []
  for (const name of ROLLUP_COLUMNS) {
    const [values, present] = parseDoubles(raw.get(name)?.column, length, tab)
    rollups.push(values)
    rollupPresent.push(present)
  }
  const [sketchData, sketchOffsets, sketchReadable] = sketchBytes(raw.get(SKETCH)?.column, length, tab)
  const drops = new Int32Array(DROP_REASONS.length)
  for (let i = 0; i < length; i++) {
    if (status[i] === USABLE) status[i] = rowStatus(i, rollups, rollupPresent, sketchData, sketchOffsets[i], sketchOffsets[i + 1], sketchReadable)
    drops[status[i]]++
  }
  drops[USABLE] = 0
  const carried = new Map<string, CarriedColumn>()
  let replacedUtf8 = 0
  for (const name of carry) {
    const column = raw.get(name)
    if (!column) continue
    carried.set(name, column)
    if (column.type === 'string' || asText.has(name)) replacedUtf8 += invalidUtf8Values(column.column)
  }
  return { ...keys, segment: segment.index, start, sketchData, sketchOffsets, rollups, rollupPresent, carried, drops, replacedUtf8 }
}

/** Reads only the sort key columns of one row group: enough to check the sort order. Charged as readBatch is. */
export async function readKeys (segment: Segment, group: number, account: MemoryAccount): Promise<KeyColumns> {
  return await withTab(account, segment.label, async tab => {
    const raw = await readColumns(segment, [METRIC_NAME, TID, TIMESTAMP], group, group, tab)
    return parseKeys(raw, rowsOf(segment, group, group), tab)
  })
}

function rowsOf (segment: Segment, first: number, last: number): number {
  let n = 0
  for (let g = first; g <= last; g++) n += segment.rowGroups[g].rows
  return n
}

function rowStatus (i: number, rollups: readonly Float64Array[], present: readonly Uint8Array[],
  sketchData: Uint8Array, start: number, end: number, sketchReadable: boolean): number {
  for (let r = 0; r < rollups.length; r++) {
    if (present[r][i] === 1 && !Number.isFinite(rollups[r][i])) return NONFINITE_ROLLUP
  }
  if (end === start) return singletonStatus(i, rollups, present)
  return sketchReadable && checkSketch(sketchData, start, end) ? USABLE : BAD_SKETCH
}

// A row without a sketch survives only as a legacy singleton: count 1 and a sum a sketch can hold.
function singletonStatus (i: number, rollups: readonly Float64Array[], present: readonly Uint8Array[]): number {
  return present[ROLLUP_COUNT][i] === 1 && rollups[ROLLUP_COUNT][i] === 1 && present[ROLLUP_SUM][i] === 1 &&
    Math.abs(rollups[ROLLUP_SUM][i]) <= MAX_INDEXABLE ? USABLE : MISSING_SKETCH
}

/**
 * Reads the physical columns behind the given current names over row groups [first, last],
 * coalescing duplicate names; returns each as one decoded column, charged to the tab.
 */
async function readColumns (segment: Segment, names: readonly string[], first: number, last: number, tab: Tab): Promise<Map<string, CarriedColumn>> {
  const out = new Map<string, CarriedColumn>()
  // several row groups are joined into new columns: theirs are given back once joined
  const groups = first === last ? tab : new Tab(tab.account, tab.file)
  try {
    const perGroup: Array<Map<string, DecodedColumn>> = []
    for (let g = first; g <= last; g++) perGroup.push(await readGroup(segment, names, g, groups))
    for (const name of names) {
      const physical = segment.columns.get(name)
      if (!physical) continue
      const decoded = physical.map(s => {
        const parts = perGroup.map(m => m.get(s.physical)!)
        if (parts.length > 1) tab.charge(concatBytes(parts))
        return concatColumns(parts)
      })
      out.set(name, decoded.length === 1 ? { type: physical[0].type, column: decoded[0] } : coalesce(physical, decoded, tab))
    }
  } catch (err) {
    throw asCompactorError(err, 'CMP_ERR_BAD_PARQUET', `${segment.label}: row groups ${first}-${last} do not decode`, { file: segment.label })
  } finally {
    if (groups !== tab) groups.close()
  }
  return out
}

/** Decodes the named columns of one row group from a single read of its byte range. */
async function readGroup (segment: Segment, names: readonly string[], group: number, tab: Tab): Promise<Map<string, DecodedColumn>> {
  const { rows } = segment.rowGroups[group]
  const chunks = segment.metadata.row_groups[group].columns
  const wanted: Array<{ source: SourceColumn, index: number }> = []
  for (const name of names) {
    for (const source of segment.columns.get(name) ?? []) wanted.push({ source, index: segment.columnIndex.get(source.physical)! })
  }
  const decoded = new Map<string, DecodedColumn>()
  if (wanted.length === 0) return decoded
  if (rows === 0) {
    // a row group of 0 rows: nothing of its chunks is read
    for (const { source, index } of wanted) decoded.set(source.physical, emptyColumn(segment.elements[index], tab) ?? { kind: 'values', values: [] })
    return decoded
  }
  // one read per run of wanted chunks, a new read where a gap of unwanted bytes is large
  const order = [...wanted].sort((a, b) => segment.chunkRanges[group][a.index][0] - segment.chunkRanges[group][b.index][0])
  const fallback: Array<{ source: SourceColumn, index: number, need: GeneralReaderNeed }> = []
  for (let i = 0; i < order.length;) {
    const lo = segment.chunkRanges[group][order[i].index][0]
    let hi = segment.chunkRanges[group][order[i].index][1]
    let j = i + 1
    while (j < order.length && segment.chunkRanges[group][order[j].index][0] - hi <= MAX_READ_GAP) hi = Math.max(hi, segment.chunkRanges[group][order[j++].index][1])
    // the bytes read are needed until their chunks are decoded
    tab.account.charge(hi - lo, tab.file)
    try {
      const bytes = new Uint8Array(await segment.file.slice(lo, hi))
      for (const { source, index } of order.slice(i, j)) {
        const charged = tab.total
        try {
          decoded.set(source.physical, readChunk(bytes, lo, chunks[index].meta_data!, segment.elements[index], rows, tab))
        } catch (err) {
          if (!(err instanceof UnsupportedChunk)) throw err
          tab.refund(tab.total - charged) // what the fast reader had allocated is garbage
          fallback.push({ source, index, need: checkForGeneralReader(bytes, lo, chunks[index].meta_data!, segment.elements[index], rows, tab) })
        }
      }
    } finally {
      tab.account.release(hi - lo)
    }
    i = j
  }
  if (fallback.length > 0) {
    // hyparquet reads the chunks again, decompresses their pages and makes a JS value per row and dictionary entry
    let kept = 0
    let read = 0
    for (const { index, need } of fallback) {
      kept += (rows + need.dictionaryEntries) * VALUE_BYTES + need.pageBytes
      read += segment.chunkRanges[group][index][1] - segment.chunkRanges[group][index][0]
    }
    tab.charge(kept)
    tab.account.charge(read, tab.file)
    try {
      const start = segment.rowGroups[group].start
      const values = await readGeneral(segment, fallback.map(f => f.source.physical), start, start + rows)
      for (const { source, index } of fallback) {
        const column = values.get(source.physical)!
        decoded.set(source.physical, isText(segment.elements[index]) ? textColumn(column, tab) : column)
      }
    } finally {
      tab.account.release(read)
    }
  }
  return decoded
}

/** The general reader (hyparquet) for chunks the fast path does not decode: values as JS arrays. */
export async function readGeneral (segment: Segment, columns: string[], rowStart: number, rowEnd: number): Promise<Map<string, DecodedColumn>> {
  const parts = new Map<string, unknown[]>()
  await parquetRead({
    file: segment.file,
    metadata: segment.metadata,
    columns,
    rowStart,
    rowEnd,
    compressors: readCompressors,
    utf8: false,
    parsers: RAW_PARSERS,
    onChunk ({ columnName, columnData, rowStart: start, rowEnd: end }) {
      const values = parts.get(columnName) ?? new Array<unknown>(rowEnd - rowStart).fill(null)
      for (let r = Math.max(start, rowStart); r < Math.min(end, rowEnd); r++) values[r - rowStart] = columnData[r - start]
      parts.set(columnName, values)
    },
  })
  const out = new Map<string, DecodedColumn>()
  for (const name of columns) out.set(name, { kind: 'values', values: parts.get(name) ?? new Array<unknown>(rowEnd - rowStart).fill(null) })
  return out
}

/**
 * A string column from the general reader (its values as bytes) as the fast reader decodes it:
 * each distinct value decoded once (a dictionary's entries are shared byte views), bytes that are
 * not valid UTF-8 replaced by U+FFFD and their entry marked invalid.
 */
export function textColumn (column: DecodedColumn, tab: Tab): DecodedColumn {
  if (column.kind !== 'values') return column
  const { values } = column
  tab.charge(4 * values.length)
  const indices = new Int32Array(values.length)
  const dictionary: string[] = []
  const invalid: number[] = []
  // the map of values seen lives until the column is converted
  tab.scratch(MAP_ENTRY_BYTES * values.length, () => {
    const seen = new Map<unknown, number>()
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      if (v === null || v === undefined) {
        indices[i] = -1
        continue
      }
      let k = seen.get(v)
      if (k === undefined) {
        k = dictionary.length
        seen.set(v, k)
        if (v instanceof Uint8Array && !isUtf8(v)) invalid.push(k)
        dictionary.push(toText(v))
      }
      indices[i] = k
    }
  })
  return withInvalid(dictionary, indices, invalid, tab)
}

/** A text column, with its invalid entries flagged when there are any. */
function withInvalid (dictionary: string[], indices: Int32Array, invalid: readonly number[], tab: Tab): DecodedColumn {
  if (invalid.length === 0) return { kind: 'text', dictionary, indices }
  tab.charge(dictionary.length)
  const flags = new Uint8Array(dictionary.length)
  for (const k of invalid) flags[k] = 1
  return { kind: 'text', dictionary, indices, invalid: flags }
}

/**
 * How many values of a column written as strings are not valid UTF-8 (each becomes U+FFFD in its
 * place): per dictionary entry for strings, a check in place for byte strings.
 */
export function invalidUtf8Values (column: DecodedColumn): number {
  let n = 0
  switch (column.kind) {
    case 'text': {
      const { invalid, indices } = column
      if (!invalid) return 0
      for (let i = 0; i < indices.length; i++) if (indices[i] >= 0 && invalid[indices[i]] === 1) n++
      return n
    }
    case 'bytes': {
      const { data, offsets, valid } = column
      for (let i = 0; i < valid.length; i++) if (valid[i] === 1 && !validUtf8(data, offsets[i], offsets[i + 1])) n++
      return n
    }
    case 'values': {
      const { values } = column
      for (let i = 0; i < values.length; i++) {
        const v = values[i]
        if (v instanceof Uint8Array && !validUtf8(v, 0, v.length)) n++
      }
      return n
    }
    default: return 0
  }
}

/** Joins the decoded columns of consecutive row groups into one (row groups of 0 rows add nothing). */
export function concatColumns (all: readonly DecodedColumn[]): DecodedColumn {
  const parts = nonEmpty(all)
  if (parts.length === 1) return parts[0]
  const kind = parts[0].kind
  if (parts.some(p => p.kind !== kind)) return { kind: 'values', values: parts.flatMap(p => Array.from({ length: columnLength(p) }, (_, i) => valueAt(p, i))) }
  const length = parts.reduce((n, p) => n + columnLength(p), 0)
  const valid = (): Uint8Array => concatTyped(Uint8Array, parts.map(p => (p as { valid: Uint8Array }).valid), length)
  switch (kind) {
    case 'int64': {
      const values = concatTyped(BigInt64Array, parts.map(p => (p as { values: BigInt64Array }).values), length)
      // an unsigned column is unsigned in every row group
      return (parts[0] as { unsigned?: boolean }).unsigned ? { kind, values, valid: valid(), unsigned: true } : { kind, values, valid: valid() }
    }
    case 'double': return { kind, values: concatTyped(Float64Array, parts.map(p => (p as { values: Float64Array }).values), length), valid: valid() }
    case 'bool': return { kind, values: concatTyped(Uint8Array, parts.map(p => (p as { values: Uint8Array }).values), length), valid: valid() }
    case 'text': {
      const dictionary: string[] = []
      const texts = parts as Array<Extract<DecodedColumn, { kind: 'text' }>>
      const indices = textIndices(length, texts.reduce((n, p) => n + p.dictionary.length, 0))
      let invalid: Uint8Array | undefined
      if (texts.some(p => p.invalid)) invalid = new Uint8Array(texts.reduce((n, p) => n + p.dictionary.length, 0))
      let at = 0
      for (const p of texts) {
        const base = dictionary.length
        for (const entry of p.dictionary) dictionary.push(entry) // a spread of a large dictionary overflows the stack
        if (p.invalid) invalid!.set(p.invalid, base)
        for (let i = 0; i < p.indices.length; i++) indices[at++] = p.indices[i] < 0 ? -1 : p.indices[i] + base
      }
      return invalid ? { kind, dictionary, indices, invalid } : { kind, dictionary, indices }
    }
    case 'bytes': {
      const all = parts as Array<Extract<DecodedColumn, { kind: 'bytes' }>>
      const data = concatTyped(Uint8Array, all.map(p => p.data), all.reduce((n, p) => n + p.data.length, 0))
      const offsets = new Int32Array(length + 1)
      let row = 0
      let base = 0
      for (const p of all) {
        for (let i = 0; i < p.offsets.length - 1; i++) offsets[row++] = p.offsets[i] + base
        base += p.data.length
      }
      offsets[length] = base
      return { kind, data, offsets, valid: valid() }
    }
    default: return { kind: 'values', values: parts.flatMap(p => Array.from((p as { values: ArrayLike<unknown> }).values)) }
  }
}

/** The parts that hold rows (one part at least). */
function nonEmpty (parts: readonly DecodedColumn[]): readonly DecodedColumn[] {
  if (parts.length === 1) return parts
  const full = parts.filter(p => columnLength(p) > 0)
  return full.length > 0 ? full : parts.slice(0, 1)
}

/** The bytes concatColumns allocates for joining these parts (the strings and values themselves are shared). */
export function concatBytes (all: readonly DecodedColumn[]): number {
  const parts = nonEmpty(all)
  if (parts.length === 1) return 0
  const length = parts.reduce((n, p) => n + columnLength(p), 0)
  const kind = parts[0].kind
  if (parts.some(p => p.kind !== kind)) return length * VALUE_BYTES
  switch (kind) {
    case 'int64': case 'double': return 9 * length
    case 'bool': return 2 * length
    case 'text': return 4 * length + 9 * parts.reduce((n, p) => n + (p as Extract<DecodedColumn, { kind: 'text' }>).dictionary.length, 0)
    case 'bytes': return 5 * length + 4 + parts.reduce((n, p) => n + (p as Extract<DecodedColumn, { kind: 'bytes' }>).data.length, 0)
    default: return 8 * length
  }
}

function concatTyped<T extends Uint8Array | Float64Array | BigInt64Array> (ctor: new (n: number) => T, parts: readonly T[], length: number): T {
  const out = new ctor(length)
  let at = 0
  for (const p of parts) {
    (out as Uint8Array).set(p as Uint8Array, at)
    at += p.length
  }
  return out
}

/** Number of rows in a decoded column. */
export function columnLength (c: DecodedColumn): number {
  switch (c.kind) {
    case 'text': return c.indices.length
    case 'bytes': return c.offsets.length - 1
    default: return c.values.length
  }
}

/**
 * Row i of a decoded column as a JS value (null when absent): for slow paths and conversions only.
 * An unsigned 64-bit value is its unsigned bigint.
 */
export function valueAt (c: DecodedColumn, i: number): unknown {
  switch (c.kind) {
    case 'text': return c.indices[i] < 0 ? null : c.dictionary[c.indices[i]]
    case 'bytes': return c.valid[i] === 1 ? c.data.subarray(c.offsets[i], c.offsets[i + 1]) : null
    case 'bool': return c.valid[i] === 1 ? c.values[i] === 1 : null
    case 'int64': return c.valid[i] === 1 ? (c.unsigned ? BigInt.asUintN(64, c.values[i]) : c.values[i]) : null
    case 'double': return c.valid[i] === 1 ? c.values[i] : null
    default: return c.values[i] ?? null
  }
}

// Two physical columns with one current name: the first non-null value, in file column order.
// Strings stay a text column, their invalid UTF-8 marked as a single column's would be.
export function coalesce (physical: readonly SourceColumn[], columns: readonly DecodedColumn[], tab: Tab): CarriedColumn {
  let type = physical[0].type
  for (const s of physical) if (s.type !== type) type = 'string'
  const length = columnLength(columns[0])
  tab.charge(length * VALUE_BYTES)
  if (type === 'string') return { type, column: coalesceText(columns, length, tab) }
  const values = new Array<unknown>(length)
  for (let i = 0; i < length; i++) {
    let v: unknown = null
    for (let c = 0; c < columns.length && v === null; c++) v = valueAt(columns[c], i)
    values[i] = v
  }
  return { type, column: { kind: 'values', values } }
}

function coalesceText (columns: readonly DecodedColumn[], length: number, tab: Tab): DecodedColumn {
  tab.charge(4 * length)
  const dictionary: string[] = []
  const indices = new Int32Array(length).fill(-1)
  const invalid: number[] = []
  for (let i = 0; i < length; i++) {
    for (const c of columns) {
      let text: string
      let bad = false
      if (c.kind === 'text') {
        const k = c.indices[i]
        if (k < 0) continue
        text = c.dictionary[k]
        bad = c.invalid?.[k] === 1
      } else {
        const v = valueAt(c, i)
        if (v === null) continue
        const decoded = tryText(v)
        bad = decoded === null
        text = decoded ?? toText(v)
      }
      if (bad) invalid.push(dictionary.length)
      indices[i] = dictionary.length
      dictionary.push(text)
      break
    }
  }
  return withInvalid(dictionary, indices, invalid, tab)
}

function parseKeys (raw: Map<string, CarriedColumn>, length: number, tab: Tab): KeyColumns {
  tab.charge(length * KEY_BYTES_PER_ROW)
  const status = new Uint8Array(length)
  const names = parseNames(raw.get(METRIC_NAME)?.column, status, length, tab)
  const tid = new BigInt64Array(length)
  const unsignedTid = parseInt64s(raw.get(TID)?.column, status, tid, tab)
  const tsWide = new BigInt64Array(length)
  parseInt64s(raw.get(TIMESTAMP)?.column, status, tsWide, tab)
  const ts = new Float64Array(length)
  const words = new Int32Array(tsWide.buffer)
  for (let i = 0; i < length; i++) {
    const hi = words[2 * i + 1]
    const v = hi * 4294967296 + (words[2 * i] >>> 0)
    ts[i] = v
    // exact below 2^53, and only compared with a bound far below it
    if (status[i] === USABLE && !(v >= -MAX_TIMESTAMP_MS && v <= MAX_TIMESTAMP_MS)) status[i] = BAD_KEY
  }
  return { length, status, names, tid, tidWords: new Int32Array(tid.buffer), ts, unsignedTid }
}

function parseNames (column: DecodedColumn | undefined, status: Uint8Array, length: number, tab: Tab): Array<string | null> {
  const names = new Array<string | null>(length).fill(null)
  if (!column) {
    status.fill(MISSING_KEY)
    return names
  }
  if (column.kind === 'text') {
    // a name whose bytes are not valid UTF-8 is a bad key, as it is in a byte-string column
    const { dictionary, indices, invalid } = column
    for (let i = 0; i < length; i++) {
      const k = indices[i]
      const name = k < 0 ? '' : dictionary[k]
      if (invalid !== undefined && k >= 0 && invalid[k] === 1) setStatus(status, i, BAD_KEY)
      else if (name.length > 0) names[i] = name
      else setStatus(status, i, MISSING_KEY)
    }
    return names
  }
  tab.charge(length * VALUE_BYTES) // a string made per row
  for (let i = 0; i < length; i++) {
    const v = valueAt(column, i)
    if (v === null) {
      setStatus(status, i, MISSING_KEY)
      continue
    }
    const text = tryText(v)
    if (text === null) setStatus(status, i, BAD_KEY)
    else if (text.length === 0) setStatus(status, i, MISSING_KEY)
    else names[i] = text
  }
  return names
}

/**
 * Parses an int64 key column into `out`; nulls are missing keys, unparsable values bad keys. An
 * unsigned 64-bit value keeps its 64 bits (read as signed); returns how many were 2^63 or more.
 */
function parseInt64s (column: DecodedColumn | undefined, status: Uint8Array, out: BigInt64Array, tab: Tab): number {
  if (!column) {
    status.fill(MISSING_KEY)
    return 0
  }
  let unsigned = 0
  if (column.kind === 'int64') {
    out.set(column.values)
    const words = column.unsigned ? new Int32Array(column.values.buffer, column.values.byteOffset, 2 * column.values.length) : null
    for (let i = 0; i < out.length; i++) {
      if (column.valid[i] === 0) setStatus(status, i, MISSING_KEY)
      else if (words && words[2 * i + 1] < 0) unsigned++
    }
    return unsigned
  }
  if (column.kind === 'text') {
    // parse each distinct string once
    tab.charge(column.dictionary.length * VALUE_BYTES)
    const parsed = column.dictionary.map(parseInt64)
    for (let i = 0; i < out.length; i++) {
      const k = column.indices[i]
      if (k < 0) setStatus(status, i, MISSING_KEY)
      else if (parsed[k] === null) setStatus(status, i, BAD_KEY)
      else out[i] = parsed[k]!
    }
    return 0
  }
  for (let i = 0; i < out.length; i++) {
    const v = valueAt(column, i)
    if (typeof v === 'bigint') {
      // an unsigned 64-bit value (the general reader's, or a coalesced one) wraps to the same 64 bits
      if (v > INT64_MAX) unsigned++
      out[i] = v
    } else if (v === null) setStatus(status, i, MISSING_KEY)
    else {
      const parsed = parseInt64(v)
      if (parsed === null) setStatus(status, i, BAD_KEY)
      else out[i] = parsed
    }
  }
  return unsigned
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

/** A double column: values (0 where absent) and a presence flag per row; doubles pass through uncopied. */
function parseDoubles (column: DecodedColumn | undefined, length: number, tab: Tab): [Float64Array, Uint8Array] {
  if (column?.kind === 'double') return [column.values, column.valid]
  tab.charge(9 * length)
  if (!column) return [new Float64Array(length), new Uint8Array(length)]
  const out = new Float64Array(length)
  const present = new Uint8Array(length)
  for (let i = 0; i < length; i++) {
    const v = valueAt(column, i)
    if (v === null) continue
    out[i] = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : Number(tryText(v) ?? NaN)
    present[i] = 1
  }
  return [out, present]
}

/** The sketch column as one buffer with offsets; false when its values are not byte strings. */
function sketchBytes (column: DecodedColumn | undefined, length: number, tab: Tab): [Uint8Array, Int32Array, boolean] {
  if (column?.kind === 'bytes') return [column.data, column.offsets, true] // absent values have empty ranges
  tab.charge(12 * (length + 1))
  if (!column) return [new Uint8Array(0), new Int32Array(length + 1), true]
  // values from the general reader: byte strings are copied; anything else is not a sketch
  const values = Array.from({ length }, (_, i) => valueAt(column, i))
  const readable = values.every(v => v === null || v instanceof Uint8Array)
  const offsets = new Int32Array(length + 1)
  for (let i = 0; i < length; i++) {
    const v = values[i]
    const size = v === null || v === '' ? 0 : v instanceof Uint8Array ? v.length : 1
    offsets[i + 1] = offsets[i] + size
  }
  tab.charge(offsets[length])
  const data = new Uint8Array(offsets[length])
  if (readable) values.forEach((v, i) => { if (v !== null) data.set(v as Uint8Array, offsets[i]) })
  return [data, offsets, readable]
}

/** Any decoded value as text (bytes as UTF-8, a leading BOM kept); null when bytes are not valid UTF-8. */
export function tryText (v: unknown): string | null {
  if (typeof v === 'string') return v
  if (v instanceof Uint8Array) return isUtf8(v) ? toText(v) : null
  return String(v)
}

/** Any decoded value as text; invalid UTF-8 bytes are replaced rather than refused. */
export function toText (v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8')
  return typeof v === 'string' ? v : String(v)
}
