// Profiles of the calling thread's isolate, with @datadog/pprof: a CPU (wall-clock, idle left out)
// profile started and stopped on demand, and the heap sampler kept running while anyone needs it.
// Each thread profiles only itself: the main thread and every compaction worker run these. Profiles
// leave as encoded (not gzipped) protobuf: they cross threads as bytes, and @datadog/pprof's Profile
// class is pprof-format's CommonJS build, not the one our ES modules import.
import { heap, time } from '@datadog/pprof'

/** One heap sample every 512 KiB allocated on average (Go's MemProfileRate), stacks up to 64 frames. */
export const HEAP_SAMPLE_BYTES = 512 * 1024
export const HEAP_STACK_DEPTH = 64

let heapUsers = 0

/** Starts the sampling heap profiler of this thread, or counts one more user of it; pair with releaseHeapSampling(). */
export function holdHeapSampling (): void {
  if (heapUsers++ === 0) heap.start(HEAP_SAMPLE_BYTES, HEAP_STACK_DEPTH)
}

/** One user fewer of the heap profiler; the last one stops it. */
export function releaseHeapSampling (): void {
  if (heapUsers === 0) return
  if (--heapUsers === 0) heap.stop()
}

/** This thread's heap profile (live sampled allocations by stack), encoded; throws if no one holds the sampler. */
export function heapProfile (): Uint8Array {
  if (heapUsers === 0) throw new Error('the heap profiler is not running')
  return heap.profile().encode()
}

/** Whether this thread's CPU profiler runs. */
export function cpuProfiling (): boolean {
  return time.isStarted()
}

/** Starts this thread's CPU profiler, sampling every intervalMicros for about durationMillis; false if it already runs. */
export function startCpuProfile (intervalMicros: number, durationMillis: number): boolean {
  if (time.isStarted()) return false
  time.start({ intervalMicros, durationMillis })
  return true
}

/** Stops this thread's CPU profiler and returns what it sampled, encoded; null if it was not running. */
export function stopCpuProfile (): Uint8Array | null {
  return time.isStarted() ? time.stop().encode() : null
}
