// What the service and a compaction child say to each other over the IPC channel (Node's 'advanced'
// serialization: structured clone, so bigints and byte arrays cross as they are).
import type { CompactionResult, SegmentMeta } from '../compaction/index.ts'
import { CompactorError, type ErrorCode } from '../errors.ts'
import type { CompactionJob } from '../service/job.ts'

/** An error as it crosses processes: the catalog's code when it has one. */
export interface WireError {
  readonly code: ErrorCode | undefined
  readonly message: string
  readonly details: Record<string, unknown> | undefined
}

export type ToChild =
  /** Run a job; the engine's decoded data may hold at most memoryLimitBytes (its share of the reservation). */
  | { readonly type: 'run', readonly job: CompactionJob, readonly outDir: string, readonly memoryLimitBytes: number }
  | { readonly type: 'file-taken' }
  | { readonly type: 'file-failed', readonly error: WireError }
  /** The answers to spill: its bytes were taken from the temporary disk budget, or refused. */
  | { readonly type: 'spill-taken' }
  | { readonly type: 'spill-failed', readonly error: WireError }
  | { readonly type: 'cpu-profile-start', readonly intervalMicros: number, readonly durationMillis: number }
  | { readonly type: 'cpu-profile-stop', readonly id: number }
  | { readonly type: 'heap-profile', readonly id: number }
  /** Collect garbage now and say when done (the parent then reads the child's memory). */
  | { readonly type: 'collect' }

export type FromChild =
  /** Started and waiting for work. */
  | { readonly type: 'ready' }
  | { readonly type: 'file', readonly file: SegmentMeta }
  /** A run of an input out of order was written (bytes on the temporary disk); the child waits for the answer. */
  | { readonly type: 'spill', readonly bytes: number }
  | { readonly type: 'done', readonly result: CompactionResult }
  | { readonly type: 'failed', readonly error: WireError }
  /** The answer to collect. */
  | { readonly type: 'collected' }
  /** The answer to cpu-profile-stop or heap-profile: the encoded profile, null if there is none. */
  | { readonly type: 'profile', readonly id: number, readonly data: Uint8Array | null }

export function toWire (err: unknown): WireError {
  if (err instanceof CompactorError) return { code: err.code, message: err.message, details: err.details }
  return { code: undefined, message: err instanceof Error ? err.message : String(err), details: undefined }
}

/** The catalogued error a wire error stands for; an uncatalogued one is CMP_ERR_INTERNAL. */
export function fromWire (error: WireError): CompactorError {
  if (error.code === undefined) return new CompactorError('CMP_ERR_INTERNAL', error.message)
  const err = new CompactorError(error.code, undefined, error.details)
  err.message = error.message
  return err
}
