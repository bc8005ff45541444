// The compaction worker's side of the pool: runs one job at a time through the engine and relays
// each finished output file to the main thread, waiting for it to be taken before going on.
import type { MessagePort } from 'node:worker_threads'
import type { CompactionResult } from '../compaction/compact.ts'
import type { SegmentMeta } from '../compaction/write.ts'
import { CompactorError, type ErrorCode } from '../errors.ts'
import { runJob, type CompactionJob } from '../service/job.ts'

/** An error as it crosses threads: the catalog's code when it has one. */
export interface WireError {
  readonly code: ErrorCode | undefined
  readonly message: string
  readonly details: Record<string, unknown> | undefined
}

export type ToWorker =
  | { readonly type: 'run', readonly job: CompactionJob, readonly outDir: string }
  | { readonly type: 'file-taken' }
  | { readonly type: 'file-failed', readonly error: WireError }

export type FromWorker =
  | { readonly type: 'file', readonly file: SegmentMeta }
  | { readonly type: 'done', readonly result: CompactionResult }
  | { readonly type: 'failed', readonly error: WireError }

/** Serves compaction jobs on a port; `before` runs ahead of each job (tests use it to hold one). */
export function serveCompactions (port: MessagePort, before: (job: CompactionJob) => Promise<void> = async () => {}): void {
  let fileTaken: ((error: WireError | null) => void) | null = null
  port.on('message', (message: ToWorker) => {
    if (message.type === 'run') void run(message.job, message.outDir)
    else fileTaken?.(message.type === 'file-failed' ? message.error : null)
  })
  const run = async (job: CompactionJob, outDir: string): Promise<void> => {
    try {
      await before(job)
      const result = await runJob(job, outDir, async file => {
        const error = await new Promise<WireError | null>(resolve => {
          fileTaken = resolve
          port.postMessage({ type: 'file', file } satisfies FromWorker)
        })
        fileTaken = null
        if (error) throw fromWire(error)
      })
      port.postMessage({ type: 'done', result } satisfies FromWorker)
    } catch (err) {
      post(port, { type: 'failed', error: toWire(err) })
    }
  }
}

/** Posts a message; details that cannot be cloned are left out rather than lose the error. */
function post (port: MessagePort, message: FromWorker): void {
  try {
    port.postMessage(message)
  } catch {
    if (message.type === 'failed') port.postMessage({ type: 'failed', error: { ...message.error, details: undefined } } satisfies FromWorker)
  }
}

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
