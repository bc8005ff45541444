// A compaction child's side of the pool: runs one job at a time through the engine and relays each
// finished output file to the service, waiting for it to be taken before going on. It also profiles
// itself on request (CPU and heap): a profiler only sees its own process.
import { heapProfile, holdHeapSampling, startCpuProfile, stopCpuProfile } from '../debug/thread-profile.ts'
import { runJob, type CompactionJob } from '../service/job.ts'
import { fromWire, toWire, type FromChild, type ToChild, type WireError } from './protocol.ts'

/** The child's end of the IPC channel. */
export interface Channel {
  send (message: FromChild): void
  onMessage (listener: (message: ToChild) => void): void
}

/** The IPC channel to the parent process; the child exits when it closes (the service is gone). */
export function parentChannel (): Channel {
  if (!process.send) throw new Error('a compaction child must be started with an IPC channel')
  process.on('disconnect', () => process.exit(0))
  return {
    send: message => { process.send!(message) },
    onMessage: listener => { process.on('message', listener as (message: unknown) => void) },
  }
}

/** Serves compaction jobs on a channel; `before` runs ahead of each job (tests use it to hold or break one). */
export function serveCompactions (channel: Channel, before: (job: CompactionJob) => Promise<void> = async () => {}): void {
  // the answer the running job waits for (a file taken, a run's bytes reserved): one at a time
  let answered: ((error: WireError | null) => void) | null = null
  // sampled for the child's whole life, so a heap profile shows what a running compaction holds
  holdHeapSampling()
  channel.onMessage(message => {
    switch (message.type) {
      case 'run': return void run(message.job, message.outDir, message.memoryLimitBytes)
      case 'file-taken': case 'spill-taken': return answered?.(null)
      case 'file-failed': case 'spill-failed': return answered?.(message.error)
      case 'cpu-profile-start': return void startCpuProfile(message.intervalMicros, message.durationMillis)
      case 'cpu-profile-stop': return answerProfile(channel, message.id, stopCpuProfile)
      case 'heap-profile': return answerProfile(channel, message.id, heapProfile)
      case 'collect':
        // the last job's garbage goes, so that the parent reads what the child really keeps
        globalThis.gc?.()
        return channel.send({ type: 'collected' })
    }
  })
  const run = async (job: CompactionJob, outDir: string, memoryLimitBytes: number): Promise<void> => {
    try {
      await before(job)
      const ask = async (message: FromChild): Promise<void> => {
        const error = await new Promise<WireError | null>(resolve => {
          answered = resolve
          channel.send(message)
        })
        answered = null
        if (error) throw fromWire(error)
      }
      const result = await runJob(job, outDir, memoryLimitBytes, async file => await ask({ type: 'file', file }), async bytes => await ask({ type: 'spill', bytes }))
      channel.send({ type: 'done', result })
    } catch (err) {
      send(channel, { type: 'failed', error: toWire(err) })
    }
  }
  channel.send({ type: 'ready' })
}

/** Sends a profile request's answer; a profiler that fails answers null rather than leave the request waiting. */
function answerProfile (channel: Channel, id: number, take: () => Uint8Array | null): void {
  let data: Uint8Array | null = null
  try {
    data = take()
  } catch {}
  channel.send({ type: 'profile', id, data })
}

/** Sends a message; details that cannot be serialized are left out rather than lose the error. */
function send (channel: Channel, message: FromChild): void {
  try {
    channel.send(message)
  } catch {
    if (message.type === 'failed') channel.send({ type: 'failed', error: { ...message.error, details: undefined } })
  }
}
