// What the routes share: settings, adapters, temporary space, the guards, the compaction children
// and the service's state. app.ts builds it; routes take it as their plugin option.
import type { Config } from '../config.ts'
import type { MemoryBudget } from '../guard/budget.ts'
import type { PressureProbe } from '../guard/pressure.ts'
import type { ServiceMetrics } from '../observe/metrics.ts'
import type { Storage } from '../storage/index.ts'
import type { TempSpace } from '../storage/temp.ts'
import type { CompactionPool } from '../worker/pool.ts'

export interface Service {
  readonly config: Config
  readonly storage: Storage
  readonly temp: TempSpace
  readonly state: ServiceState
  /** The memory compactions reserve before they start, and the queue of those waiting for it. */
  readonly budget: MemoryBudget
  /** The child processes compactions run in. */
  readonly pool: CompactionPool
  /** The process tree over MEMORY_LIMIT_BYTES or event-loop lag: new compactions get 503 and /readyz turns 503. */
  readonly pressure: PressureProbe
  /** The app's Prometheus registry: compactions and requests are counted into it. */
  readonly metrics: ServiceMetrics
}

export interface ServiceState {
  /** Set on SIGTERM/SIGINT: /readyz turns 503 and new compactions are refused. */
  draining: boolean
  compactionsInFlight: number
  /** Multipart requests whose body is still being received (at most MAX_UPLOADS_IN_PROGRESS). */
  uploadsInProgress: number
}
