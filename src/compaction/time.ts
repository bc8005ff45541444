// Time in a compaction: the bucket widths it accepts, how a timestamp falls into its bucket, and the
// UTC day a dateint names. Each rule is written here once; the service, the CLI and openapi.yaml
// (checked by test/openapi.test.ts) take them from here.
import { CompactorError, type ErrorCode } from '../errors.ts'

/** Bucket widths a compaction accepts, in ms (docs/DOMAIN.md section 4). */
export const FREQUENCIES: readonly number[] = [10_000, 60_000, 300_000, 1_200_000, 3_600_000]
export const DEFAULT_FREQUENCY_MS = 10_000

/** Throws CMP_ERR_BAD_FREQUENCY, naming what was given and what is accepted, unless frequency is one of FREQUENCIES. */
export function checkFrequency (frequency: unknown, given: unknown = frequency): number {
  if (typeof frequency !== 'number' || !FREQUENCIES.includes(frequency)) {
    throw new CompactorError('CMP_ERR_BAD_FREQUENCY', `got ${typeof given === 'string' ? `'${given}'` : String(given)}; accepted: ${FREQUENCIES.join(', ')}`,
      { field: 'frequency_ms', value: given, accepted: FREQUENCIES })
  }
  return frequency
}

/** The bucket a timestamp falls in: floor(ts / period) * period, exact for safe integers. */
export function bucketOf (ts: number, periodMs: number): number {
  const r = ts % periodMs
  return r < 0 ? ts - r - periodMs : ts - r
}

/** The UTC day [start, end) in ms of a YYYYMMDD dateint, or null when it is not a real date. */
export function dateintRange (dateint: number): [number, number] | null {
  const y = Math.floor(dateint / 10000)
  const m = Math.floor(dateint / 100) % 100
  const d = dateint % 100
  const start = Date.UTC(y, m - 1, d)
  const day = new Date(start)
  if (!Number.isInteger(dateint) || day.getUTCFullYear() !== y || day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d) return null
  return [start, start + 86_400_000]
}

/**
 * The day of a dateint; throws unless it is a real YYYYMMDD date, with the caller's code: the
 * request's CMP_ERR_BAD_REQUEST over HTTP, the engine's CMP_ERR_BAD_ARGUMENT elsewhere (the CLI).
 */
export function checkDateint (dateint: number, code: Extract<ErrorCode, 'CMP_ERR_BAD_REQUEST' | 'CMP_ERR_BAD_ARGUMENT'> = 'CMP_ERR_BAD_ARGUMENT'): [number, number] {
  const day = dateintRange(dateint)
  if (day === null) throw new CompactorError(code, `dateint must be a YYYYMMDD date, got ${dateint}`, { field: 'dateint' })
  return day
}
