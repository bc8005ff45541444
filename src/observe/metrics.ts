// The service's Prometheus metrics: one registry per app (several apps in one process never share
// counters), holding the process's default metrics and the compactor's own, all named
// `metric_compactor_*`. Counters move when a compaction or a request ends; gauges (queues, budget,
// children, pressure) and the children's kill counts are read from the service when scraped.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client'
import { DROP_REASONS, type CompactionReport } from '../compaction/index.ts'
import { CompactorError } from '../errors.ts'
import type { MemoryBudget } from '../guard/budget.ts'
import { PRESSURE_REASONS, type PressureProbe } from '../guard/pressure.ts'
import { KILL_REASONS, type CompactionPool } from '../worker/pool.ts'

export const METRIC_PREFIX = 'metric_compactor_'

/** How a compaction request ended; a failure's catalogued code is counted beside it. */
export const OUTCOMES = ['ok', 'client_error', 'overloaded', 'cancelled', 'server_error'] as const
export type CompactionOutcome = typeof OUTCOMES[number]

/** What the scrape-time gauges read: the service's budget, pool, pressure and state. */
export interface MetricSources {
  readonly budget: MemoryBudget
  readonly pool: CompactionPool
  readonly pressure: PressureProbe
  readonly state: { readonly compactionsInFlight: number, readonly uploadsInProgress: number }
}

/** The route label of a request no route matched: the raw URL would make the labels unbounded. */
export const UNMATCHED_ROUTE = 'unmatched'

// engine seconds: a small bundle takes milliseconds, the biggest minutes
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]
const HTTP_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

/** The app's registry and its metrics; the routes report to it, /metrics renders it. */
export class ServiceMetrics {
  readonly registry = new Registry()
  private readonly compactions: Counter<'outcome'>
  private readonly errors: Counter<'code'>
  private readonly duration: Histogram
  private readonly rows: Record<'in' | 'out' | 'aggregated' | 'outsideDateint', Counter>
  private readonly dropped: Counter<'reason'>
  private readonly bytes: Record<'in' | 'out', Counter>
  private readonly filesOut: Counter
  private readonly sketchMerges: Counter
  private readonly requests: Counter<'method' | 'route' | 'status'>
  private readonly requestDuration: Histogram<'method' | 'route'>

  /** sources is called at each scrape (the service can be built after its metrics). */
  constructor (sources: () => MetricSources) {
    // the registry holds metric objects; its typings only say what they render to
    for (const metric of processMetrics().getMetricsAsArray()) this.registry.registerMetric(metric as unknown as Metric)
    const registers = [this.registry]
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> =>
      new Counter({ name: METRIC_PREFIX + name, help, labelNames, registers })
    const gauge = <L extends string>(name: string, help: string, collect: (this: Gauge<L>) => void, labelNames: readonly L[] = []): Gauge<L> =>
      new Gauge({ name: METRIC_PREFIX + name, help, labelNames, registers, collect })

    this.compactions = counter('compactions_total', 'Compaction requests that ended, by outcome: ok, client_error, overloaded, cancelled, server_error.', ['outcome'])
    this.errors = counter('compaction_errors_total', 'Compaction requests that failed, by the error catalog\'s code.', ['code'])
    this.duration = new Histogram({ name: METRIC_PREFIX + 'compaction_duration_seconds', help: 'Engine time of successful compactions (the report\'s duration_ms).', buckets: DURATION_BUCKETS, registers })
    this.rows = {
      in: counter('rows_in_total', 'Rows read by successful compactions (the report\'s rows_in).'),
      out: counter('rows_out_total', 'Rows written (rows_out).'),
      aggregated: counter('rows_aggregated_total', 'Rows that went into an output group (rows_aggregated).'),
      outsideDateint: counter('rows_outside_dateint_total', 'Rows kept although their bucket lies outside the bundle\'s dateint (rows_outside_dateint).'),
    }
    this.dropped = counter('rows_dropped_total', 'Rows dropped, by reason (the report\'s dropped).', ['reason'])
    this.bytes = {
      in: counter('bytes_in_total', 'Bytes of the input segments compacted (bytes_in).'),
      out: counter('bytes_out_total', 'Bytes of the files written (bytes_out).'),
    }
    this.filesOut = counter('files_out_total', 'Files written (files_out).')
    this.sketchMerges = counter('sketch_merges_total', 'DDSketch merges (sketch_merges).')
    this.requests = counter('http_requests_total', `HTTP requests answered, by method, route pattern ('${UNMATCHED_ROUTE}' when none matched) and status.`, ['method', 'route', 'status'])
    this.requestDuration = new Histogram({
      name: METRIC_PREFIX + 'http_request_duration_seconds', help: 'Time to answer an HTTP request, by method and route pattern.', labelNames: ['method', 'route'], buckets: HTTP_BUCKETS, registers,
    })

    gauge('queue_depth', 'Compactions waiting: for memory budget (queue=budget) or for a free worker (queue=pool).', function () {
      this.set({ queue: 'budget' }, sources().budget.queued)
      this.set({ queue: 'pool' }, sources().pool.queued)
    }, ['queue'])
    gauge('compactions_in_flight', 'Compaction requests being handled (inputs on disk, queued or running).', function () { this.set(sources().state.compactionsInFlight) })
    gauge('uploads_in_progress', 'Multipart uploads whose body is still being received (at most MAX_UPLOADS_IN_PROGRESS).', function () { this.set(sources().state.uploadsInProgress) })
    gauge('budget_reserved_bytes', 'Memory budget reserved by admitted compactions.', function () { this.set(sources().budget.reservedBytes) })
    gauge('budget_limit_bytes', 'The memory budget compactions share: COMPACTION_BUDGET_BYTES less each child\'s baseline and watchdog slack.', function () { this.set(sources().budget.limitBytes) })
    gauge('pool_workers', 'Live compaction child processes (the same as children).', function () { this.set(sources().pool.workers) })
    gauge('pool_busy_workers', 'Compaction child processes running a compaction.', function () { this.set(sources().pool.busy) })
    gauge('children', 'Live compaction child processes.', function () { this.set(sources().pool.workers) })
    gauge('child_baseline_bytes', 'The largest idle memory (PSS) measured of a compaction child after its start.', function () { this.set(sources().pool.baselineBytes) })
    gauge('child_memory_bytes', 'Memory (PSS) of each live compaction child, by its place in the pool.', function () {
      this.reset()
      for (const { slot, bytes } of sources().pool.childMemory()) this.set({ child: String(slot) }, bytes)
    }, ['child'])
    gauge('pressure', 'The memory and event-loop guard: 1 while it refuses compactions for this reason, else 0.', function () {
      const reason = sources().pressure()?.reason
      for (const r of PRESSURE_REASONS) this.set({ reason: r }, r === reason ? 1 : 0)
    }, ['reason'])
    new Counter({
      name: METRIC_PREFIX + 'child_kills_total',
      help: 'Compaction children that ended other than by shutdown, by reason: memory (the watchdog), timeout, cancelled (the client left), recycled (grown after a job), crashed (died of something the service did not do).',
      labelNames: ['reason'],
      registers,
      collect () {
        this.reset()
        for (const reason of KILL_REASONS) this.inc({ reason }, sources().pool.kills.get(reason) ?? 0)
      },
    })

    // every label value known up front is shown from the first scrape, at 0
    for (const outcome of OUTCOMES) this.compactions.inc({ outcome }, 0)
    for (const reason of DROP_REASONS.slice(1)) this.dropped.inc({ reason }, 0)
  }

  /** Counts a compaction request that ended: with its report when answered whole, else with the error that aborted its answer. */
  compactionEnded (ending: CompactionReport | CompactorError): void {
    if (ending instanceof CompactorError) return this.compactionFailed(ending)
    this.compactions.inc({ outcome: 'ok' })
    this.duration.observe(ending.duration_ms / 1000)
    this.rows.in.inc(ending.rows_in)
    this.rows.out.inc(ending.rows_out)
    this.rows.aggregated.inc(ending.rows_aggregated)
    this.rows.outsideDateint.inc(ending.rows_outside_dateint)
    for (const [reason, n] of Object.entries(ending.dropped)) this.dropped.inc({ reason }, n)
    this.bytes.in.inc(ending.bytes_in)
    this.bytes.out.inc(ending.bytes_out)
    this.filesOut.inc(ending.files_out)
    this.sketchMerges.inc(ending.sketch_merges)
  }

  /** Counts a compaction request that failed before its answer, by its catalogued code (an uncatalogued error is CMP_ERR_INTERNAL). */
  compactionFailed (err: unknown): void {
    const catalogued = err instanceof CompactorError ? err : new CompactorError('CMP_ERR_INTERNAL')
    this.compactions.inc({ outcome: outcomeOf(catalogued) })
    this.errors.inc({ code: catalogued.code })
  }

  /** Counts an answered HTTP request; route is the matched pattern, undefined when none matched. */
  requestEnded (method: string, route: string | undefined, status: number, seconds: number): void {
    const labels = { method, route: route ?? UNMATCHED_ROUTE }
    this.requests.inc({ ...labels, status: String(status) })
    this.requestDuration.observe(labels, seconds)
  }

  /** The Prometheus text exposition of every metric, gauges read now. */
  async render (): Promise<{ contentType: string, text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() }
  }
}

/** The outcome label of a failed compaction. */
export function outcomeOf (err: CompactorError): CompactionOutcome {
  switch (err.code) {
    case 'CMP_ERR_CANCELLED': return 'cancelled'
    // refused for want of capacity, to be retried: not the request's fault nor a failure of the service
    case 'CMP_ERR_OVERLOADED':
    case 'CMP_ERR_TEMP_SPACE':
    case 'CMP_ERR_DRAINING':
    case 'CMP_ERR_UNDER_PRESSURE': return 'overloaded'
  }
  return err.status >= 500 ? 'server_error' : 'client_error'
}

let defaults: Registry | undefined

/**
 * The default process metrics (process_*, nodejs_*), collected once per process and registered in
 * every app's registry: each collectDefaultMetrics() call starts a GC observer and an event-loop
 * delay monitor that prom-client never stops, so one call per app would leak them in a process that
 * builds many apps (the tests). They describe the process, which all its apps share anyway.
 */
function processMetrics (): Registry {
  if (defaults === undefined) {
    defaults = new Registry()
    collectDefaultMetrics({ register: defaults })
  }
  return defaults
}
