// Check-then-open races on file: paths, over a real service. While requests run, loops keep swapping
// folders inside the storage root: an input folder between a real directory, a symlink to a folder
// outside the root (segments whose metric name must never appear in an answer) and a symlink to a
// folder of FIFOs; output folders (a folder of the keys, and a prefix itself) between a real
// directory and a symlink out of the root. Nothing is read from outside, nothing is left written
// outside, every request is answered, and the service still works afterwards.
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { constants } from 'node:fs'
import { mkdir, open, readFile, readdir, rename, rm, symlink, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { DATEINT, ORG, readTar, twoSegments } from '../support/http.ts'
import { start, type Running } from '../support/server.ts'
import { writeSegment } from '../support/segments.ts'

const SECRET = 'outside_the_root_secret_metric'
const T0 = 1_756_339_200_000
/** Longer than any answer may take: a request still unanswered then has hung (and no more are sent). */
const ANSWER_MS = 15_000
const CONCURRENCY = 8

/** Every entry below a directory (files, folders, links), relative to it. */
async function listing (dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort()
}

function bundle (extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    organization_id: ORG,
    dateint: DATEINT,
    frequency_ms: 10000,
    instance_num: 1,
    segments: [{ segment_id: '1001', url: 'file:seg/a.parquet' }, { segment_id: '1002', url: 'file:seg/b.parquet' }],
    ...extra,
  })
}

/** A service with the real segments in root/seg, and a folder outside the root holding SECRET segments under the same names. */
async function setUp (t: Test): Promise<{ server: Running, root: string, outside: string }> {
  const server = await start(t, undefined, { WORKERS: '4' })
  const root = join(server.tempDir, '..', 'root')
  const outside = t.testdir({ inputs: {}, outputs: {} })
  await mkdir(join(root, 'seg'))
  await twoSegments(join(root, 'seg'))
  for (const name of ['a.parquet', 'b.parquet']) {
    await writeSegment(join(outside, 'inputs', name), [{ name: SECRET, tid: 7n, ts: T0, values: [42] }, { name: SECRET, tid: 8n, ts: T0, values: [43] }])
  }
  return { server, root, outside }
}

/**
 * Keeps cycling the folder at `at` through states until stopped: each state a symlink target, or
 * null for the real folder (kept at `<at>-real` meanwhile). A folder the service made in a gap (an
 * output folder) is moved aside, inside the root. Resolves to the number of cycles once stopped.
 */
function swapLoop (at: string, states: Array<string | null>, stopped: () => boolean, aside: () => string): Promise<number> {
  const real = `${at}-real`
  const place = async (make: () => Promise<void>): Promise<void> => {
    for (;;) {
      try {
        return await make()
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code !== 'EEXIST' && code !== 'ENOTEMPTY' && code !== 'EISDIR' && code !== 'ENOTDIR') throw err
        await rename(at, aside()).catch(() => {})
      }
    }
  }
  return (async () => {
    let cycles = 0
    let isReal = true
    while (!stopped()) {
      for (const target of states) {
        if (isReal) await rename(at, real)
        else await unlink(at).catch(() => {})
        if (target === null) {
          await place(() => rename(real, at))
          // now and then long enough for whole compactions
          await sleep(Math.random() < 0.25 ? 40 : Math.random() * 4)
        } else {
          await place(async () => {
            await rm(`${at}.link`, { force: true })
            await symlink(target, `${at}.link`)
            await rename(`${at}.link`, at)
          })
          await sleep(Math.random() * 2)
        }
        isReal = target === null
      }
      cycles++
    }
    return cycles
  })()
}

interface Outcomes {
  /** `<kind> <status> [code]` -> count. */
  counts: Map<string, number>
  leaks: string[]
  hung: string[]
}

/** Sends `attempts` requests, CONCURRENCY at a time; each answer is checked for SECRET. Stops at the first that hangs. */
async function send (base: string, attempts: number, body: (i: number) => { kind: 'tar' | 'store', json: string }): Promise<Outcomes> {
  const out: Outcomes = { counts: new Map(), leaks: [], hung: [] }
  let next = 0
  const client = async (): Promise<void> => {
    while (next < attempts && out.hung.length === 0) {
      const i = next++
      const { kind, json } = body(i)
      let res: Response
      let data: Buffer
      try {
        res = await fetch(`${base}/compact`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json, signal: AbortSignal.timeout(ANSWER_MS) })
        data = Buffer.from(await res.arrayBuffer())
      } catch (err) {
        out.hung.push(`#${i}: ${(err as Error).message}`)
        continue
      }
      let code = ''
      let files: Array<{ metric_names: string[] }> = []
      if (res.status === 200 && kind === 'tar') {
        // the tar: every output file, then manifest.json (with each file's metric_names)
        const entries = await readTar(data)
        if (entries.at(-1)?.name !== 'manifest.json') out.leaks.push(`#${i}: a tar without manifest.json last`)
        else files = (JSON.parse(entries.at(-1)!.data.toString()) as { files: typeof files }).files
      } else if (res.status === 200) {
        files = (JSON.parse(data.toString()) as { files: typeof files }).files
      } else {
        code = (JSON.parse(data.toString()) as { code: string }).code
      }
      if (files.some(f => f.metric_names.includes(SECRET))) out.leaks.push(`#${i}: its files list ${SECRET}`)
      if (data.includes(SECRET)) out.leaks.push(`#${i}: the answer holds ${SECRET}`)
      const outcome = `${kind} ${res.status}${code ? ' ' + code : ''}`
      out.counts.set(outcome, (out.counts.get(outcome) ?? 0) + 1)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, client))
  return out
}

/** What every run must show: answered, no leak, only successes and refusals, the swapped paths met. */
function checkOutcomes (t: Test, out: Outcomes, server: Running): void {
  t.comment(`outcomes: ${JSON.stringify(Object.fromEntries([...out.counts].sort()))}`)
  t.same(out.hung, [], 'every request was answered')
  t.same(out.leaks, [], 'no answer holds data from outside the root')
  const count = (pattern: RegExp): number => [...out.counts].filter(([k]) => pattern.test(k)).reduce((n, [, v]) => n + v, 0)
  t.ok(count(/ 200$/) > 0, 'some requests ran between swaps')
  t.ok(count(/ 40[03] /) > 0, 'some requests met a swapped path and were refused')
  // a folder swapped away while an output is written under it is CMP_ERR_OUTPUT (the request may be retried)
  t.same([...out.counts.keys()].filter(k => !/ (200|400 CMP_ERR_(INPUT_NOT_FOUND|BAD_PARQUET|BAD_URL)|403 CMP_ERR_PATH_FORBIDDEN)$/.test(k) && k !== 'store 500 CMP_ERR_OUTPUT'), [],
    'every answer is a success, a refusal of the path, or (storing) a failed write', { errors: server.logs.filter(l => Number(l.level) >= 50).slice(0, 3) })
}

/** The service is still well: ready, and a normal compaction of the real folder works. */
async function stillWell (t: Test, server: Running): Promise<void> {
  const ready = await fetch(`${server.base}/readyz`, { signal: AbortSignal.timeout(ANSWER_MS) })
  t.equal(ready.status, 200)
  t.equal((await ready.json() as { status: string }).status, 'ready')
  const normal = await fetch(`${server.base}/compact`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bundle(), signal: AbortSignal.timeout(ANSWER_MS) })
  t.equal(normal.status, 200)
  const entries = await readTar(Buffer.from(await normal.arrayBuffer()))
  const manifest = JSON.parse(entries.at(-1)!.data.toString()) as { files: Array<{ metric_names: string[] }> }
  t.same([...new Set(manifest.files.flatMap(f => f.metric_names))].sort(), ['cpu', 'mem'], 'a normal compaction after the swaps')
}

t.test('an input folder swapped for symlinks out of the root and to FIFOs during 160 requests: nothing read from outside, no hang', async t => {
  const { server, root, outside } = await setUp(t)
  await mkdir(join(root, 'fifos'))
  execFileSync('mkfifo', [join(root, 'fifos', 'a.parquet'), join(root, 'fifos', 'b.parquet')])
  const outsideBefore = await listing(outside)
  const secretBytes = await Promise.all(['a.parquet', 'b.parquet'].map(n => readFile(join(outside, 'inputs', n))))

  let stop = false
  let asides = 0
  const swapped = swapLoop(join(root, 'seg'), [join(outside, 'inputs'), join(root, 'fifos'), null], () => stop, () => join(root, `aside-${++asides}`))
  const out = await send(server.base, 160, i => i % 2 === 0
    ? { kind: 'tar', json: bundle() }
    : { kind: 'store', json: bundle({ collector_name: 'c', output: { url_prefix: 'file:lake' } }) })
  stop = true
  const cycles = await swapped
  t.ok(cycles > 10, `the folder was swapped all along (${cycles} cycles)`)
  checkOutcomes(t, out, server)

  t.same(await listing(outside), outsideBefore, 'nothing was made outside the root')
  t.same(await Promise.all(['a.parquet', 'b.parquet'].map(n => readFile(join(outside, 'inputs', n)))), secretBytes, 'the outside files are untouched')
  // nobody holds a FIFO open for reading (a blocked open would): a non-blocking writer finds no reader
  for (const name of ['a.parquet', 'b.parquet']) {
    await t.rejects(open(join(root, 'fifos', name), constants.O_WRONLY | constants.O_NONBLOCK), { code: 'ENXIO' }, `no reader on fifos/${name}`)
  }
  await stillWell(t, server)
})

t.test('output folders (a prefix, a folder of the keys) swapped for symlinks out of the root during 160 stores: nothing written outside', async t => {
  const { server, root, outside } = await setUp(t)
  // lake/db: the first folder of every key under file:lake; pfx: a prefix itself
  await mkdir(join(root, 'lake', 'db'), { recursive: true })
  await mkdir(join(root, 'pfx'))
  const outsideBefore = await listing(outside)

  let stop = false
  let asides = 0
  const aside = (): string => join(root, `aside-${++asides}`)
  const swapped = Promise.all([
    swapLoop(join(root, 'lake', 'db'), [join(outside, 'outputs'), null], () => stop, aside),
    swapLoop(join(root, 'pfx'), [join(outside, 'outputs'), null], () => stop, aside),
  ])
  const out = await send(server.base, 160, i => ({ kind: 'store', json: bundle({ collector_name: 'c', output: { url_prefix: i % 2 === 0 ? 'file:lake' : 'file:pfx' } }) }))
  stop = true
  const cycles = await swapped
  t.ok(Math.min(...cycles) > 10, `the folders were swapped all along (${cycles.join(', ')} cycles)`)
  checkOutcomes(t, out, server)

  t.same(await listing(outside), outsideBefore, 'nothing was made or left outside the root')
  t.same((await listing(root)).filter(name => name.endsWith('.partial')), [], 'no temporary name is left in the root')
  await stillWell(t, server)
})
