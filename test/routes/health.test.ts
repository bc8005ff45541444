// GET /healthz and GET /readyz: up, ready, draining, under memory or event-loop pressure; and
// POST /compact refused (503 CMP_ERR_UNDER_PRESSURE) while the pressure lasts, other routes served.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { ContractChecker, multipart, testApp, twoSegments } from '../support/http.ts'

const contract = new ContractChecker()

t.test('/healthz answers ok while the process is up, draining or not', async t => {
  const app = await testApp(t)
  for (const draining of [false, true]) {
    app.service.state.draining = draining
    const res = await app.inject({ url: '/healthz' })
    t.equal(res.statusCode, 200)
    t.same(contract.check(t, 'GET', '/healthz', res), { status: 'ok' })
  }
})

t.test('/readyz is 200 when ready, 503 with Retry-After while draining', async t => {
  const app = await testApp(t)
  const ready = await app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.match(contract.check(t, 'GET', '/readyz', ready), { status: 'ready', compactions_in_flight: 0 })
  t.notOk('pressure' in ready.json())
  app.service.state.draining = true
  const draining = await app.inject({ url: '/readyz' })
  t.equal(draining.statusCode, 503)
  t.match(draining.headers['retry-after'], /^\d+$/)
  t.match(contract.check(t, 'GET', '/readyz', draining), { status: 'draining' })
})

/** Resolves once the guard has sampled (its first sample comes one interval after start). */
const sampled = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

t.test('the process tree\'s memory over MEMORY_LIMIT_BYTES: /readyz 503 under_pressure, POST /compact 503 CMP_ERR_UNDER_PRESSURE, the rest served', async t => {
  const limit = 1024 * 1024
  // a delay guard that cannot trip, so that memory is the reason
  const app = await testApp(t, { memoryLimitBytes: limit, compactionBudgetBytes: 1024 ** 3, pressureSampleIntervalMs: 50, maxEventLoopDelayMs: 1e9 })
  await sampled(150)
  const readyz = await app.inject({ url: '/readyz' })
  t.equal(readyz.statusCode, 503)
  t.match(readyz.headers['retry-after'], /^\d+$/)
  t.match(contract.check(t, 'GET', '/readyz', readyz), { status: 'under_pressure', pressure: { reason: 'memory_bytes', limit }, memory_limit_bytes: limit })
  t.ok(readyz.json().pressure.value > limit)

  const [a] = await twoSegments(t.testdir())
  const upload = await multipart([{ name: 'a.parquet', data: await readFile(a) }])
  const refused = await app.inject({ method: 'POST', url: '/compact', ...upload })
  t.equal(refused.statusCode, 503)
  t.match(refused.headers['retry-after'], /^\d+$/)
  t.match(contract.check(t, 'POST', '/compact', refused), { code: 'CMP_ERR_UNDER_PRESSURE', details: { reason: 'memory_bytes', limit } })
  t.equal(app.service.budget.reservedBytes, 0, 'nothing was reserved for the refused request')
  for (const url of ['/%63ompact', '/compact?x=1', '/compact/']) {
    const encoded = await app.inject({ method: 'POST', url, ...upload })
    if (encoded.statusCode === 404) continue
    t.equal(encoded.statusCode, 503, `${url} is routed to /compact and refused as it`)
    t.equal(encoded.json().code, 'CMP_ERR_UNDER_PRESSURE')
  }
  const routed = await app.inject({ method: 'POST', url: '/%63ompact', ...upload })
  t.equal(routed.statusCode, 503, 'an encoded path is guarded')

  for (const url of ['/healthz', '/openapi.json']) t.equal((await app.inject({ url })).statusCode, 200, `${url} is still served`)
})

t.test('a lagging event loop trips the guard; it clears when the loop recovers', async t => {
  const app = await testApp(t, { maxEventLoopDelayMs: 30, pressureSampleIntervalMs: 100 })
  const readyz = (): Promise<{ statusCode: number, json: () => any }> => app.inject({ url: '/readyz' })
  /** Polls /readyz until it answers the status (the guard changes state on its next sample). */
  const until = async (status: number): Promise<boolean> => {
    for (const deadline = Date.now() + 3000; Date.now() < deadline; await sampled(20)) if ((await readyz()).statusCode === status) return true
    return false
  }
  t.ok(await until(200), 'ready before the lag')
  // lag: the loop is blocked 100 ms at a time, with /readyz and POST /compact asked in between
  let lagging: Awaited<ReturnType<typeof readyz>> | undefined
  let refused: Awaited<ReturnType<typeof readyz>> | undefined
  for (const end = Date.now() + 1500; Date.now() < end && !refused;) {
    const blockedUntil = Date.now() + 100
    while (Date.now() < blockedUntil) { /* lag */ }
    await sampled(5) // let the loop turn: the guard samples on a timer
    const res = await readyz()
    if (res.statusCode === 503) {
      lagging = res
      refused = await app.inject({ method: 'POST', url: '/compact', headers: { 'content-type': 'application/json' }, payload: {} })
    }
  }
  t.ok(lagging, '/readyz turned 503 while the loop lagged')
  t.match(contract.check(t, 'GET', '/readyz', lagging as any), { status: 'under_pressure', pressure: { reason: 'event_loop_delay_ms', limit: 30 } })
  t.ok(lagging!.json().pressure.value > 30)
  t.match(refused!.json(), { code: 'CMP_ERR_UNDER_PRESSURE', details: { reason: 'event_loop_delay_ms' } })
  t.ok(await until(200), 'ready again once a sample without lag has been taken')
})
