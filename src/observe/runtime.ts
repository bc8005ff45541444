// The main thread's runtime figures for GET /debug/vars: memory, garbage collections and their
// pauses, event-loop delay. The GC observer and the delay monitor run from the app's start until
// close(); compaction children are processes of their own: their memory is in /debug/vars' pool.
import { readFileSync } from 'node:fs'
import { PerformanceObserver, monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks'

export interface MemoryStats {
  /** Resident set of the service process (its compaction children are separate processes). */
  rss_bytes: number
  heap_used_bytes: number
  heap_total_bytes: number
  external_bytes: number
  array_buffers_bytes: number
}

export interface GcStats {
  /** Collections on the main thread since the app started. */
  count: number
  pause_total_ms: number
}

/** Event-loop delay since the app started, in milliseconds (0 before the first sample). */
export interface LoopDelayStats {
  p50_ms: number
  p90_ms: number
  p99_ms: number
  max_ms: number
}

export interface RuntimeStats {
  uptime_seconds: number
  memory: MemoryStats
  gc: GcStats
  event_loop_delay: LoopDelayStats
}

// the delay monitor's sampling interval: the finest delay it can see
const LOOP_RESOLUTION_MS = 10

/** Observes the main thread from construction to close(). */
export class RuntimeMonitor {
  private readonly gcObserver: PerformanceObserver
  private readonly loop: ELDHistogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
  private gcCount = 0
  private gcPauseMs = 0

  constructor () {
    this.gcObserver = new PerformanceObserver(list => {
      for (const entry of list.getEntries()) {
        this.gcCount++
        this.gcPauseMs += entry.duration
      }
    })
    this.gcObserver.observe({ entryTypes: ['gc'] })
    this.loop.enable()
  }

  /** The figures now. */
  stats (): RuntimeStats {
    const memory = process.memoryUsage()
    const ms = (ns: number): number => this.loop.count === 0 ? 0 : round(ns / 1e6)
    return {
      uptime_seconds: round(process.uptime()),
      memory: {
        rss_bytes: memory.rss,
        heap_used_bytes: memory.heapUsed,
        heap_total_bytes: memory.heapTotal,
        external_bytes: memory.external,
        array_buffers_bytes: memory.arrayBuffers,
      },
      gc: { count: this.gcCount, pause_total_ms: round(this.gcPauseMs) },
      event_loop_delay: {
        p50_ms: ms(this.loop.percentile(50)),
        p90_ms: ms(this.loop.percentile(90)),
        p99_ms: ms(this.loop.percentile(99)),
        max_ms: ms(this.loop.max),
      },
    }
  }

  /** Stops the observer and the monitor. */
  close (): void {
    this.gcObserver.disconnect()
    this.loop.disable()
  }
}

let version: string | undefined

/** The service's version, from its package.json. */
export function serviceVersion (): string {
  version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
  return version
}

function round (n: number): number {
  return Math.round(n * 1000) / 1000
}
