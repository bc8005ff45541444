// Column names (current and legacy), logical column types and their union, and the key columns.

/** The logical type of a column as the engine sees it. */
export type ColumnType = 'string' | 'bytes' | 'int64' | 'double' | 'bool'

export const METRIC_NAME = 'metric_name'
export const TID = 'chq_tid'
export const TIMESTAMP = 'chq_timestamp'
export const TSNS = 'chq_tsns'
export const SKETCH = 'chq_sketch'
/**
 * The legacy row id. The lake's metric tables have none (its current writer writes none for
 * metrics): an input's is ignored, never read nor carried, and no output has one.
 */
export const LEGACY_ROW_ID = 'chq_id'
export const METRIC_TYPE = 'chq_metric_type'

/**
 * The rollup columns, in the order the engine keeps them: slot i of every rollup array (a batch's,
 * the output rows', what SketchAccumulator.rollups() fills) is ROLLUP_COLUMNS[i]. The only list of
 * the rollups: the slot constants below are checked against it by the compiler, and the quantiles
 * are read from the percentile columns' names.
 */
export const ROLLUP_COLUMNS = [
  'chq_rollup_count', 'chq_rollup_sum', 'chq_rollup_avg', 'chq_rollup_min', 'chq_rollup_max',
  'chq_rollup_p25', 'chq_rollup_p50', 'chq_rollup_p75', 'chq_rollup_p90', 'chq_rollup_p95', 'chq_rollup_p99',
] as const
export type RollupColumn = typeof ROLLUP_COLUMNS[number]

/** The slot of a rollup column in ROLLUP_COLUMNS, as a type: a slot constant that is not its column's position does not compile. */
type SlotOf<C extends RollupColumn, Columns extends readonly unknown[] = typeof ROLLUP_COLUMNS, Before extends unknown[] = []> =
  Columns extends readonly [infer First, ...infer Rest] ? (First extends C ? Before['length'] : SlotOf<C, Rest, [...Before, First]>) : never

export const ROLLUP_COUNT: SlotOf<'chq_rollup_count'> = 0
export const ROLLUP_SUM: SlotOf<'chq_rollup_sum'> = 1
export const ROLLUP_AVG: SlotOf<'chq_rollup_avg'> = 2
export const ROLLUP_MIN: SlotOf<'chq_rollup_min'> = 3
export const ROLLUP_MAX: SlotOf<'chq_rollup_max'> = 4
/** The first percentile slot: every slot from it on is a percentile, chq_rollup_p<hundredths>. */
export const ROLLUP_FIRST_PERCENTILE: SlotOf<'chq_rollup_p25'> = 5
/** The quantile of each percentile slot from ROLLUP_FIRST_PERCENTILE on, as its column names it (chq_rollup_p95: 0.95). */
export const PERCENTILES: readonly number[] = ROLLUP_COLUMNS.slice(ROLLUP_FIRST_PERCENTILE).map(c => Number(c.slice('chq_rollup_p'.length)) / 100)

/** Columns whose type is fixed whatever an input says, and which every output has. */
export const FORCED_TYPES: ReadonlyMap<string, ColumnType> = new Map<string, ColumnType>([
  [METRIC_NAME, 'string'], [TID, 'int64'], [TIMESTAMP, 'int64'], [TSNS, 'int64'],
  [SKETCH, 'bytes'], [METRIC_TYPE, 'string'],
  ...ROLLUP_COLUMNS.map(c => [c, 'double'] as [string, ColumnType]),
])

/** Columns the engine computes or rewrites itself; everything else is carried from a group's first row. */
export const ENGINE_COLUMNS: ReadonlySet<string> = new Set([METRIC_NAME, TID, TIMESTAMP, TSNS, SKETCH, ...ROLLUP_COLUMNS])

/** Input columns no output has (docs/DOMAIN.md section 5): left out of the output schema, so never read. */
export const IGNORED_COLUMNS: ReadonlySet<string> = new Set([LEGACY_ROW_ID])

const LEGACY_EXTRAS = new Set(['description', 'unit', 'scope_name', 'scope_url'])

/** Translates a column name of either generation to its current name (docs/DOMAIN.md section 2). */
export function currentName (name: string): string {
  if (name === '_cardinalhq.name') return METRIC_NAME
  if (name.startsWith('_cardinalhq.')) return 'chq_' + dotsToUnderscores(name.slice('_cardinalhq.'.length))
  if (name.startsWith('rollup_')) return 'chq_' + dotsToUnderscores(name)
  if (name === 'sketch') return SKETCH
  if (name.startsWith('metric.')) return 'attr_' + dotsToUnderscores(name.slice('metric.'.length))
  if (name.startsWith('resource.')) return 'resource_' + dotsToUnderscores(name.slice('resource.'.length))
  if (LEGACY_EXTRAS.has(name)) return 'chq_' + name
  return dotsToUnderscores(name)
}

function dotsToUnderscores (s: string): string {
  return s.includes('.') ? s.replaceAll('.', '_') : s
}

/** The union of two column types (docs/DOMAIN.md section 2): equal stays, strings win, int64+double is double. */
export function promote (a: ColumnType, b: ColumnType): ColumnType {
  if (a === b) return a
  if (a === 'string' || b === 'string' || a === 'bytes' || b === 'bytes' || a === 'bool' || b === 'bool') return 'string'
  return 'double' // int64 + double
}

/** Orders column names by their UTF-8 bytes, the order output columns are written in. */
export function compareNames (a: string, b: string): number {
  return compareUtf8(a, b)
}

/**
 * Compares two strings in UTF-8 byte order (= code point order), not JS UTF-16 order.
 * The two differ only where a surrogate meets a code unit at or above U+E000.
 */
export function compareUtf8 (a: string, b: string): number {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i)
    let cb = b.charCodeAt(i)
    if (ca !== cb) {
      if (ca >= 0xD800 && cb >= 0xD800) {
        ca = ca >= 0xE000 ? ca - 0x800 : ca + 0x2000
        cb = cb >= 0xE000 ? cb - 0x800 : cb + 0x2000
      }
      return ca - cb
    }
  }
  return a.length - b.length
}
