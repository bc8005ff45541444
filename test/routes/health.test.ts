// GET /healthz and GET /readyz: up, ready, draining, over the memory limit.
import t from 'tap'
import { ContractChecker, testApp } from '../support/http.ts'

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

t.test('/readyz is 200 when ready, 503 with Retry-After while draining or over MEMORY_LIMIT_BYTES', async t => {
  const app = await testApp(t)
  const ready = await app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.match(contract.check(t, 'GET', '/readyz', ready), { status: 'ready', compactions_in_flight: 0 })
  app.service.state.draining = true
  const draining = await app.inject({ url: '/readyz' })
  t.equal(draining.statusCode, 503)
  t.match(contract.check(t, 'GET', '/readyz', draining), { status: 'draining' })

  const tight = await testApp(t, { memoryLimitBytes: 1024 * 1024 })
  const pressure = await tight.inject({ url: '/readyz' })
  t.equal(pressure.statusCode, 503)
  t.match(contract.check(t, 'GET', '/readyz', pressure), { status: 'memory_pressure', memory_limit_bytes: 1024 * 1024 })
})
