// The compaction children: started with the service, first in line for the kernel's OOM killer,
// recycled when they stay grown after a job, started again with back-off when they cannot start,
// and gone when the service is.
import t from 'tap'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildApp } from '../../src/app.ts'
import { childrenOf } from '../../src/worker/memory.ts'
import { ContractChecker, multipart, testConfig, twoSegments, until } from '../support/http.ts'

const contract = new ContractChecker()
const HANG_CHILD = new URL('../support/hang-child.ts', import.meta.url)
const BROKEN_CHILD = new URL('../support/broken-child.ts', import.meta.url)
const MiB = 1024 * 1024

async function upload (dir: string, names = ['a.parquet', 'b.parquet']): Promise<{ payload: Buffer, headers: Record<string, string> }> {
  const paths = await twoSegments(dir)
  return multipart(await Promise.all(paths.map(async (p, i) => ({ name: names[i], data: await readFile(p) }))))
}

/** Whether a process runs (a zombie left to an init that does not reap is not running). */
function alive (pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

t.test('the children are started with the service and are the OOM killer\'s first choice', async t => {
  const app = await buildApp(testConfig(t, { workers: 2 }), { logger: false })
  t.teardown(() => app.close())
  t.equal(app.service.pool.workers, 2, 'both children are up before the first request')
  t.ok(app.service.pool.baselineBytes > 0, 'their idle memory is measured')
  const pids = childrenOf(process.pid).filter(pid => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('src/worker/main.ts'))
  t.ok(pids.length >= 2, 'they are child processes of the service')
  for (const pid of pids) t.equal(readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim(), '1000', `child ${pid} has oom_score_adj 1000`)
  t.equal(readFileSync('/proc/self/oom_score_adj', 'utf8').trim() === '1000', false, 'the service itself does not')
})

t.test('a child that stays grown past its share of the budget after a job is recycled; the answer is unaffected', async t => {
  const app = await buildApp(testConfig(t, { workers: 1, compactionBudgetBytes: 1024 * MiB }), { logger: false, workerScript: HANG_CHILD })
  t.teardown(() => app.close())
  // a 56 MiB budget: its share is 56 MiB (a small compaction fits it), so a child that keeps 60 MiB is over it
  app.service.budget.setLimit(56 * MiB)
  const before = app.service.pool.busyChildren().length
  t.equal(before, 0)
  const res = await app.inject({ method: 'POST', url: '/compact', ...await upload(t.testdir(), ['grow-a.parquet', 'b.parquet']) })
  t.equal(res.statusCode, 200, 'the compaction itself succeeds')
  await until('the grown child to be recycled', () => app.service.pool.kills.get('recycled') === 1)
  await until('its replacement to start', () => app.service.pool.workers === 1)
  const next = await app.inject({ method: 'POST', url: '/compact', ...await upload(t.testdir()) })
  t.equal(next.statusCode, 200)
  t.equal(app.service.pool.kills.get('recycled'), 1, 'a child back at its baseline after a job is kept')
})

t.test('children that cannot start: retried with back-off, /readyz 503 no_children, POST /compact 503 CMP_ERR_WORKER_UNAVAILABLE', async t => {
  const app = await buildApp(testConfig(t, { workers: 1 }), { logger: false, workerScript: BROKEN_CHILD })
  t.teardown(() => app.close())
  await until('two failed starts', () => app.service.pool.consecutiveSpawnFailures >= 2)
  const readyz = await app.inject({ url: '/readyz' })
  t.equal(readyz.statusCode, 503)
  t.match(contract.check(t, 'GET', '/readyz', readyz), { status: 'no_children', children: { size: 1, live: 0 } })
  t.ok(readyz.json().children.spawn_failures >= 2)
  const res = await app.inject({ method: 'POST', url: '/compact', ...await upload(t.testdir()) })
  t.equal(res.statusCode, 503)
  t.match(res.headers['retry-after'], /^\d+$/)
  t.equal((contract.check(t, 'POST', '/compact', res) as { code: string }).code, 'CMP_ERR_WORKER_UNAVAILABLE')
  // back-off: 100, 200, 400, 800 ms... so about 1.5 s brings the fourth attempt, not dozens
  const failures = app.service.pool.consecutiveSpawnFailures
  await sleep(1500)
  const later = app.service.pool.consecutiveSpawnFailures
  t.ok(later > failures && later <= failures + 4, `attempts are spaced out (${failures} then ${later})`)
  t.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'the service itself is up')
})

t.test('the children exit when the service process dies', async t => {
  const dir = t.testdir()
  const server = spawn(process.execPath, [join(import.meta.dirname, '..', '..', 'src', 'main.ts')], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', WORKERS: '2', STORAGE_ROOT: dir, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  server.stdout!.on('data', (c: Buffer) => { out += c.toString() })
  await until('the service to listen', () => /listening at/.test(out), 20_000)
  const children = childrenOf(server.pid!)
  t.equal(children.length, 2, 'two children')
  server.kill('SIGKILL')
  await until('the children to exit', () => children.every(pid => !alive(pid)), 10_000)
  t.pass('every child exited once its IPC channel closed')
})
