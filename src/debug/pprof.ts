// Profiles of the whole service for /debug/pprof: the service's main thread and every compaction
// child (a profiler only sees its own isolate, so each profiles itself), merged into one gzipped
// pprof protobuf whose samples carry a `thread` label ("main", "worker-<pid>").
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { gzip } from 'node:zlib'
import { Profile } from 'pprof-format'
import { CompactorError } from '../errors.ts'
import type { CompactionPool, WorkerProfile } from '../worker/pool.ts'
import { mergeThreadProfiles, type ThreadProfile } from './merge-profiles.ts'
import { cpuProfiling, heapProfile, startCpuProfile, stopCpuProfile } from './thread-profile.ts'

/** CPU samples every millisecond on each thread (@datadog/pprof's default). */
export const CPU_SAMPLE_INTERVAL_MICROS = 1000
/** How long a child may take to send its part; one busy in a long synchronous stretch past it is left out. */
export const WORKER_ANSWER_MS = 10_000
/** The main thread's name in profiles. */
export const MAIN_THREAD = 'main'

const gzipAsync = promisify(gzip)

// one CPU profiler per isolate: one capture at a time in the whole process
let capturing = false

/** Whether a CPU capture is under way (sampling, or collecting the threads' parts). */
export function capturingCpu (): boolean {
  return capturing
}

/**
 * Samples the CPU of the main thread and of every child (those started during the capture too) for
 * `seconds`, or until `signal` aborts (the profile then covers the time so far); returns the gzipped
 * pprof profile. A second capture while one runs is 409 CMP_ERR_PROFILE_IN_PROGRESS.
 */
export async function captureCpuProfile (pool: CompactionPool, seconds: number, signal?: AbortSignal): Promise<Buffer> {
  if (capturing || cpuProfiling()) throw new CompactorError('CMP_ERR_PROFILE_IN_PROGRESS')
  capturing = true
  try {
    const durationMillis = seconds * 1000
    startCpuProfile(CPU_SAMPLE_INTERVAL_MICROS, durationMillis)
    let main: Uint8Array | null = null
    let workers: WorkerProfile[] = []
    try {
      pool.startCpuProfiles(CPU_SAMPLE_INTERVAL_MICROS, durationMillis)
      await sleep(durationMillis, undefined, { signal }).catch(() => {})
    } finally {
      main = stopCpuProfile()
      workers = await pool.stopCpuProfiles(WORKER_ANSWER_MS)
    }
    return await mergeParts(main, workers)
  } finally {
    capturing = false
  }
}

/** The sampled live heap of the main thread and of every child, as a gzipped pprof profile. */
export async function captureHeapProfile (pool: CompactionPool): Promise<Buffer> {
  return mergeParts(heapProfile(), await pool.heapProfiles(WORKER_ANSWER_MS))
}

/** Merges the main thread's part and the children's into one gzipped profile; lost parts are named in its comments. */
async function mergeParts (main: Uint8Array | null, workers: readonly WorkerProfile[]): Promise<Buffer> {
  const parts: ThreadProfile[] = []
  const lost: string[] = []
  for (const { thread, data } of [{ thread: MAIN_THREAD, data: main }, ...workers]) {
    if (data) parts.push({ thread, profile: Profile.decode(data) })
    else lost.push(thread)
  }
  if (parts.length === 0) throw new CompactorError('CMP_ERR_INTERNAL', 'no thread gave a profile')
  return gzipAsync(mergeThreadProfiles(parts, lost).encode())
}
