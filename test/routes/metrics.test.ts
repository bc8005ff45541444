// GET /metrics: Prometheus text that a strict parser accepts, every metric of the service present with
// its type, counters that move by exactly what a compaction's report says, failures counted by outcome
// and code, gauges read from the service when scraped, open to any client.
import t, { type Test } from 'tap'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'node:http'
import { buildApp, type App } from '../../src/app.ts'
import type { Config } from '../../src/config.ts'
import { CompactorError } from '../../src/errors.ts'
import { ServiceMetrics, outcomeOf } from '../../src/observe/metrics.ts'
import { writeSegment } from '../support/segments.ts'
import { ContractChecker, T0, multipart, readTar, testApp, testConfig, twoSegments, until } from '../support/http.ts'

const contract = new ContractChecker()
const HANG_CHILD = new URL('../support/hang-child.ts', import.meta.url)

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

interface Family {
  type: string
  help: string
  samples: Sample[]
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
// a float as Prometheus reads it (Go's ParseFloat: Inf and NaN in any case; prom-client writes `Nan`)
const VALUE = /^(?:[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|[-+]?inf(?:inity)?|nan)$/i
const SUFFIXES: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count'] }

/**
 * Parses the Prometheus text format (0.0.4) strictly: every line is `# HELP`, `# TYPE`, a sample of
 * a family whose TYPE came before, or empty (the format ignores empty lines; prom-client separates
 * families with one); throws naming the first line that is none of them.
 */
function parsePrometheus (text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the exposition does not end with a newline')
  const families = new Map<string, Family>()
  const family = (name: string): Family => {
    let f = families.get(name)
    if (!f) families.set(name, f = { type: '', help: '', samples: [] })
    return f
  }
  for (const [i, line] of text.slice(0, -1).split('\n').entries()) {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`
    if (line === '') continue
    let m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line)
    if (m) {
      if (family(m[1]).help) throw new Error(`${where}: a second HELP`)
      family(m[1]).help = m[2]
      continue
    }
    m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line)
    if (m) {
      const f = family(m[1])
      if (f.type || f.samples.length > 0) throw new Error(`${where}: TYPE after samples or twice`)
      f.type = m[2]
      continue
    }
    m = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`).exec(line)
    if (!m) throw new Error(`${where}: neither HELP, TYPE nor a sample`)
    const [, name, labelText, valueText] = m
    if (!VALUE.test(valueText)) throw new Error(`${where}: bad value`)
    const owner = [name, ...(Object.entries(SUFFIXES).flatMap(([, sfx]) => sfx.filter(s => name.endsWith(s)).map(s => name.slice(0, -s.length))))]
      .find(n => families.get(n)?.type && (n === name || SUFFIXES[families.get(n)!.type]?.some(s => n + s === name)))
    if (!owner) throw new Error(`${where}: no TYPE declared for ${name}`)
    families.get(owner)!.samples.push({ name, labels: parseLabels(labelText ?? '', where), value: toNumber(valueText) })
  }
  return families
}

function toNumber (text: string): number {
  if (/nan/i.test(text)) return NaN
  if (/inf/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity
  return Number(text)
}

function parseLabels (text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {}
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/y
  while (label.lastIndex < text.length) {
    const m = label.exec(text)
    if (!m) throw new Error(`${where}: malformed labels`)
    if (m[1] in labels) throw new Error(`${where}: label ${m[1]} twice`)
    labels[m[1]] = m[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
  }
  return labels
}

/** The value of the sample with exactly these labels; 0 when the series is not there (yet). */
function valueOf (families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const owner = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ''))
  const key = JSON.stringify(Object.entries(labels).sort())
  return owner?.samples.find(s => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === key)?.value ?? 0
}

async function scrape (t: Test, app: App, remoteAddress?: string): Promise<Map<string, Family>> {
  const res = await app.inject({ url: '/metrics', ...(remoteAddress ? { remoteAddress } : {}) })
  t.equal(res.statusCode, 200, 'GET /metrics is 200')
  contract.check(t, 'GET', '/metrics', res)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  return parsePrometheus(res.body)
}

const SERVICE_METRICS = {
  metric_compactor_compactions_total: 'counter',
  metric_compactor_compaction_errors_total: 'counter',
  metric_compactor_compaction_duration_seconds: 'histogram',
  metric_compactor_rows_in_total: 'counter',
  metric_compactor_rows_out_total: 'counter',
  metric_compactor_rows_aggregated_total: 'counter',
  metric_compactor_rows_dropped_total: 'counter',
  metric_compactor_rows_outside_dateint_total: 'counter',
  metric_compactor_bytes_in_total: 'counter',
  metric_compactor_bytes_out_total: 'counter',
  metric_compactor_files_out_total: 'counter',
  metric_compactor_sketch_merges_total: 'counter',
  metric_compactor_queue_depth: 'gauge',
  metric_compactor_compactions_in_flight: 'gauge',
  metric_compactor_uploads_in_progress: 'gauge',
  metric_compactor_budget_reserved_bytes: 'gauge',
  metric_compactor_budget_limit_bytes: 'gauge',
  metric_compactor_pool_workers: 'gauge',
  metric_compactor_pool_busy_workers: 'gauge',
  metric_compactor_children: 'gauge',
  metric_compactor_child_baseline_bytes: 'gauge',
  metric_compactor_child_memory_bytes: 'gauge',
  metric_compactor_child_kills_total: 'counter',
  metric_compactor_pressure: 'gauge',
  metric_compactor_http_requests_total: 'counter',
  metric_compactor_http_request_duration_seconds: 'histogram',
}
const PROCESS_METRICS = {
  process_cpu_seconds_total: 'counter',
  process_resident_memory_bytes: 'gauge',
  process_start_time_seconds: 'gauge',
  nodejs_heap_size_used_bytes: 'gauge',
  nodejs_eventloop_lag_seconds: 'gauge',
  nodejs_gc_duration_seconds: 'histogram',
  nodejs_version_info: 'gauge',
}

/** Two segments with a key in common, and a third with one row missing its metric name and one with an unreadable sketch. */
async function uploads (dir: string): Promise<Array<{ name: string, data: Buffer }>> {
  const paths = await twoSegments(dir)
  const bad = join(dir, 'c.parquet')
  await writeSegment(bad, [
    { name: null, tid: 7n, ts: T0, values: [1] },
    { name: 'disk', tid: 8n, ts: T0, sketch: new Uint8Array([0xff, 0xfe, 0xfd]) },
    { name: 'disk', tid: 9n, ts: T0, values: [2] },
  ])
  return Promise.all([...paths, bad].map(async p => ({ name: p.split('/').at(-1)!, data: await readFile(p) })))
}

async function hangApp (t: Test, overrides: Partial<Config> = {}): Promise<App> {
  const app = await buildApp(testConfig(t, { workers: 1, ...overrides }), { logger: false, workerScript: HANG_CHILD })
  t.teardown(() => app.close())
  return app
}

t.test('the strict parser refuses what is not the text format', async t => {
  t.throws(() => parsePrometheus('a 1'), /newline/)
  t.throws(() => parsePrometheus('a 1\n'), /no TYPE declared/)
  t.throws(() => parsePrometheus('# TYPE a counter\na{x="1} 1\n'), /malformed labels|neither/)
  t.throws(() => parsePrometheus('# TYPE a counter\na one\n'), /bad value/)
  t.throws(() => parsePrometheus('# TYPE a counter\na 1 2 3\n'), /neither HELP, TYPE nor a sample/)
  t.throws(() => parsePrometheus('# a comment\n'), /neither HELP, TYPE nor a sample/)
  t.throws(() => parsePrometheus('# TYPE a counter\na 1\n# TYPE a counter\n'), /TYPE after samples/)
  const ok = parsePrometheus('# HELP h x\n# TYPE h histogram\nh_bucket{le="+Inf",a="q\\"\\\\"} 2\nh_sum 1.5e-3\nh_count 2\n')
  t.same(ok.get('h')!.samples.map(s => [s.name, s.labels, s.value]), [['h_bucket', { le: '+Inf', a: 'q"\\' }, 2], ['h_sum', {}, 0.0015], ['h_count', {}, 2]])
})

t.test('GET /metrics is Prometheus text with every metric of the service and the default process metrics, typed', async t => {
  const app = await testApp(t)
  const families = await scrape(t, app)
  for (const [name, type] of Object.entries({ ...SERVICE_METRICS, ...PROCESS_METRICS })) {
    t.equal(families.get(name)?.type, type, `${name} is a ${type}`)
    t.ok(families.get(name)?.help, `${name} has a HELP`)
  }
  const own = [...families.keys()].filter(n => !n.startsWith('process_') && !n.startsWith('nodejs_'))
  t.same(own.filter(n => !n.startsWith('metric_compactor_')), [], 'every metric of the service is prefixed metric_compactor_')
  for (const outcome of ['ok', 'client_error', 'overloaded', 'cancelled', 'server_error']) {
    t.ok(families.get('metric_compactor_compactions_total')!.samples.some(s => s.labels.outcome === outcome), `outcome=${outcome} is shown from the start`)
  }
  for (const reason of ['missing_key', 'bad_key', 'nonfinite_rollup', 'missing_sketch', 'bad_sketch']) {
    t.ok(families.get('metric_compactor_rows_dropped_total')!.samples.some(s => s.labels.reason === reason), `reason=${reason} is shown from the start`)
  }
  t.equal(valueOf(families, 'metric_compactor_budget_limit_bytes'), app.service.budget.limitBytes)
  t.ok(app.service.budget.limitBytes < app.service.config.compactionBudgetBytes, 'the budget less the children\'s baseline')
  const { size } = app.service.pool
  t.equal(valueOf(families, 'metric_compactor_children'), size, 'every child is started with the app')
  t.equal(valueOf(families, 'metric_compactor_child_baseline_bytes'), app.service.pool.baselineBytes)
  const memory = families.get('metric_compactor_child_memory_bytes')!.samples
  t.same(memory.map(s => s.labels.child).sort(), Array.from({ length: size }, (_, i) => String(i)), 'one memory sample per child, by its place in the pool')
  t.ok(memory.every(s => s.value > 1024 * 1024), 'each child\'s memory is measured')
  for (const reason of ['memory', 'timeout', 'cancelled', 'recycled', 'crashed']) {
    t.equal(valueOf(families, 'metric_compactor_child_kills_total', { reason }), 0, `child kills reason=${reason} is shown from the start`)
  }
  for (const reason of ['memory_bytes', 'event_loop_delay_ms']) t.equal(valueOf(families, 'metric_compactor_pressure', { reason }), 0, `pressure reason=${reason} is 0`)
})

t.test('metric_compactor_pressure is 1 for the reason the guard refuses compactions', async t => {
  const app = await testApp(t, { memoryLimitBytes: 1024 * 1024, compactionBudgetBytes: 1024 ** 3, pressureSampleIntervalMs: 50, maxEventLoopDelayMs: 1e9 })
  await new Promise(resolve => setTimeout(resolve, 150))
  const families = await scrape(t, app)
  t.equal(valueOf(families, 'metric_compactor_pressure', { reason: 'memory_bytes' }), 1)
  t.equal(valueOf(families, 'metric_compactor_pressure', { reason: 'event_loop_delay_ms' }), 0)
})

t.test('a compaction moves the counters by exactly its report', async t => {
  const app = await testApp(t)
  const before = await scrape(t, app)
  const res = await app.inject({ method: 'POST', url: '/compact', ...await multipart(await uploads(t.testdir())) })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  const report = JSON.parse((await readTar(res.rawPayload)).at(-1)!.data.toString()).report
  t.ok(report.dropped.missing_key > 0 && report.dropped.bad_sketch > 0, 'the report has drops of two reasons')
  const after = await scrape(t, app)
  const delta = (name: string, labels: Record<string, string> = {}): number => valueOf(after, name, labels) - valueOf(before, name, labels)

  t.equal(delta('metric_compactor_rows_in_total'), report.rows_in, 'rows_in')
  t.equal(delta('metric_compactor_rows_out_total'), report.rows_out, 'rows_out')
  t.equal(delta('metric_compactor_rows_aggregated_total'), report.rows_aggregated, 'rows_aggregated')
  t.equal(delta('metric_compactor_rows_outside_dateint_total'), report.rows_outside_dateint, 'rows_outside_dateint')
  for (const [reason, n] of Object.entries(report.dropped)) t.equal(delta('metric_compactor_rows_dropped_total', { reason }), n, `dropped ${reason}`)
  t.equal(delta('metric_compactor_bytes_in_total'), report.bytes_in, 'bytes_in')
  t.equal(delta('metric_compactor_bytes_out_total'), report.bytes_out, 'bytes_out')
  t.equal(delta('metric_compactor_files_out_total'), report.files_out, 'files_out')
  t.equal(delta('metric_compactor_sketch_merges_total'), report.sketch_merges, 'sketch_merges')
  t.equal(delta('metric_compactor_compactions_total', { outcome: 'ok' }), 1, 'one compaction ok')
  t.equal(delta('metric_compactor_compaction_duration_seconds_count'), 1, 'its duration observed')
  t.equal(delta('metric_compactor_compaction_duration_seconds_sum'), report.duration_ms / 1000, 'the report\'s duration')
  t.equal(delta('metric_compactor_http_requests_total', { method: 'POST', route: '/compact', status: '200' }), 1, 'one POST /compact 200')
  t.equal(delta('metric_compactor_http_requests_total', { method: 'GET', route: '/metrics', status: '200' }), 1, 'the first scrape')
  t.equal(delta('metric_compactor_http_request_duration_seconds_count', { method: 'POST', route: '/compact' }), 1)
})

t.test('failed compactions are counted by outcome and catalogued code, with no rows', async t => {
  const app = await testApp(t, { maxQueue: 0 })
  const before = await scrape(t, app)
  const notParquet = await app.inject({ method: 'POST', url: '/compact', ...await multipart([{ name: 'notes.txt', data: Buffer.from('not a parquet file') }]) })
  t.equal(notParquet.statusCode, 400)
  t.equal(notParquet.json().code, 'CMP_ERR_BAD_PARQUET')
  const held = await app.service.budget.reserve(app.service.budget.limitBytes)
  const overloaded = await app.inject({ method: 'POST', url: '/compact', ...await multipart(await uploads(t.testdir())) })
  held.release()
  t.equal(overloaded.statusCode, 503)
  t.equal(overloaded.json().code, 'CMP_ERR_OVERLOADED')
  const after = await scrape(t, app)
  const delta = (name: string, labels: Record<string, string> = {}): number => valueOf(after, name, labels) - valueOf(before, name, labels)

  t.equal(delta('metric_compactor_compactions_total', { outcome: 'client_error' }), 1)
  t.equal(delta('metric_compactor_compaction_errors_total', { code: 'CMP_ERR_BAD_PARQUET' }), 1)
  t.equal(delta('metric_compactor_compactions_total', { outcome: 'overloaded' }), 1)
  t.equal(delta('metric_compactor_compaction_errors_total', { code: 'CMP_ERR_OVERLOADED' }), 1)
  t.equal(delta('metric_compactor_compactions_total', { outcome: 'ok' }), 0)
  t.equal(delta('metric_compactor_rows_in_total'), 0)
  t.equal(delta('metric_compactor_compaction_duration_seconds_count'), 0)
  t.equal(delta('metric_compactor_http_requests_total', { method: 'POST', route: '/compact', status: '400' }), 1)
  t.equal(delta('metric_compactor_http_requests_total', { method: 'POST', route: '/compact', status: '503' }), 1)
})

t.test('outcomes: cancelled, overloaded (retry later), else by status; an answer broken mid-stream counts as its error', async t => {
  const cases = {
    CMP_ERR_CANCELLED: 'cancelled',
    CMP_ERR_OVERLOADED: 'overloaded',
    CMP_ERR_TEMP_SPACE: 'overloaded',
    CMP_ERR_DRAINING: 'overloaded',
    CMP_ERR_UNDER_PRESSURE: 'overloaded',
    CMP_ERR_COMPACTION_OOM: 'server_error',
    CMP_ERR_UPSTREAM: 'server_error',
    CMP_ERR_BAD_PARQUET: 'client_error',
    CMP_ERR_OVER_BUDGET: 'client_error',
    CMP_ERR_COMPACTION_TIMEOUT: 'client_error',
  } as const
  for (const [code, outcome] of Object.entries(cases)) t.equal(outcomeOf(new CompactorError(code as keyof typeof cases)), outcome, code)

  const app = await testApp(t)
  const metrics = new ServiceMetrics(() => app.service)
  metrics.compactionEnded(new CompactorError('CMP_ERR_COMPACTION_OOM'))
  metrics.compactionFailed(new Error('not catalogued'))
  const families = parsePrometheus(await metrics.registry.metrics())
  t.equal(valueOf(families, 'metric_compactor_compactions_total', { outcome: 'server_error' }), 2)
  t.equal(valueOf(families, 'metric_compactor_compaction_errors_total', { code: 'CMP_ERR_COMPACTION_OOM' }), 1)
  t.equal(valueOf(families, 'metric_compactor_compaction_errors_total', { code: 'CMP_ERR_INTERNAL' }), 1)
  t.equal(valueOf(families, 'metric_compactor_compactions_total', { outcome: 'ok' }), 0)
  t.equal(valueOf(families, 'metric_compactor_compaction_duration_seconds_count'), 0)
})

t.test('a request no route matches is labelled route="unmatched", never with its URL', async t => {
  const app = await testApp(t)
  for (const url of ['/zz-nope', '/zz-nope/abc?x=1', '/healthz/zz-extra']) t.equal((await app.inject({ url })).statusCode, 404)
  const text = (await app.inject({ url: '/metrics' })).body
  t.equal(valueOf(parsePrometheus(text), 'metric_compactor_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }), 3)
  t.notMatch(text, /zz-/, 'no raw URL in a label')
})

t.test('gauges are read from the service at scrape: queues, in flight, budget reserved, workers; a dead worker is a server_error', async t => {
  const app = await hangApp(t, { maxQueue: 4 })
  const { budget, pool } = app.service
  const dir = t.testdir()
  const hanging = app.inject({ method: 'POST', url: '/compact', ...await multipart(await uploads(dir).then(f => f.map(u => ({ ...u, name: `hang-${u.name}` })))) })
  await until('the compaction to start', () => pool.busy === 1)
  const body = await multipart(await uploads(dir))
  const waitingForWorker = app.inject({ method: 'POST', url: '/compact', ...body })
  await until('a job to wait for the worker', () => pool.queued === 1)
  const held = await budget.reserve(budget.limitBytes - budget.reservedBytes)
  const waitingForBudget = app.inject({ method: 'POST', url: '/compact', ...body })
  await until('a request to wait for budget', () => budget.queued === 1)

  const busy = await scrape(t, app)
  t.equal(valueOf(busy, 'metric_compactor_queue_depth', { queue: 'budget' }), 1)
  t.equal(valueOf(busy, 'metric_compactor_queue_depth', { queue: 'pool' }), 1)
  t.equal(valueOf(busy, 'metric_compactor_compactions_in_flight'), 3)
  t.equal(valueOf(busy, 'metric_compactor_budget_reserved_bytes'), budget.limitBytes, 'the whole budget is reserved')
  t.equal(valueOf(busy, 'metric_compactor_pool_workers'), 1)
  t.equal(valueOf(busy, 'metric_compactor_pool_busy_workers'), 1)

  held.release()
  pool.busyChildren()[0].kill('SIGKILL')
  t.equal((await hanging).statusCode, 503)
  t.equal((await waitingForWorker).statusCode, 200)
  t.equal((await waitingForBudget).statusCode, 200)
  const idle = await scrape(t, app)
  t.equal(valueOf(idle, 'metric_compactor_queue_depth', { queue: 'budget' }), 0)
  t.equal(valueOf(idle, 'metric_compactor_queue_depth', { queue: 'pool' }), 0)
  t.equal(valueOf(idle, 'metric_compactor_compactions_in_flight'), 0)
  t.equal(valueOf(idle, 'metric_compactor_budget_reserved_bytes'), 0)
  t.equal(valueOf(idle, 'metric_compactor_pool_busy_workers'), 0)
  t.equal(valueOf(idle, 'metric_compactor_compactions_total', { outcome: 'server_error' }), 1)
  t.equal(valueOf(idle, 'metric_compactor_compaction_errors_total', { code: 'CMP_ERR_COMPACTION_OOM' }), 1)
  t.equal(valueOf(idle, 'metric_compactor_child_kills_total', { reason: 'crashed' }), 1, 'the child killed from outside')
  t.equal(valueOf(idle, 'metric_compactor_compactions_total', { outcome: 'ok' }), 2)
})

t.test('a client that goes away mid-compaction is counted as cancelled', async t => {
  const app = await hangApp(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const body = await multipart(await uploads(t.testdir()).then(f => f.map(u => ({ ...u, name: `hang-${u.name}` }))))
  const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/compact', headers: { ...body.headers, 'content-length': body.payload.length } })
  req.on('error', () => {})
  req.end(body.payload)
  await until('the compaction to start', () => app.service.pool.busy === 1)
  req.destroy()
  await until('the request to end', () => app.service.state.compactionsInFlight === 0)
  const families = await scrape(t, app)
  t.equal(valueOf(families, 'metric_compactor_compactions_total', { outcome: 'cancelled' }), 1)
  t.equal(valueOf(families, 'metric_compactor_compaction_errors_total', { code: 'CMP_ERR_CANCELLED' }), 1)
})

t.test('/metrics is open: from a non-loopback address, and with DEBUG_TOKEN or API_TOKEN set, without a token', async t => {
  const app = await testApp(t, { debugToken: 'debug-secret', apiToken: 'api-secret' })
  const families = await scrape(t, app, '10.0.0.1')
  t.equal(families.get('metric_compactor_compactions_total')?.type, 'counter')
})

t.test('two apps in one process keep their own counters', async t => {
  const [a, b] = [await testApp(t), await testApp(t)]
  await a.inject({ url: '/healthz' })
  const route = { method: 'GET', route: '/healthz', status: '200' }
  t.equal(valueOf(await scrape(t, a), 'metric_compactor_http_requests_total', route), 1)
  t.equal(valueOf(await scrape(t, b), 'metric_compactor_http_requests_total', route), 0)
})
