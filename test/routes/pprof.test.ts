// /debug/pprof: the index, CPU and heap profiles of the whole process (main thread and compaction
// workers, merged, each sample labelled with its thread), read back with pprof-format and with the
// operators' own client, `go tool pprof`; the debug access rule; one CPU capture at a time.
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { setTimeout as sleep } from 'node:timers/promises'
import { Profile } from 'pprof-format'
import { buildApp, type App } from '../../src/app.ts'
import { MAX_SECONDS } from '../../routes/pprof.ts'
import { capturingCpu } from '../../src/debug/pprof.ts'
import { cpuProfiling } from '../../src/debug/thread-profile.ts'
import { writeSegment, type RowSpec } from '../support/segments.ts'
import { ContractChecker, T0, multipart, testApp, testConfig, twoSegments } from '../support/http.ts'

const contract = new ContractChecker()
const HANG_CHILD = new URL('../support/hang-child.ts', import.meta.url)

/** Two overlapping segments of 24 000 rows each: a compaction of them merges and rolls up for a while. */
async function busyUpload (dir: string): Promise<{ payload: Buffer, headers: Record<string, string> }> {
  const files = []
  for (const [i, name] of ['a.parquet', 'b.parquet'].entries()) {
    const rows: RowSpec[] = []
    for (let n = 0; n < 20; n++) {
      for (let tid = 1; tid <= 100; tid++) {
        for (let k = 0; k < 12; k++) rows.push({ name: `metric_${String(n).padStart(2, '0')}`, tid: BigInt(tid), ts: T0 + k * 10_000 + i * 5_000, values: [k, tid, n + i] })
      }
    }
    await writeSegment(join(dir, name), rows)
    files.push({ name, data: await readFile(join(dir, name)) })
  }
  return multipart(files, { frequency_ms: '60000' })
}

// the event-loop guard is not under test here: a loaded machine must not turn these compactions away
const NO_LAG_GUARD = { maxEventLoopDelayMs: 60_000 }

/** An app whose `workers` workers are up (each ran a compaction), so a capture does not wait on their start. */
async function warmApp (t: Test, workers: number, body: { payload: Buffer, headers: Record<string, string> }): Promise<App> {
  const app = await testApp(t, { workers, ...NO_LAG_GUARD })
  const warm = await Promise.all(Array.from({ length: workers }, () => app.inject({ method: 'POST', url: '/compact', ...body })))
  for (const res of warm) if (res.statusCode !== 200) throw new Error(`compaction failed: ${res.statusCode} ${res.body.slice(0, 300)}`)
  return app
}

/** Runs compactions back to back until `until` settles; returns how many succeeded. */
async function compactUntil (app: App, body: { payload: Buffer, headers: Record<string, string> }, until: Promise<unknown>): Promise<number> {
  let done = false
  void until.finally(() => { done = true })
  let ok = 0
  while (!done) {
    const res = await app.inject({ method: 'POST', url: '/compact', ...body })
    if (res.statusCode !== 200) throw new Error(`compaction failed: ${res.statusCode} ${res.body.slice(0, 300)}`)
    ok++
  }
  return ok
}

function decode (body: Buffer): Profile {
  return Profile.decode(gunzipSync(body))
}

const text = (p: Profile, index: number | bigint): string => p.stringTable.strings[Number(index)]

/** Every function of a profile as `name (file)`. */
function functions (p: Profile): Array<{ name: string, file: string, id: number }> {
  return p.function.map(f => ({ name: text(p, f.name), file: text(p, f.filename), id: Number(f.id) }))
}

/** The values of the `thread` label over the samples that pass through any of the function ids. */
function threadsOf (p: Profile, functionIds: Set<number>): Set<string> {
  const locations = new Set(p.location.filter(l => l.line.some(line => functionIds.has(Number(line.functionId)))).map(l => Number(l.id)))
  const threads = new Set<string>()
  for (const s of p.sample) {
    if (!s.locationId.some(id => locations.has(Number(id)))) continue
    for (const l of s.label) if (text(p, l.key) === 'thread') threads.add(text(p, l.str))
  }
  return threads
}

function assertProfileResponse (t: Test, res: { statusCode: number, headers: Record<string, unknown>, body: string, rawPayload: Buffer }, path: string, filename: string): Profile {
  t.equal(res.statusCode, 200, res.statusCode === 200 ? path : res.body)
  contract.check(t, 'GET', path, res)
  t.equal(res.headers['content-type'], 'application/octet-stream')
  t.equal(res.headers['content-disposition'], `attachment; filename="${filename}"`)
  t.same([...res.rawPayload.subarray(0, 2)], [0x1f, 0x8b], 'gzipped')
  return decode(res.rawPayload)
}

t.test('GET /debug/pprof/ lists the profiles with links, like Go\'s index', async t => {
  const app = await testApp(t)
  const res = await app.inject({ url: '/debug/pprof/' })
  t.equal(res.statusCode, 200)
  contract.check(t, 'GET', '/debug/pprof/', res)
  t.match(res.headers['content-type'], /^text\/html/)
  t.match(res.body, 'href="profile?seconds=30"')
  t.match(res.body, 'href="heap"')
})

t.test('a CPU profile taken while compactions run on the workers shows the engine\'s merge and aggregate functions, on worker threads', async t => {
  const body = await busyUpload(t.testdir())
  const app = await warmApp(t, 2, body)
  const capture = app.inject({ url: '/debug/pprof/profile?seconds=3' })
  // two at a time, so a worker computes while the main thread takes the next upload in
  const compactions = (await Promise.all([compactUntil(app, body, capture), compactUntil(app, body, capture)])).reduce((a, b) => a + b)
  t.ok(compactions >= 2, `${compactions} compactions ran during the capture`)
  const profile = assertProfileResponse(t, await capture, '/debug/pprof/profile', 'profile.pb.gz')

  t.same(profile.sampleType.map(v => `${text(profile, v.type)}/${text(profile, v.unit)}`), ['sample/count', 'wall/nanoseconds'])
  const durationS = Number(profile.durationNanos) / 1e9
  t.ok(durationS >= 2.9 && durationS < 20, `covers the capture (${durationS} s)`)
  const all = functions(profile)
  const merge = all.filter(f => /src\/compaction\/merge\/merge\.ts$/.test(f.file))
  const aggregate = all.filter(f => /src\/compaction\/merge\/aggregate\.ts$/.test(f.file))
  const comments = profile.comment.map(c => text(profile, c)).join('; ')
  t.ok(merge.length > 0, `functions of merge.ts: ${merge.map(f => f.name).join(', ')} (${comments})`)
  t.ok(aggregate.length > 0, `functions of aggregate.ts: ${aggregate.map(f => f.name).join(', ')}`)
  const engineNames = new Set([...merge, ...aggregate].map(f => f.name))
  t.ok(['step', 'siftTop', 'compareKeys', 'add', 'finish', 'sortOrder'].some(n => engineNames.has(n)), 'the engine\'s own functions by name')
  const threads = threadsOf(profile, new Set([...merge, ...aggregate].map(f => f.id)))
  t.ok(threads.size > 0 && [...threads].every(th => /^worker-\d+$/.test(th)), `engine samples are labelled with worker threads: ${[...threads].join(', ')}`)
  const allThreads = threadsOf(profile, new Set(all.map(f => f.id)))
  t.ok(allThreads.has('main'), 'the main thread is in the profile too')
  t.match(comments, /thread main: \d+ samples/)
})

t.test('the heap profile holds the main thread\'s and each worker\'s sampled live heap', async t => {
  const body = await multipart((await Promise.all((await twoSegments(t.testdir())).map(async p => ({ name: p.split('/').at(-1)!, data: await readFile(p) })))))
  const app = await warmApp(t, 1, body)
  const profile = assertProfileResponse(t, await app.inject({ url: '/debug/pprof/heap' }), '/debug/pprof/heap', 'heap.pb.gz')
  t.same(profile.sampleType.map(v => `${text(profile, v.type)}/${text(profile, v.unit)}`), ['inuse_objects/count', 'inuse_space/bytes'])
  t.ok(profile.sample.length > 0, 'it has samples')
  const threads = threadsOf(profile, new Set(functions(profile).map(f => f.id)))
  t.ok(threads.has('main'), 'the main thread\'s heap')
  t.ok([...threads].some(th => /^worker-\d+$/.test(th)), `a worker's heap: ${[...threads].join(', ')}`)
})

const haveGo = spawnSync('go', ['version']).status === 0
const goSkip = haveGo || process.env.CI ? {} : { skip: '`go` is not installed (apt-get install golang-go): go tool pprof test skipped; under CI it runs and fails without go' }
t.test('go tool pprof -top reads the CPU and the heap profile and lists functions', goSkip, async t => {
  t.ok(haveGo, 'go is installed (CI installs golang-go)')
  const dir = t.testdir()
  const body = await busyUpload(dir)
  const app = await warmApp(t, 1, body)
  const capture = app.inject({ url: '/debug/pprof/profile?seconds=2' })
  await compactUntil(app, body, capture)
  const cpu = await capture
  t.equal(cpu.statusCode, 200)
  const heap = await app.inject({ url: '/debug/pprof/heap' })
  t.equal(heap.statusCode, 200)
  for (const [name, res, unit] of [['cpu.pb.gz', cpu, /Showing nodes accounting for .*s, [\d.]+% of .*s total/], ['heap.pb.gz', heap, /Showing nodes accounting for .*B, [\d.]+% of .*B total/]] as const) {
    const file = join(dir, name)
    await writeFile(file, res.rawPayload)
    const run = spawnSync('go', ['tool', 'pprof', '-top', file], { encoding: 'utf8', env: { ...process.env, PPROF_TMPDIR: dir, HOME: process.env.HOME ?? dir } })
    t.equal(run.status, 0, `go tool pprof -top ${name} exits 0\n${run.stderr}`)
    t.match(run.stdout, unit, `${name}: the totals line`)
    t.match(run.stdout, /flat%\s+sum%\s+cum\s+cum%/, `${name}: the table header`)
    const rows = run.stdout.split('\n').filter(l => /^\s*[\d.]+\w*\s+[\d.]+%\s+[\d.]+%/.test(l))
    t.ok(rows.length > 0, `${name}: lists functions (${rows.length})`)
    if (name === 'cpu.pb.gz') {
      const tags = spawnSync('go', ['tool', 'pprof', '-tags', file], { encoding: 'utf8', env: { ...process.env, PPROF_TMPDIR: dir } })
      t.match(tags.stdout, /thread:.*\n(.*\n)*.*main/, 'the thread label is there for -tags/-tagfocus')
    }
  }
})

t.test('seconds must be an integer from 1 to 300: anything else is 400 CMP_ERR_BAD_REQUEST', async t => {
  const app = await testApp(t)
  for (const seconds of ['0', String(MAX_SECONDS + 1), 'abc', '1.5', '-1', '', '99999']) {
    const res = await app.inject({ url: `/debug/pprof/profile?seconds=${seconds}` })
    t.equal(res.statusCode, 400, `seconds=${seconds}`)
    const body = contract.check(t, 'GET', '/debug/pprof/profile', res) as { code: string, details: { field: string } }
    t.equal(body.code, 'CMP_ERR_BAD_REQUEST')
    t.equal(body.details.field, 'seconds')
  }
})

t.test('one CPU capture at a time: a second one meanwhile is 409 CMP_ERR_PROFILE_IN_PROGRESS', async t => {
  const app = await testApp(t)
  const first = app.inject({ url: '/debug/pprof/profile?seconds=1' })
  while (!cpuProfiling()) await sleep(5)
  const second = await app.inject({ url: '/debug/pprof/profile?seconds=1' })
  t.equal(second.statusCode, 409)
  t.equal((contract.check(t, 'GET', '/debug/pprof/profile', second) as { code: string }).code, 'CMP_ERR_PROFILE_IN_PROGRESS')
  t.equal((await first).statusCode, 200)
  t.equal((await app.inject({ url: '/debug/pprof/profile?seconds=1' })).statusCode, 200, 'the next capture after it is served')
})

t.test('a worker that exits during the capture loses its part, named in the comments; its replacement is profiled', async t => {
  const app = await buildApp(testConfig(t, { workers: 1, ...NO_LAG_GUARD }), { logger: false, workerScript: HANG_CHILD })
  t.teardown(() => app.close())
  const upload = await multipart((await Promise.all((await twoSegments(t.testdir(), ['hang-a.parquet', 'b.parquet'])).map(async p => ({ name: p.split('/').at(-1)!, data: await readFile(p) })))))
  const hanging = app.inject({ method: 'POST', url: '/compact', ...upload })
  while (app.service.pool.busy === 0) await sleep(10)
  const capture = app.inject({ url: '/debug/pprof/profile?seconds=2' })
  await sleep(500)
  app.service.pool.busyChildren()[0].kill('SIGKILL')
  t.equal((await hanging).statusCode, 503)
  const profile = assertProfileResponse(t, await capture, '/debug/pprof/profile', 'profile.pb.gz')
  const comments = profile.comment.map(c => text(profile, c)).join('\n')
  t.match(comments, /thread worker-\d+: lost/, 'the dead worker is named as lost')
  t.match(comments, /thread worker-\d+: \d+ samples/, 'the replacement started during the capture gave its part')
  t.match(comments, /thread main: \d+ samples/)
})

t.test('closing the app ends a capture in progress: the answer covers the time so far', async t => {
  const app = await buildApp(testConfig(t), { logger: false })
  const started = Date.now()
  const capture = app.inject({ url: `/debug/pprof/profile?seconds=${MAX_SECONDS}` })
  await sleep(300)
  await app.close()
  const res = await capture
  t.equal(res.statusCode, 200)
  t.ok(Date.now() - started < 15_000, 'well before the 300 s asked for')
  t.ok(Number(decode(res.rawPayload).durationNanos) < 15e9)
  const next = await testApp(t)
  t.equal((await next.inject({ url: '/debug/pprof/profile?seconds=1' })).statusCode, 200, 'another capture can start afterwards')
})

t.test('a client that goes away ends its capture: the next one can start at once', async t => {
  const app = await testApp(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  const req = request({ host: '127.0.0.1', port, path: `/debug/pprof/profile?seconds=${MAX_SECONDS}` })
  req.on('error', () => {})
  req.end()
  while (!cpuProfiling()) await sleep(5)
  req.destroy()
  const deadline = Date.now() + 5000
  while (capturingCpu() && Date.now() < deadline) await sleep(10)
  t.notOk(capturingCpu(), 'the capture ended')
  t.notOk(cpuProfiling(), 'the profiler stopped')
  t.equal((await app.inject({ url: '/debug/pprof/profile?seconds=1' })).statusCode, 200, 'a new capture is served')
})

t.test('with DEBUG_TOKEN set, every /debug/pprof route needs the bearer token: 401 CMP_ERR_UNAUTHORIZED without it', async t => {
  const app = await testApp(t, { debugToken: 'sesame' })
  for (const url of ['/debug/pprof/', '/debug/pprof/heap', '/debug/pprof/profile?seconds=1']) {
    const path = url.split('?')[0]
    for (const authorization of [undefined, 'Bearer wrong', 'sesame']) {
      const res = await app.inject({ url, headers: authorization ? { authorization } : {} })
      t.equal(res.statusCode, 401, `${url} with ${authorization ?? 'no Authorization'}`)
      t.equal(res.headers['www-authenticate'], 'Bearer')
      t.equal((contract.check(t, 'GET', path, res) as { code: string }).code, 'CMP_ERR_UNAUTHORIZED')
    }
    // the token is enough from anywhere, loopback or not
    const ok = await app.inject({ url, remoteAddress: '10.0.0.1', headers: { authorization: 'Bearer sesame' } })
    t.equal(ok.statusCode, 200, `${url} with the token from 10.0.0.1`)
  }
})

t.test('without DEBUG_TOKEN, /debug/pprof answers loopback only: 403 CMP_ERR_DEBUG_FORBIDDEN from elsewhere', async t => {
  const app = await testApp(t)
  for (const url of ['/debug/pprof/', '/debug/pprof/heap', '/debug/pprof/profile?seconds=1']) {
    const res = await app.inject({ url, remoteAddress: '10.0.0.1' })
    t.equal(res.statusCode, 403, url)
    t.equal((contract.check(t, 'GET', url.split('?')[0], res) as { code: string }).code, 'CMP_ERR_DEBUG_FORBIDDEN')
  }
  t.equal((await app.inject({ url: '/debug/pprof/', remoteAddress: '::ffff:127.0.0.1' })).statusCode, 200, 'loopback mapped into IPv6 is loopback')
})
