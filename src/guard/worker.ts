// The compaction worker's side of the pool: runs one job at a time through the engine and relays
// each finished output file to the main thread, waiting for it to be taken before going on. It also
// profiles its own thread on request (CPU and heap), since a profiler only sees its own isolate.
import type { MessagePort } from 'node:worker_threads'
import type { CompactionResult } from '../compaction/compact.ts'
import type { SegmentMeta } from '../compaction/write.ts'
import { heapProfile, holdHeapSampling, startCpuProfile, stopCpuProfile } from '../debug/thread-profile.ts'
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
  | { readonly type: 'cpu-profile-start', readonly intervalMicros: number, readonly durationMillis: number }
  | { readonly type: 'cpu-profile-stop', readonly id: number }
  | { readonly type: 'heap-profile', readonly id: number }

export type FromWorker =
  | { readonly type: 'file', readonly file: SegmentMeta }
  | { readonly type: 'done', readonly result: CompactionResult }
  | { readonly type: 'failed', readonly error: WireError }
  /** The answer to cpu-profile-stop or heap-profile: the encoded profile, null if there is none. */
  | { readonly type: 'profile', readonly id: number, readonly data: Uint8Array | null }

/** Serves compaction jobs on a port; `before` runs ahead of each job (tests use it to hold one). */
export function serveCompactions (port: MessagePort, before: (job: CompactionJob) => Promise<void> = async () => {}): void {
  let fileTaken: ((error: WireError | null) => void) | null = null
  // sampled for the thread's whole life, so a heap profile shows what a running compaction holds
  holdHeapSampling()
  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'run': return void run(message.job, message.outDir)
      case 'file-taken': return fileTaken?.(null)
      case 'file-failed': return fileTaken?.(message.error)
      case 'cpu-profile-start': return void startCpuProfile(message.intervalMicros, message.durationMillis)
      case 'cpu-profile-stop': return answerProfile(port, message.id, stopCpuProfile)
      case 'heap-profile': return answerProfile(port, message.id, heapProfile)
    }
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

/** Posts a profile request's answer; a profiler that fails answers null rather than leave the request waiting. */
function answerProfile (port: MessagePort, id: number, take: () => Uint8Array | null): void {
  let data: Uint8Array | null = null
  try {
    data = take()
  } catch {}
  port.postMessage({ type: 'profile', id, data } satisfies FromWorker)
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
