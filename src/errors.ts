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
  CMP_ERR_BAD_FREQUENCY: { status: 400, message: 'frequency_ms is not one of the accepted bucket widths' },
  CMP_ERR_BAD_ARGUMENT: { status: 400, message: 'invalid argument' },
  CMP_ERR_OUTPUT: { status: 500, message: 'could not write the output' },
  CMP_ERR_INTERNAL: { status: 500, message: 'internal error' },
  // the HTTP service
  CMP_ERR_BAD_REQUEST: { status: 400, message: 'invalid request' },
  CMP_ERR_BAD_JSON: { status: 400, message: 'the request body is not valid JSON' },
  CMP_ERR_BAD_URL: { status: 400, message: 'unsupported or malformed URL' },
  CMP_ERR_UNAUTHORIZED: { status: 401, message: 'a valid bearer token is required' },
  CMP_ERR_DEBUG_FORBIDDEN: { status: 403, message: 'the debug endpoints answer loopback connections only unless DEBUG_TOKEN is set' },
  CMP_ERR_PATH_FORBIDDEN: { status: 403, message: 'the path is outside the storage root' },
  CMP_ERR_HOST_FORBIDDEN: { status: 403, message: 'the host is not in the allow-list' },
  CMP_ERR_BUCKET_FORBIDDEN: { status: 403, message: 'the bucket is not in S3_ALLOWED_BUCKETS' },
  CMP_ERR_NOT_FOUND: { status: 404, message: 'no such route' },
  CMP_ERR_NOT_ACCEPTABLE: { status: 406, message: 'the response can be application/x-tar or application/vnd.apache.parquet' },
  CMP_ERR_REQUEST_TIMEOUT: { status: 408, message: 'the request did not arrive in time: too slow, or stalled' },
  CMP_ERR_PROFILE_IN_PROGRESS: { status: 409, message: 'a CPU profile is already being captured: retry when it ends' },
  CMP_ERR_FILE_TOO_LARGE: { status: 413, message: 'an input file exceeds the size limit' },
  CMP_ERR_TOO_MANY_FILES: { status: 413, message: 'too many files in one request' },
  CMP_ERR_REQUEST_TOO_LARGE: { status: 413, message: 'the request exceeds the size limit' },
  CMP_ERR_OVER_BUDGET: { status: 413, message: 'the compaction needs more memory than the whole budget: send fewer or smaller segments' },
  CMP_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'POST /compact takes multipart/form-data or application/json' },
  CMP_ERR_EMPTY_RESULT: { status: 422, message: 'no rows are left to write' },
  CMP_ERR_COMPACTION_TIMEOUT: { status: 422, message: 'the compaction took longer than COMPACTION_TIMEOUT_MS and was stopped' },
  CMP_ERR_INPUT_TOO_COSTLY: { status: 422, message: 'the inputs need more memory than the compaction reserved for them: retrying cannot help' },
  CMP_ERR_UPSTREAM: { status: 502, message: 'fetching a segment failed' },
  CMP_ERR_TEMP_SPACE: { status: 503, message: 'temporary disk space is taken by other requests, retry later' },
  CMP_ERR_DRAINING: { status: 503, message: 'the service is shutting down' },
  CMP_ERR_OVERLOADED: { status: 503, message: 'the service has as many compactions or uploads as it takes, retry later' },
  CMP_ERR_UNDER_PRESSURE: { status: 503, message: 'the process is over its memory limit or its event loop lags: retry later' },
  CMP_ERR_COMPACTION_OOM: { status: 503, message: 'the compaction\'s child process died (killed from outside, or aborted); the service is up, retry later' },
  CMP_ERR_WORKER_UNAVAILABLE: { status: 503, message: 'no compaction child process can be started now, retry later' },
  CMP_ERR_CANCELLED: { status: 400, message: 'the client went away: the compaction was cancelled' },
  CMP_ERR_UPSTREAM_TIMEOUT: { status: 504, message: 'fetching a segment took too long' },
  CMP_ERR_CONFIG: { status: 500, message: 'invalid configuration' },
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

  /** The same error with more details, e.g. the request field it came from. */
  withDetails (extra: Record<string, unknown>): CompactorError {
    const copy = new CompactorError(this.code, undefined, { ...this.details, ...extra }, { cause: this.cause })
    copy.message = this.message
    return copy
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
