// The guard on the whole service (@fastify/under-pressure): when the process tree's memory (the
// service and its compaction children) passes MEMORY_LIMIT_BYTES or the event loop lags past
// MAX_EVENT_LOOP_DELAY_MS, new compactions are refused with 503 CMP_ERR_UNDER_PRESSURE and /readyz
// turns 503, so a load balancer stops sending. Probes, metrics and debug endpoints keep answering:
// they are what an operator looks at then.
import underPressure from '@fastify/under-pressure'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.ts'
import { CompactorError } from '../errors.ts'

/** Why the process is under pressure, with the measured value and its limit. */
export const PRESSURE_REASONS = ['memory_bytes', 'event_loop_delay_ms'] as const

export interface Pressure {
  readonly reason: typeof PRESSURE_REASONS[number]
  readonly value: number
  readonly limit: number
}

/** Reads the guard's state: null when the process is fine. */
export type PressureProbe = () => Pressure | null

/**
 * Registers the guard (before the routes: its hook runs first). `guarded` says, by method and route
 * pattern, which requests are refused under pressure; the others pass. `treeBytes` reads the memory of the service and its
 * children, sampled every PRESSURE_SAMPLE_INTERVAL_MS. Returns the probe /readyz and /debug/vars read.
 */
export async function registerPressure (app: FastifyInstance, config: Config, guarded: (method: string, route: string | undefined) => boolean, treeBytes: () => number): Promise<PressureProbe> {
  let memory = 0
  await app.register(underPressure, {
    maxEventLoopDelay: config.maxEventLoopDelayMs,
    sampleInterval: config.pressureSampleIntervalMs,
    healthCheck: async () => {
      memory = treeBytes()
      return memory <= config.memoryLimitBytes
    },
    healthCheckInterval: config.pressureSampleIntervalMs,
    pressureHandler: (request, _reply, type, value) => {
      // the routed path, never the raw URL: /%63ompact is routed to /compact and guarded as such
      if (!guarded(request.method, request.routeOptions.url)) return
      const pressure = describe(type, type === 'healthCheck' ? memory : value ?? 0, config)
      throw new CompactorError('CMP_ERR_UNDER_PRESSURE', `${pressure.reason} ${Math.round(pressure.value)} is over ${pressure.limit}`, { ...pressure })
    },
  })
  return () => {
    if (!app.isUnderPressure()) return null
    if (memory > config.memoryLimitBytes) return describe('healthCheck', memory, config)
    return describe('eventLoopDelay', app.memoryUsage().eventLoopDelay, config)
  }
}

function describe (type: string, value: number, config: Config): Pressure {
  return type === 'healthCheck'
    ? { reason: 'memory_bytes', value, limit: config.memoryLimitBytes }
    // no delay sample in a whole interval (the loop was blocked throughout) reads as Infinity: at least the interval
    : { reason: 'event_loop_delay_ms', value: Number.isFinite(value) ? Math.round(value) : config.pressureSampleIntervalMs, limit: config.maxEventLoopDelayMs }
}
