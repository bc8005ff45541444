// POST /compact under the memory guards: the budget's 413 and 503s, a child that dies failing only its
// own request, the watchdog's 422, and a client that goes away cancelling its compaction.
import t, { type Test } from 'tap'
import { request } from 'node:http'
import { readFile } from 'node:fs/promises'
import { buildApp, type App } from '../../src/app.ts'
import { ContractChecker, assertNoTempFiles, multipart, testApp, testConfig, twoSegments, until } from '../support/http.ts'
import type { Config } from '../../src/config.ts'

const contract = new ContractChecker()
const HANG_CHILD = new URL('../support/hang-child.ts', import.meta.url)

async function files (dir: string, names = ['a.parquet', 'b.parquet']): Promise<Array<{ name: string, data: Buffer }>> {
  const paths = await twoSegments(dir)
  return Promise.all(paths.map(async (p, i) => ({ name: names[i], data: await readFile(p) })))
}

async function hangApp (t: Test, overrides: Partial<Config> = {}): Promise<App> {
  const app = await buildApp(testConfig(t, { workers: 1, ...overrides }), { logger: false, workerScript: HANG_CHILD })
  t.teardown(() => app.close())
  return app
}

function assertIdle (t: Test, app: App): void {
  t.equal(app.service.budget.reservedBytes, 0, 'no memory budget is reserved')
  t.equal(app.service.budget.queued, 0, 'nothing waits for budget')
  t.equal(app.service.pool.busy, 0, 'no worker is busy')
  t.ok(app.service.pool.workers <= app.service.pool.size, 'the pool is within its size')
}

t.test('a compaction estimated larger than the whole budget is 413 CMP_ERR_OVER_BUDGET at once', async t => {
  const app = await testApp(t, { compactionBudgetBytes: 1024 })
  const res = await app.inject({ method: 'POST', url: '/compact', ...await multipart(await files(t.testdir())) })
  t.equal(res.statusCode, 413)
  const body = contract.check(t, 'POST', '/compact', res) as { code: string, details: { estimate_bytes: number, budget_bytes: number } }
  t.equal(body.code, 'CMP_ERR_OVER_BUDGET')
  t.equal(body.details.budget_bytes, app.service.budget.limitBytes, 'the budget less the children\'s baseline')
  t.ok(app.service.budget.limitBytes < 1024)
  t.ok(body.details.estimate_bytes > 1024)
  assertIdle(t, app)
  await assertNoTempFiles(t, app)
})

t.test('with the budget taken and no room in the queue: 503 CMP_ERR_OVERLOADED with Retry-After', async t => {
  const app = await testApp(t, { maxQueue: 0 })
  const held = await app.service.budget.reserve(app.service.budget.limitBytes)
  const res = await app.inject({ method: 'POST', url: '/compact', ...await multipart(await files(t.testdir())) })
  t.equal(res.statusCode, 503)
  t.match(res.headers['retry-after'], /^\d+$/)
  t.equal((contract.check(t, 'POST', '/compact', res) as { code: string }).code, 'CMP_ERR_OVERLOADED')
  held.release()
  assertIdle(t, app)
  await assertNoTempFiles(t, app)
})

t.test('a request queued longer than QUEUE_TIMEOUT_MS: 503 CMP_ERR_OVERLOADED; once the budget is free it is served', async t => {
  const app = await testApp(t, { maxQueue: 4, queueTimeoutMs: 100 })
  const body = await multipart(await files(t.testdir()))
  const held = await app.service.budget.reserve(app.service.budget.limitBytes)
  const res = await app.inject({ method: 'POST', url: '/compact', ...body })
  t.equal(res.statusCode, 503)
  t.equal((contract.check(t, 'POST', '/compact', res) as { code: string }).code, 'CMP_ERR_OVERLOADED')
  const queued = app.inject({ method: 'POST', url: '/compact', ...body })
  await until('the request to queue', () => app.service.budget.queued === 1)
  held.release()
  t.equal((await queued).statusCode, 200, 'a queued request is served when the budget frees up')
  assertIdle(t, app)
  await assertNoTempFiles(t, app)
})

t.test('a child killed mid-compaction (SIGKILL from outside) fails only its request: 503 CMP_ERR_COMPACTION_OOM, the next succeeds', async t => {
  const app = await hangApp(t)
  const dir = t.testdir()
  const hanging = app.inject({ method: 'POST', url: '/compact', ...await multipart(await files(dir, ['hang-a.parquet', 'b.parquet'])) })
  await until('the compaction to start', () => app.service.pool.busy === 1)
  t.ok(app.service.budget.reservedBytes > 0, 'the running compaction holds its reservation')
  app.service.pool.busyChildren()[0].kill('SIGKILL')
  const res = await hanging
  t.equal(res.statusCode, 503)
  t.match(res.headers['retry-after'], /^\d+$/)
  const body = contract.check(t, 'POST', '/compact', res) as { code: string, message: string }
  t.equal(body.code, 'CMP_ERR_COMPACTION_OOM')
  t.match(body.message, /SIGKILL/)
  t.equal(app.service.pool.kills.get('crashed'), 1, 'counted as a death the pool did not cause')
  assertIdle(t, app)
  await assertNoTempFiles(t, app)

  const next = await app.inject({ method: 'POST', url: '/compact', ...await multipart(await files(dir)) })
  t.equal(next.statusCode, 200, 'the service goes on with a new child')
  t.equal(app.service.pool.workers, 1)
  assertIdle(t, app)
  await assertNoTempFiles(t, app)
})

for (const [label, how] of [['abort', /SIGABRT/]] as const) {
  t.test('a child that calls process.abort() mid-compaction fails only its request (503 + Retry-After); the others finish', async t => {
    const app = await hangApp(t, { workers: 2 })
    const dir = t.testdir()
    const good = files(dir).then(multipart)
    const broken = app.inject({ method: 'POST', url: '/compact', ...await multipart(await files(dir, [`${label}-a.parquet`, 'b.parquet'])) })
    const beside = app.inject({ method: 'POST', url: '/compact', ...await good })
    const [res, other] = await Promise.all([broken, beside])
    t.equal(res.statusCode, 503)
    t.match(res.headers['retry-after'], /^\d+$/)
    const body = contract.check(t, 'POST', '/compact', res) as { code: string, message: string }
    t.equal(body.code, 'CMP_ERR_COMPACTION_OOM')
    t.match(body.message, how)
    t.equal(other.statusCode, 200, 'the compaction beside it finishes')
    await until('the child to be replaced', () => app.service.pool.workers === 2)
    assertIdle(t, app)
    await assertNoTempFiles(t, app)
  })
}

t.test('a child whose memory (buffers or JS heap) passes its reservation is killed by the watchdog: 422 CMP_ERR_INPUT_TOO_COSTLY, the next succeeds', async t => {
  const app = await hangApp(t, { compactionBudgetBytes: 512 * 1024 * 1024 })
  const dir = t.testdir()
  for (const label of ['native', 'heap']) {
    const res = await app.inject({ method: 'POST', url: '/compact', ...await multipart(await files(dir, [`${label}-a.parquet`, 'b.parquet'])) })
    t.equal(res.statusCode, 422, `${label}: 422`)
    const body = contract.check(t, 'POST', '/compact', res) as { code: string, details: { needed_bytes: number, budget_bytes: number } }
    t.equal(body.code, 'CMP_ERR_INPUT_TOO_COSTLY')
    t.ok(body.details.needed_bytes > body.details.budget_bytes, 'it needed more than its reservation')
  }
  t.equal(app.service.pool.kills.get('memory'), 2, 'native memory and the JS heap alike')
  const next = await app.inject({ method: 'POST', url: '/compact', ...await multipart(await files(dir)) })
  t.equal(next.statusCode, 200)
  await until('the killed child to be replaced', () => app.service.pool.workers === 1)
  assertIdle(t, app)
  await assertNoTempFiles(t, app)
})

t.test('a compaction past COMPACTION_TIMEOUT_MS is stopped: 422 CMP_ERR_COMPACTION_TIMEOUT, the next succeeds', async t => {
  const app = await hangApp(t, { compactionTimeoutMs: 5000 })
  const dir = t.testdir()
  const res = await app.inject({ method: 'POST', url: '/compact', ...await multipart(await files(dir, ['hang-a.parquet', 'b.parquet'])) })
  t.equal(res.statusCode, 422)
  t.equal((contract.check(t, 'POST', '/compact', res) as { code: string }).code, 'CMP_ERR_COMPACTION_TIMEOUT')
  assertIdle(t, app)
  await assertNoTempFiles(t, app)
  const next = await app.inject({ method: 'POST', url: '/compact', ...await multipart(await files(dir)) })
  t.equal(next.statusCode, 200, 'a fresh worker serves the next request')
  await until('the stopped worker to be replaced', () => app.service.pool.workers === 1)
  assertIdle(t, app)
})

t.test('a client that disconnects cancels its compaction: worker stopped, budget back to zero, temp files gone', async t => {
  const app = await hangApp(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const body = await multipart(await files(t.testdir(), ['hang-a.parquet', 'b.parquet']))
  const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/compact', headers: { ...body.headers, 'content-length': body.payload.length } })
  req.on('error', () => {})
  req.end(body.payload)
  await until('the compaction to start', () => app.service.pool.busy === 1)
  const child = app.service.pool.busyChildren()[0]
  const exited = new Promise(resolve => child.once('exit', resolve))
  t.ok(app.service.budget.reservedBytes > 0)
  req.destroy()
  await exited
  await until('the request to end', () => app.service.state.compactionsInFlight === 0)
  assertIdle(t, app)
  await assertNoTempFiles(t, app)

  const next = await app.inject({ method: 'POST', url: '/compact', ...await multipart(await files(t.testdir())) })
  t.equal(next.statusCode, 200, 'the next request is served by a fresh child')
  assertIdle(t, app)
})
