// The error catalog: every error the compactor raises has a stable code, an HTTP status and one
// message template. Callers and tests match on the code, never on the text.

export interface ErrorSpec {
  readonly status: number
  readonly message: string
}

export const ERRORS = {
  CMP_ERR_BAD_PARQUET: { status: 400, message: 'not a readable parquet file' },
  CMP_ERR_UNSUPPORTED_SCHEMA: { status: 400, message: 'the parquet schema cannot be compacted' },
  CMP_ERR_INPUT_NOT_FOUND: { status: 400, message: 'input not found' },
  CMP_ERR_NO_INPUTS: { status: 400, message: 'no input segments were given' },
  CMP_ERR_BAD_FREQUENCY: { status: 400, message: 'frequency_ms must be one of 10000, 60000, 300000, 1200000, 3600000' },
  CMP_ERR_BAD_ARGUMENT: { status: 400, message: 'invalid argument' },
  CMP_ERR_OUTPUT: { status: 500, message: 'could not write the output' },
  CMP_ERR_INTERNAL: { status: 500, message: 'internal error' },
} as const satisfies Record<string, ErrorSpec>

export type ErrorCode = keyof typeof ERRORS

/** A catalogued error: `code` is stable, `message` is for people, `details` names what was wrong. */
export class CompactorError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly details: Record<string, unknown> | undefined

  constructor (code: ErrorCode, detail?: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    const spec = ERRORS[code]
    super(detail ? `${spec.message}: ${detail}` : spec.message, options)
    this.name = 'CompactorError'
    this.code = code
    this.status = spec.status
    this.details = details
  }

  /** The JSON body an API returns for this error. */
  toJSON (): { code: ErrorCode, message: string, details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message }
  }
}

/** Wraps any error as a catalogued one; catalogued errors pass through unchanged. */
export function asCompactorError (err: unknown, code: ErrorCode, detail: string, details?: Record<string, unknown>): CompactorError {
  if (err instanceof CompactorError) return err
  const reason = err instanceof Error ? err.message : String(err)
  return new CompactorError(code, `${detail} (${reason})`, details, { cause: err })
}
