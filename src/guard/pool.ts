// The compaction worker pool: compactions run on worker threads, each with its own heap limit, so
// the event loop keeps answering probes and metrics. A worker that dies or runs out of memory fails
// only its own job (CMP_ERR_COMPACTION_OOM) and is replaced; an aborted job terminates its worker.
import { Worker } from 'node:worker_threads'
import type { CompactionResult } from '../compaction/compact.ts'
import type { SegmentMeta } from '../compaction/write.ts'
import { CompactorError } from '../errors.ts'
import type { CompactionJob } from '../service/job.ts'
import { fromWire, toWire, type FromWorker, type ToWorker } from './worker.ts'

export interface PoolOptions {
  /** Worker threads at most. */
  readonly size: number
  /** Old-generation heap limit of each worker, in MiB. */
  readonly heapLimitMb: number
  /** A job running longer is stopped (its worker terminated) with CMP_ERR_COMPACTION_TIMEOUT. */
  readonly timeoutMs: number
  /** The worker's entry module (tests give one that can hold a job). */
  readonly script?: URL
}

interface Task {
  readonly job: CompactionJob
  readonly outDir: string
  readonly onFile: (file: SegmentMeta) => Promise<void>
  readonly resolve: (result: CompactionResult) => void
  readonly reject: (err: Error) => void
  readonly signal: AbortSignal | undefined
}

interface Slot {
  readonly worker: Worker
  task: Task | null
  /** Set once the task has been answered, so that the worker's exit does not answer it again. */
  settled: boolean
  /** Terminating after an abandoned job: never given another. */
  retiring: boolean
  /** Its name in profiles: worker-<threadId>. */
  readonly thread: string
  /** Profile requests waiting for this worker's answer, by request id. */
  readonly profileReplies: Map<number, (data: Uint8Array | null) => void>
}

/** A worker's part of a profile: its thread and encoded profile, null when it was lost (exited, no answer in time). */
export interface WorkerProfile {
  readonly thread: string
  readonly data: Uint8Array | null
}

/**
 * Young generation of each worker, in MiB. V8 sizes it from the machine's memory (tens of MiB per
 * isolate here); the engine's bulk data are typed arrays outside the heap, so a small one costs
 * little time and keeps each idle worker's RSS down (bench/load.ts at 128 concurrent: about 80 MiB
 * of peak RSS less with two workers).
 */
const YOUNG_GENERATION_MB = 8

const ENTRY = new URL('./compact-worker.ts', import.meta.url)

/** Worker threads started on demand up to `size`, kept while idle, replaced as soon as one dies. */
export class CompactionPool {
  readonly size: number
  private readonly heapLimitMb: number
  private readonly timeoutMs: number
  private readonly script: URL
  private readonly slots = new Set<Slot>()
  private readonly waiting: Task[] = []
  private closed = false
  /** The CPU profile the workers take, while one is being captured, and the workers asked to. */
  private cpuProfile: { readonly intervalMicros: number, readonly durationMillis: number, readonly profiled: Set<Slot> } | null = null
  private lastProfileId = 0

  constructor (options: PoolOptions) {
    this.size = options.size
    this.heapLimitMb = options.heapLimitMb
    this.timeoutMs = options.timeoutMs
    this.script = options.script ?? ENTRY
  }

  /** Live workers. */
  get workers (): number {
    return this.slots.size
  }

  /** Workers running a job. */
  get busy (): number {
    let n = 0
    for (const slot of this.slots) if (slot.task) n++
    return n
  }

  /** Jobs waiting for a free worker. */
  get queued (): number {
    return this.waiting.length
  }

  /** The threads running a job (tests terminate one to play a crash). */
  busyWorkers (): Worker[] {
    return [...this.slots].filter(s => s.task).map(s => s.worker)
  }

  /** Runs a job on a worker; onFile is called on this thread as each file is complete. An abort terminates the worker. */
  run (job: CompactionJob, outDir: string, onFile: (file: SegmentMeta) => Promise<void>, signal?: AbortSignal): Promise<CompactionResult> {
    if (this.closed) return Promise.reject(new CompactorError('CMP_ERR_DRAINING'))
    if (signal?.aborted) return Promise.reject(signal.reason)
    return new Promise<CompactionResult>((resolve, reject) => {
      this.waiting.push({ job, outDir, onFile, resolve, reject, signal })
      this.dispatch()
    })
  }

  /** Terminates every worker; jobs waiting or running fail with CMP_ERR_DRAINING. */
  async close (): Promise<void> {
    this.closed = true
    for (const task of this.waiting.splice(0)) task.reject(new CompactorError('CMP_ERR_DRAINING'))
    await Promise.all([...this.slots].map(async slot => {
      this.finish(slot, new CompactorError('CMP_ERR_DRAINING'))
      await slot.worker.terminate()
    }))
    this.slots.clear()
  }

  /** Starts a CPU profile on every live worker, and on each one started until stopCpuProfiles(). */
  startCpuProfiles (intervalMicros: number, durationMillis: number): void {
    this.cpuProfile = { intervalMicros, durationMillis, profiled: new Set() }
    for (const slot of this.slots) this.startCpuProfile(slot)
  }

  /**
   * Stops the workers' CPU profiles and collects them. A worker that exited during the capture, or
   * does not answer within waitMs (busy in a long synchronous stretch), gives null.
   */
  async stopCpuProfiles (waitMs: number): Promise<WorkerProfile[]> {
    const profiled = this.cpuProfile?.profiled ?? new Set<Slot>()
    this.cpuProfile = null
    return Promise.all([...profiled].map(async slot => ({
      thread: slot.thread,
      data: this.slots.has(slot) ? await this.askProfile(slot, id => ({ type: 'cpu-profile-stop', id }), waitMs) : null,
    })))
  }

  /** Every live worker's heap profile; one that does not answer within waitMs gives null. */
  async heapProfiles (waitMs: number): Promise<WorkerProfile[]> {
    return Promise.all([...this.slots].map(async slot => ({
      thread: slot.thread,
      data: await this.askProfile(slot, id => ({ type: 'heap-profile', id }), waitMs),
    })))
  }

  private startCpuProfile (slot: Slot): void {
    if (!this.cpuProfile) return
    this.cpuProfile.profiled.add(slot)
    const { intervalMicros, durationMillis } = this.cpuProfile
    slot.worker.postMessage({ type: 'cpu-profile-start', intervalMicros, durationMillis } satisfies ToWorker)
  }

  /** Sends a profile request to a worker; its answer, or null on exit or after waitMs. */
  private askProfile (slot: Slot, request: (id: number) => ToWorker, waitMs: number): Promise<Uint8Array | null> {
    const id = ++this.lastProfileId
    return new Promise(resolve => {
      const timer = setTimeout(() => answer(null), waitMs)
      const answer = (data: Uint8Array | null): void => {
        clearTimeout(timer)
        slot.profileReplies.delete(id)
        resolve(data)
      }
      slot.profileReplies.set(id, answer)
      slot.worker.postMessage(request(id))
    })
  }

  private dispatch (): void {
    while (this.waiting.length > 0) {
      const task = this.waiting[0]
      if (task.signal?.aborted) {
        this.waiting.shift()
        task.reject(task.signal.reason)
        continue
      }
      const slot = [...this.slots].find(s => !s.task && !s.retiring) ?? (this.slots.size < this.size ? this.start() : null)
      if (!slot) return
      this.waiting.shift()
      this.assign(slot, task)
    }
  }

  private assign (slot: Slot, task: Task): void {
    slot.task = task
    slot.settled = false
    const onAbort = (): void => {
      this.finish(slot, task.signal!.reason)
      this.retire(slot)
    }
    task.signal?.addEventListener('abort', onAbort, { once: true })
    // a hostile input can keep a decoder busy for ever: past the time limit the worker is stopped
    const timer = setTimeout(() => {
      this.finish(slot, new CompactorError('CMP_ERR_COMPACTION_TIMEOUT', undefined, { timeout_ms: this.timeoutMs }))
      this.retire(slot)
    }, this.timeoutMs)
    const cleanup = (): void => {
      clearTimeout(timer)
      task.signal?.removeEventListener('abort', onAbort)
    }
    // the slot's task is answered through finish(); the listener goes with it
    slot.task = { ...task, resolve: r => { cleanup(); task.resolve(r) }, reject: e => { cleanup(); task.reject(e) } }
    slot.worker.postMessage({ type: 'run', job: task.job, outDir: task.outDir } satisfies ToWorker)
  }

  private start (): Slot {
    const worker = new Worker(this.script, { resourceLimits: { maxOldGenerationSizeMb: this.heapLimitMb, maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } })
    const slot: Slot = { worker, task: null, settled: true, retiring: false, thread: `worker-${worker.threadId}`, profileReplies: new Map() }
    this.slots.add(slot)
    this.startCpuProfile(slot)
    worker.on('message', (message: FromWorker) => this.receive(slot, message))
    worker.on('error', err => {
      const oom = (err as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY'
      this.finish(slot, new CompactorError('CMP_ERR_COMPACTION_OOM', oom ? 'the worker exceeded its heap limit' : `the worker failed: ${err.message}`))
    })
    let online = false
    worker.once('online', () => { online = true })
    worker.on('exit', code => {
      this.finish(slot, new CompactorError('CMP_ERR_COMPACTION_OOM', `the worker exited (code ${code})`))
      for (const answer of [...slot.profileReplies.values()]) answer(null)
      this.slots.delete(slot)
      if (this.closed) return
      // replaced at once, so the pool keeps its size (a worker that never came up is replaced on demand only)
      if (online) this.start()
      this.dispatch()
    })
    return slot
  }

  private receive (slot: Slot, message: FromWorker): void {
    if (message.type === 'profile') return slot.profileReplies.get(message.id)?.(message.data)
    const task = slot.task
    if (!task || slot.settled) return
    switch (message.type) {
      case 'file':
        task.onFile(message.file).then(
          () => slot.worker.postMessage({ type: 'file-taken' } satisfies ToWorker),
          (err: unknown) => slot.worker.postMessage({ type: 'file-failed', error: toWire(err) } satisfies ToWorker))
        return
      case 'done':
        slot.settled = true
        slot.task = null
        task.resolve(message.result)
        break
      case 'failed':
        slot.settled = true
        slot.task = null
        task.reject(fromWire(message.error))
        break
    }
    this.dispatch()
  }

  /** Answers the slot's running task with an error, once. */
  private finish (slot: Slot, err: Error): void {
    const task = slot.task
    if (!task || slot.settled) return
    slot.settled = true
    slot.task = null
    task.reject(err)
  }

  /** Terminates a worker whose job was abandoned; its exit removes it and lets a replacement start. */
  private retire (slot: Slot): void {
    slot.retiring = true
    void slot.worker.terminate()
  }
}
