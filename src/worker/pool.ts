// The compaction children: a small pool of pre-started child processes, one compaction each at a
// time, so that nothing an input does to a compaction (a native allocation, a heap that V8 aborts
// on) can reach the service. A watchdog samples each busy child's memory (PSS) every 20 ms and kills the one
// that passes its baseline + its reservation + WATCHDOG_SLACK_BYTES: 422 CMP_ERR_INPUT_TOO_COSTLY,
// the input's fault. Any other death fails only its own job (503, retry) and the child is replaced,
// with back-off when children cannot be started. A child that stays grown after its job is recycled.
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { CompactionResult, SegmentMeta } from '../compaction/index.ts'
import { CompactorError } from '../errors.ts'
import type { CompactionJob } from '../service/job.ts'
import { pssBytes, rssBytes } from './memory.ts'
import { fromWire, toWire, type FromChild, type ToChild } from './protocol.ts'

/** Memory a child may use past its baseline and reservation before the watchdog kills it. */
export const WATCHDOG_SLACK_BYTES = 32 * 1024 * 1024
/** How often busy children's memory is sampled, in ms. */
export const WATCHDOG_INTERVAL_MS = 20
/** First and longest wait before starting a child again after one failed to start. */
export const SPAWN_BACKOFF_MS = { first: 100, max: 30_000 } as const

/** Why the pool killed a child, or `crashed` when it died of something the pool did not do. */
export const KILL_REASONS = ['memory', 'timeout', 'cancelled', 'recycled', 'crashed'] as const
export type KillReason = typeof KILL_REASONS[number]

export interface PoolOptions {
  /** Children, each running one compaction at a time. */
  readonly size: number
  /** Old-generation heap limit of each child, in MiB: a backstop, memory is enforced by the watchdog. */
  readonly heapLimitMb: number
  /** A job running longer is stopped (its child killed) with CMP_ERR_COMPACTION_TIMEOUT. */
  readonly timeoutMs: number
  /** An idle child whose memory is more than its baseline + this is recycled. */
  readonly recycleAboveBytes: () => number
  /** Called when the children's idle baseline (the largest measured) changes: the budget follows it. */
  readonly onBaseline?: (bytes: number) => void
  /** The child's entry module (tests give one that can hold or break a job). */
  readonly script?: URL
}

/** A job as run() takes it: the bytes reserved for it bound its child's memory. */
export interface RunOptions {
  readonly reservedBytes: number
  readonly signal?: AbortSignal
  /** Called with the bytes of each run the child writes (an input out of order); what it throws fails the job. */
  readonly onSpill?: (bytes: number) => void
}

interface Task {
  readonly job: CompactionJob
  readonly outDir: string
  readonly reservedBytes: number
  readonly onFile: (file: SegmentMeta) => Promise<void>
  readonly onSpill: ((bytes: number) => void) | undefined
  readonly resolve: (result: CompactionResult) => void
  readonly reject: (err: Error) => void
  readonly signal: AbortSignal | undefined
}

interface Child {
  readonly process: ChildProcess
  /** Its place in the pool, 0 to size - 1: a replacement takes the same (metrics are labelled by it). */
  readonly slot: number
  /** Its name in profiles: worker-<pid>. */
  readonly name: string
  /** Has said 'ready' (and been measured). */
  ready: boolean
  /** Not running a job, its memory back within its share. */
  idle: boolean
  task: Task | null
  /** Why the pool is killing it, once it is, and what its task is answered with once it has exited. */
  killedFor: KillReason | null
  killError: Error | null
  /** Its idle memory after start (PSS), and its RSS then. */
  baselineBytes: number
  baselineRssBytes: number
  /** Its last sampled memory. */
  memoryBytes: number
  /** Profile requests waiting for its answer, by request id. */
  readonly profileReplies: Map<number, (data: Uint8Array | null) => void>
}

/** A child's part of a profile: its name and encoded profile, null when it was lost (exited, no answer in time). */
export interface WorkerProfile {
  readonly thread: string
  readonly data: Uint8Array | null
}

/** Young generation of each child, in MiB: the engine's bulk data are outside the heap (typed arrays, buffers). */
const SEMI_SPACE_MB = 4

const ENTRY = new URL('./main.ts', import.meta.url)

/** Children started at construction, replaced when one dies, killed when it breaks its bounds. */
export class CompactionPool {
  readonly size: number
  private readonly options: PoolOptions
  private readonly script: string
  private readonly children = new Map<number, Child>()
  private readonly waiting: Task[] = []
  private readonly killCounts = new Map<KillReason, number>(KILL_REASONS.map(r => [r, 0]))
  private closed = false
  private watchdog: NodeJS.Timeout | null = null
  private spawnFailures = 0
  private readonly respawns = new Map<number, NodeJS.Timeout>()
  private baseline = 0
  /** The CPU profile the children take, while one is being captured, and the children asked to. */
  private cpuProfile: { readonly intervalMicros: number, readonly durationMillis: number, readonly profiled: Set<Child> } | null = null
  private lastProfileId = 0

  constructor (options: PoolOptions) {
    this.size = options.size
    this.options = options
    this.script = fileURLToPath(options.script ?? ENTRY)
    for (let slot = 0; slot < this.size; slot++) this.spawn(slot)
  }

  /**
   * Resolves once every child has started and been measured, or one failed to start (it is retried
   * with back-off meanwhile), or after waitMs.
   */
  async started (waitMs: number): Promise<void> {
    const deadline = Date.now() + waitMs
    while (Date.now() < deadline && !this.closed && this.spawnFailures === 0) {
      if (this.children.size === this.size && [...this.children.values()].every(c => c.ready)) return
      await new Promise(resolve => setTimeout(resolve, 10))
    }
  }

  /** Live children (started, not yet exited). */
  get workers (): number {
    return this.children.size
  }

  /** Children running a job. */
  get busy (): number {
    let n = 0
    for (const child of this.children.values()) if (child.task) n++
    return n
  }

  /** Jobs waiting for a free child. */
  get queued (): number {
    return this.waiting.length
  }

  /** The largest idle memory measured of a child after its start (0 before the first is measured). */
  get baselineBytes (): number {
    return this.baseline
  }

  /** Children that failed to start in a row (0 once one starts): the pool is backing off meanwhile. */
  get consecutiveSpawnFailures (): number {
    return this.spawnFailures
  }

  /** Children killed by the pool, and those that died otherwise (`crashed`), since the start. */
  get kills (): ReadonlyMap<KillReason, number> {
    return this.killCounts
  }

  /** Each live child's memory (PSS), by slot, read now. */
  childMemory (): Array<{ slot: number, bytes: number }> {
    return [...this.children.values()].map(c => ({ slot: c.slot, bytes: pssBytes(c.process.pid!) ?? c.memoryBytes }))
  }

  /** The memory of the whole tree: this process and every live child (PSS; RSS where PSS cannot be read). */
  treeBytes (): number {
    let bytes = pssBytes('self') ?? process.memoryUsage.rss()
    for (const child of this.children.values()) bytes += pssBytes(child.process.pid!) ?? child.memoryBytes
    return bytes
  }

  /** The processes running a job (tests kill one to play a crash). */
  busyChildren (): ChildProcess[] {
    return [...this.children.values()].filter(c => c.task).map(c => c.process)
  }

  /** Runs a job on a child; onFile is called here as each file is complete. An abort kills the child. */
  run (job: CompactionJob, outDir: string, onFile: (file: SegmentMeta) => Promise<void>, options: RunOptions): Promise<CompactionResult> {
    if (this.closed) return Promise.reject(new CompactorError('CMP_ERR_DRAINING'))
    if (options.signal?.aborted) return Promise.reject(options.signal.reason)
    if (this.children.size === 0 && this.spawnFailures > 0) return Promise.reject(this.unavailable())
    return new Promise<CompactionResult>((resolve, reject) => {
      this.waiting.push({ job, outDir, onFile, onSpill: options.onSpill, resolve, reject, signal: options.signal, reservedBytes: options.reservedBytes })
      this.dispatch()
    })
  }

  /** Kills every child; jobs waiting or running fail with CMP_ERR_DRAINING. */
  async close (): Promise<void> {
    this.closed = true
    for (const timer of this.respawns.values()) clearTimeout(timer)
    this.respawns.clear()
    for (const task of this.waiting.splice(0)) task.reject(new CompactorError('CMP_ERR_DRAINING'))
    await Promise.all([...this.children.values()].map(async child => {
      this.fail(child, new CompactorError('CMP_ERR_DRAINING'))
      const exited = new Promise(resolve => child.process.once('exit', resolve))
      child.process.kill('SIGKILL')
      await exited
    }))
    this.stopWatchdog()
  }

  /** Starts a CPU profile on every live child, and on each one started until stopCpuProfiles(). */
  startCpuProfiles (intervalMicros: number, durationMillis: number): void {
    this.cpuProfile = { intervalMicros, durationMillis, profiled: new Set() }
    for (const child of this.children.values()) if (child.ready) this.startCpuProfile(child)
  }

  /**
   * Stops the children's CPU profiles and collects them. A child that exited during the capture, or
   * does not answer within waitMs (busy in a long synchronous stretch), gives null.
   */
  async stopCpuProfiles (waitMs: number): Promise<WorkerProfile[]> {
    const profiled = this.cpuProfile?.profiled ?? new Set<Child>()
    this.cpuProfile = null
    return Promise.all([...profiled].map(async child => ({
      thread: child.name,
      data: this.children.get(child.slot) === child ? await this.askProfile(child, id => ({ type: 'cpu-profile-stop', id }), waitMs) : null,
    })))
  }

  /** Every ready child's heap profile; one that does not answer within waitMs gives null. */
  async heapProfiles (waitMs: number): Promise<WorkerProfile[]> {
    return Promise.all([...this.children.values()].filter(c => c.ready).map(async child => ({
      thread: child.name,
      data: await this.askProfile(child, id => ({ type: 'heap-profile', id }), waitMs),
    })))
  }

  private startCpuProfile (child: Child): void {
    if (!this.cpuProfile) return
    this.cpuProfile.profiled.add(child)
    const { intervalMicros, durationMillis } = this.cpuProfile
    this.send(child, { type: 'cpu-profile-start', intervalMicros, durationMillis })
  }

  /** Sends a profile request to a child; its answer, or null on exit or after waitMs. */
  private askProfile (child: Child, request: (id: number) => ToChild, waitMs: number): Promise<Uint8Array | null> {
    const id = ++this.lastProfileId
    return new Promise(resolve => {
      const timer = setTimeout(() => answer(null), waitMs)
      const answer = (data: Uint8Array | null): void => {
        clearTimeout(timer)
        child.profileReplies.delete(id)
        resolve(data)
      }
      child.profileReplies.set(id, answer)
      if (!this.send(child, request(id))) answer(null)
    })
  }

  /** Sends a message to a child; false when its channel is gone (it is exiting). */
  private send (child: Child, message: ToChild): boolean {
    if (!child.process.connected) return false
    try {
      child.process.send(message)
      return true
    } catch {
      return false
    }
  }

  private dispatch (): void {
    while (this.waiting.length > 0) {
      const task = this.waiting[0]
      if (task.signal?.aborted) {
        this.waiting.shift()
        task.reject(task.signal.reason)
        continue
      }
      const child = [...this.children.values()].find(c => c.ready && c.idle && !c.task && !c.killedFor)
      if (!child) return
      this.waiting.shift()
      this.assign(child, task)
    }
  }

  private assign (child: Child, task: Task): void {
    child.idle = false
    const onAbort = (): void => this.kill(child, 'cancelled', task.signal!.reason)
    task.signal?.addEventListener('abort', onAbort, { once: true })
    // a hostile input can keep a decoder busy for ever: past the time limit the child is stopped
    const timer = setTimeout(() => {
      this.kill(child, 'timeout', new CompactorError('CMP_ERR_COMPACTION_TIMEOUT', undefined, { timeout_ms: this.options.timeoutMs }))
    }, this.options.timeoutMs)
    const cleanup = (): void => {
      clearTimeout(timer)
      task.signal?.removeEventListener('abort', onAbort)
    }
    // the child's task is answered once, through settle() or fail(); the listeners go with it
    child.task = { ...task, resolve: r => { cleanup(); task.resolve(r) }, reject: e => { cleanup(); task.reject(e) } }
    if (!this.send(child, { type: 'run', job: task.job, outDir: task.outDir, memoryLimitBytes: task.reservedBytes })) {
      this.kill(child, 'crashed', new CompactorError('CMP_ERR_COMPACTION_OOM', 'the compaction child could not be reached'))
      return
    }
    this.startWatchdog()
  }

  private spawn (slot: number): void {
    const proc = fork(this.script, [], {
      serialization: 'advanced',
      execArgv: ['--expose-gc', `--max-old-space-size=${this.options.heapLimitMb}`, `--max-semi-space-size=${SEMI_SPACE_MB}`],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    const child: Child = {
      process: proc,
      slot,
      name: `worker-${proc.pid ?? 'unstarted'}`,
      ready: false,
      idle: false,
      task: null,
      killedFor: null,
      killError: null,
      baselineBytes: 0,
      baselineRssBytes: 0,
      memoryBytes: 0,
      profileReplies: new Map(),
    }
    this.children.set(slot, child)
    proc.on('message', (message: FromChild) => this.receive(child, message))
    let gone = false
    const onGone = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (gone) return
      gone = true
      this.exited(child, code, signal)
    }
    proc.on('exit', onGone)
    // a child that cannot be started at all (no such executable...) may give 'error' and no 'exit'
    proc.on('error', () => { if (proc.pid === undefined || proc.exitCode !== null) onGone(proc.exitCode, null) })
  }

  private receive (child: Child, message: FromChild): void {
    if (message.type === 'profile') return child.profileReplies.get(message.id)?.(message.data)
    // a child being killed is heard no more: its task is answered with the reason when it has exited
    if (child.killedFor) return
    switch (message.type) {
      case 'ready': {
        child.ready = true
        child.idle = true
        this.spawnFailures = 0
        child.baselineBytes = child.memoryBytes = pssBytes(child.process.pid!) ?? 0
        child.baselineRssBytes = rssBytes(child.process.pid!) ?? 0
        if (child.baselineBytes > this.baseline) {
          this.baseline = child.baselineBytes
          this.options.onBaseline?.(this.baseline)
        }
        this.startCpuProfile(child)
        break
      }
      case 'file': {
        const task = child.task
        if (!task) return
        task.onFile(message.file).then(
          () => this.send(child, { type: 'file-taken' }),
          (err: unknown) => this.send(child, { type: 'file-failed', error: toWire(err) }))
        return
      }
      case 'spill': {
        const task = child.task
        if (!task) return
        try {
          task.onSpill?.(message.bytes)
          this.send(child, { type: 'spill-taken' })
        } catch (err) {
          this.send(child, { type: 'spill-failed', error: toWire(err) })
        }
        return
      }
      case 'done':
        this.settle(child)?.resolve(message.result)
        this.afterJob(child)
        return
      case 'failed':
        this.settle(child)?.reject(fromWire(message.error))
        this.afterJob(child)
        return
      case 'collected': {
        if (child.task || child.killedFor) return
        const bytes = pssBytes(child.process.pid!)
        if (bytes !== null && bytes > this.recycleLimit(child)) {
          this.kill(child, 'recycled', null)
          return
        }
        child.idle = true
        break
      }
    }
    this.dispatch()
  }

  /**
   * A child whose job has ended takes the next one at once while its RSS (cheap to read) has grown
   * by no more than its share since its start; otherwise it collects its garbage first, and one
   * whose PSS is still over its baseline + its share after that is recycled (on 'collected').
   */
  private afterJob (child: Child): void {
    if (child.killedFor) return
    const rss = rssBytes(child.process.pid!)
    if (rss !== null && rss > child.baselineRssBytes + this.options.recycleAboveBytes()) {
      if (!this.send(child, { type: 'collect' })) this.kill(child, 'crashed', null)
      return
    }
    child.idle = true
    this.dispatch()
  }

  private recycleLimit (child: Child): number {
    return child.baselineBytes + this.options.recycleAboveBytes()
  }

  /** Takes the child's task off it to answer it; null if it was answered already. */
  private settle (child: Child): Task | null {
    const task = child.task
    child.task = null
    if (this.busy === 0) this.stopWatchdog()
    return task
  }

  /** Answers the child's running task with an error, once. */
  private fail (child: Child, err: Error): void {
    this.settle(child)?.reject(err)
  }

  /**
   * Kills a child for a reason; its task fails with err once it has exited (so that nothing it does
   * can outlive the answer: the request's temporary files are removed after), and a replacement starts.
   */
  private kill (child: Child, reason: KillReason, err: Error | null): void {
    if (child.killedFor) return
    child.killedFor = reason
    child.killError = err
    this.killCounts.set(reason, this.killCounts.get(reason)! + 1)
    child.process.kill('SIGKILL')
  }

  private exited (child: Child, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.children.get(child.slot) === child) this.children.delete(child.slot)
    for (const answer of [...child.profileReplies.values()]) answer(null)
    if (child.killError) this.fail(child, child.killError)
    if (!child.killedFor) {
      // a death the pool did not cause: a signal from outside (the kernel's OOM killer), an abort
      this.killCounts.set('crashed', this.killCounts.get('crashed')! + 1)
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`
      this.fail(child, new CompactorError('CMP_ERR_COMPACTION_OOM', `the compaction child ${how}`, { signal, exit_code: code }))
    }
    if (this.busy === 0) this.stopWatchdog()
    if (this.closed) return
    if (!child.ready) {
      // it never started: back off before the next attempt, and fail what waits when no child is left
      this.spawnFailures++
      const wait = Math.min(SPAWN_BACKOFF_MS.max, SPAWN_BACKOFF_MS.first * 2 ** (this.spawnFailures - 1))
      this.respawns.set(child.slot, setTimeout(() => {
        this.respawns.delete(child.slot)
        this.spawn(child.slot)
      }, wait).unref())
      if (this.children.size === 0) for (const task of this.waiting.splice(0)) task.reject(this.unavailable())
      return
    }
    this.spawn(child.slot)
  }

  private unavailable (): CompactorError {
    return new CompactorError('CMP_ERR_WORKER_UNAVAILABLE', `${this.spawnFailures} attempts in a row to start one failed`, { spawn_failures: this.spawnFailures })
  }

  private startWatchdog (): void {
    this.watchdog ??= setInterval(() => this.watch(), WATCHDOG_INTERVAL_MS)
  }

  private stopWatchdog (): void {
    if (this.watchdog) clearInterval(this.watchdog)
    this.watchdog = null
  }

  /**
   * Samples every busy child's memory; one whose PSS is past its baseline + reservation + slack is
   * killed. RSS (cheap) is read first: PSS is read only when RSS is over the limit, since PSS <= RSS.
   */
  private watch (): void {
    for (const child of this.children.values()) {
      const task = child.task
      if (!task || child.killedFor) continue
      const pid = child.process.pid!
      const limit = child.baselineBytes + task.reservedBytes + WATCHDOG_SLACK_BYTES
      const rss = rssBytes(pid)
      if (rss !== null && rss <= limit) continue
      const bytes = pssBytes(pid)
      if (bytes === null) continue
      child.memoryBytes = bytes
      if (bytes > limit) {
        this.kill(child, 'memory', new CompactorError('CMP_ERR_INPUT_TOO_COSTLY',
          `the compaction's process reached ${bytes} bytes, over its baseline ${child.baselineBytes} + reservation ${task.reservedBytes} + ${WATCHDOG_SLACK_BYTES}`,
          { needed_bytes: bytes - child.baselineBytes, budget_bytes: task.reservedBytes }))
      }
    }
  }
}
