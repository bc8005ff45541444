// GET /debug/vars: the runtime figures, each of its type and in step with the process and the service;
// GC and event-loop delay observed from the app's start; the debug access rule's two refusals.
import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildApp, type App } from '../../src/app.ts'
import { ContractChecker, multipart, testApp, testConfig, twoSegments, until } from '../support/http.ts'
import { WATCHDOG_SLACK_BYTES } from '../../src/worker/pool.ts'

const contract = new ContractChecker()
const HANG_CHILD = new URL('../support/hang-child.ts', import.meta.url)
const VERSION = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version

async function vars (t: Test, app: App, headers: Record<string, string> = {}, remoteAddress?: string): Promise<any> {
  const res = await app.inject({ url: '/debug/vars', headers, ...(remoteAddress ? { remoteAddress } : {}) })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  return contract.check(t, 'GET', '/debug/vars', res)
}

t.test('the figures: memory, GC, event-loop delay, compactions, budget, children, uptime and versions', async t => {
  const app = await testApp(t, { workers: 3, compactionBudgetBytes: 300 * 1024 * 1024 })
  const v = await vars(t, app)
  for (const key of ['rss_bytes', 'heap_used_bytes', 'heap_total_bytes', 'external_bytes', 'array_buffers_bytes']) {
    t.ok(Number.isInteger(v.memory[key]) && v.memory[key] > 0, `memory.${key} is a positive integer`)
  }
  t.ok(v.memory.heap_used_bytes <= v.memory.heap_total_bytes, 'heap used <= heap total')
  t.ok(v.memory.heap_total_bytes < v.memory.rss_bytes, 'heap total < rss')
  t.ok(Math.abs(v.memory.rss_bytes - process.memoryUsage.rss()) < 64 * 1024 * 1024, 'rss is this process\'s')
  t.ok(Number.isInteger(v.gc.count) && v.gc.count >= 0)
  t.type(v.gc.pause_total_ms, 'number')
  for (const key of ['p50_ms', 'p90_ms', 'p99_ms', 'max_ms']) t.type(v.event_loop_delay[key], 'number', `event_loop_delay.${key}`)
  t.same(v.compactions, { in_flight: 0, uploads_in_progress: 0, running: 0, queued_for_budget: 0, queued_for_worker: 0 })
  const limit = 300 * 1024 * 1024 - 3 * (v.pool.baseline_bytes + WATCHDOG_SLACK_BYTES)
  t.same(v.budget, { limit_bytes: limit, reserved_bytes: 0, free_bytes: limit }, 'the budget less each child\'s baseline and slack')
  t.match(v.pool, { size: 3, workers: 3, busy: 0, spawn_failures: 0, kills: { memory: 0, timeout: 0, cancelled: 0, recycled: 0, crashed: 0 } }, 'the children are started with the app')
  t.ok(v.pool.baseline_bytes > 10 * 1024 * 1024 && v.pool.baseline_bytes < 200 * 1024 * 1024, 'an idle child\'s measured memory')
  t.ok(v.pool.memory_bytes >= 3 * v.pool.baseline_bytes, 'the tree holds the three children')
  t.equal(v.pressure, null, 'not under pressure')
  t.ok(v.uptime_seconds > 0 && Math.abs(v.uptime_seconds - process.uptime()) < 5, 'uptime is the process\'s, in seconds')
  t.same(v.versions, { node: process.version, v8: process.versions.v8, service: VERSION })
})

t.test('pressure: what is over its limit while POST /compact is refused', async t => {
  const app = await testApp(t, { memoryLimitBytes: 1024 * 1024, compactionBudgetBytes: 1024 ** 3, pressureSampleIntervalMs: 50, maxEventLoopDelayMs: 1e9 })
  await new Promise(resolve => setTimeout(resolve, 150))
  const v = await vars(t, app)
  t.match(v.pressure, { reason: 'memory_bytes', limit: 1024 * 1024 })
  t.ok(v.pressure.value > 1024 * 1024)
})

t.test('garbage collections and their pauses are counted from the app\'s start', async t => {
  const app = await testApp(t)
  const before = (await vars(t, app)).gc
  // ~400 MB of short-lived arrays that escape (so the optimiser cannot elide them): many scavenges
  const ring: number[][] = new Array(64)
  for (let i = 0; i < 100_000; i++) ring[i % 64] = new Array(512).fill(i)
  t.equal(ring[0][0] % 64, 0)
  await sleep(50) // GC entries reach observers asynchronously
  const after = (await vars(t, app)).gc
  t.ok(after.count > before.count, `${after.count} collections after the garbage, ${before.count} before`)
  t.ok(after.pause_total_ms > before.pause_total_ms, 'their pauses add up')
})

t.test('a blocked event loop shows in the delay percentiles', async t => {
  const app = await testApp(t)
  await sleep(50)
  const start = Date.now()
  while (Date.now() - start < 200) { /* block the loop */ }
  await sleep(50)
  const delay = (await vars(t, app)).event_loop_delay
  t.ok(delay.max_ms >= 150, `max ${delay.max_ms} ms after a 200 ms block`)
  t.ok(delay.p50_ms <= delay.p90_ms && delay.p90_ms <= delay.p99_ms && delay.p99_ms <= delay.max_ms, 'percentiles in order')
})

t.test('compactions running and queued, and the budget they hold, are the service\'s now', async t => {
  const app = await buildApp(testConfig(t, { workers: 1 }), { logger: false, workerScript: HANG_CHILD })
  t.teardown(() => app.close())
  const { budget, pool } = app.service
  const dir = t.testdir()
  const paths = await twoSegments(dir)
  const files = await Promise.all(paths.map(async (p, i) => ({ name: ['a.parquet', 'b.parquet'][i], data: await readFile(p) })))
  const hanging = app.inject({ method: 'POST', url: '/compact', ...await multipart(files.map(f => ({ ...f, name: `hang-${f.name}` }))) })
  await until('the compaction to start', () => pool.busy === 1)
  const waiting = app.inject({ method: 'POST', url: '/compact', ...await multipart(files) })
  await until('a job to wait for the worker', () => pool.queued === 1)

  const v = await vars(t, app)
  t.same(v.compactions, { in_flight: 2, uploads_in_progress: 0, running: 1, queued_for_budget: 0, queued_for_worker: 1 })
  t.ok(v.budget.reserved_bytes > 0)
  t.equal(v.budget.reserved_bytes, budget.reservedBytes)
  t.equal(v.budget.free_bytes, budget.limitBytes - budget.reservedBytes)
  t.match(v.pool, { size: 1, workers: 1, busy: 1 })

  pool.busyChildren()[0].kill('SIGKILL')
  t.equal((await hanging).statusCode, 503)
  t.equal((await waiting).statusCode, 200)
  t.same((await vars(t, app)).compactions, { in_flight: 0, uploads_in_progress: 0, running: 0, queued_for_budget: 0, queued_for_worker: 0 })
})

t.test('with DEBUG_TOKEN set: 401 CMP_ERR_UNAUTHORIZED without the bearer token or with a wrong one, 200 with it from anywhere', async t => {
  const app = await testApp(t, { debugToken: 'debug-secret' })
  for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 'debug-secret' }]) {
    const res = await app.inject({ url: '/debug/vars', headers })
    t.equal(res.statusCode, 401, JSON.stringify(headers))
    t.equal(res.headers['www-authenticate'], 'Bearer')
    t.equal((contract.check(t, 'GET', '/debug/vars', res) as { code: string }).code, 'CMP_ERR_UNAUTHORIZED')
  }
  await vars(t, app, { authorization: 'Bearer debug-secret' }, '10.0.0.1')
})

t.test('without DEBUG_TOKEN: 403 CMP_ERR_DEBUG_FORBIDDEN from a non-loopback address, 200 from loopback', async t => {
  const app = await testApp(t)
  for (const remoteAddress of ['10.0.0.1', '192.168.1.20', '::ffff:10.1.2.3', '2001:db8::1']) {
    const res = await app.inject({ url: '/debug/vars', remoteAddress })
    t.equal(res.statusCode, 403, remoteAddress)
    t.equal((contract.check(t, 'GET', '/debug/vars', res) as { code: string }).code, 'CMP_ERR_DEBUG_FORBIDDEN')
  }
  for (const remoteAddress of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) await vars(t, app, {}, remoteAddress)
})

t.test('the guard is the debug endpoints\' own: other routes answer non-loopback clients', async t => {
  const app = await testApp(t)
  t.equal((await app.inject({ url: '/healthz', remoteAddress: '10.0.0.1' })).statusCode, 200)
  t.equal((await app.inject({ url: '/metrics', remoteAddress: '10.0.0.1' })).statusCode, 200)
})
