// Fuzzed uploads: hundreds of mutations of real segments (truncations, bit flips, huge length fields,
// zeroed ranges) and the hostile files of test/support/hostile.ts (a 64M-entry dictionary, ZSTD
// bombs) through POST /compact. Each answer is a catalogued 4xx or a well-formed 200, never a 5xx or
// a crash; afterwards the children, the threads, the budget and the temp dir are as before.
import t from 'tap'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { readFileSync } from 'node:fs'
import { ERRORS, type ErrorCode } from '../../src/errors.ts'
import { HAVE_FIXTURES, LAKERUNNER_DIR } from '../helpers.ts'
import { assertNoTempFiles, multipart, readTar, testApp, twoSegments } from '../support/http.ts'
import { writeDictionaryBomb, writeZstdBomb } from '../support/hostile.ts'

const MUTATIONS = 300
const CONCURRENCY = 4

/** A small deterministic PRNG (mulberry32): the same mutations on every run. */
function prng (seed: number): () => number {
  return () => {
    seed = (seed + 0x6D2B79F5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

type Mutation = (bytes: Buffer, random: () => number) => Buffer

const int = (random: () => number, n: number): number => Math.floor(random() * n)
/** Start of the footer region (the last 8 bytes are its length and the magic). */
const footerStart = (b: Buffer): number => Math.max(0, b.length - 8 - Math.min(b.readUInt32LE(b.length - 8), b.length - 8))

const MUTATORS: Record<string, Mutation> = {
  truncate: (b, r) => b.subarray(0, int(r, b.length)),
  bit_flips: (b, r) => {
    const c = Buffer.from(b)
    for (let i = 1 + int(r, 16); i > 0; i--) { const at = int(r, c.length); c[at] ^= 1 << int(r, 8) }
    return c
  },
  footer_bit_flips: (b, r) => {
    const c = Buffer.from(b)
    const start = footerStart(c)
    for (let i = 1 + int(r, 4); i > 0; i--) { const at = start + int(r, c.length - 8 - start); c[at] ^= 1 << int(r, 8) }
    return c
  },
  huge_footer_length: (b, r) => {
    const c = Buffer.from(b)
    c.writeUInt32LE([0xffffffff, 0x7fffffff, c.length, c.length - 7, int(r, 2 ** 32)][int(r, 5)], c.length - 8)
    return c
  },
  huge_varint_in_footer: (b, r) => {
    const c = Buffer.from(b)
    const at = footerStart(c) + int(r, Math.max(1, c.length - 13 - footerStart(c)))
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]).copy(c, at)
    return c
  },
  huge_length_in_pages: (b, r) => {
    const c = Buffer.from(b)
    const at = 4 + int(r, Math.max(1, footerStart(c) - 8))
    c.writeUInt32LE([0xffffffff, 0x7ffffff0, 0x10000000][int(r, 3)], at)
    return c
  },
  zeroed_range: (b, r) => {
    const c = Buffer.from(b)
    const at = int(r, c.length)
    c.fill(0, at, Math.min(c.length, at + 1 + int(r, 256)))
    return c
  },
}

async function seeds (dir: string): Promise<Buffer[]> {
  if (HAVE_FIXTURES) {
    const folder = join(LAKERUNNER_DIR, 'compact-test-0001')
    const names = (await readdir(folder)).filter(n => n.endsWith('.parquet')).sort().slice(0, 4)
    return Promise.all(names.map(n => readFile(join(folder, n))))
  }
  return Promise.all((await twoSegments(dir)).map(p => readFile(p)))
}

/** The hostile files, each written by the generator its name says. */
async function hostileFiles (dir: string): Promise<Array<{ kind: string, data: Buffer }>> {
  const writers: Record<string, (path: string) => Promise<void>> = {
    dictionary_bomb: path => writeDictionaryBomb(path),
    zstd_bomb: path => writeZstdBomb(path),
    zstd_bomb_20_pages: path => writeZstdBomb(path, { pagesPerColumn: 20 }),
    zstd_bomb_40_columns: path => writeZstdBomb(path, { columns: 40 }),
    zstd_bomb_empty_pages: path => writeZstdBomb(path, { pagesPerColumn: 20, emptyPages: true }),
  }
  return Promise.all(Object.entries(writers).map(async ([kind, write]) => {
    const path = join(dir, `${kind}.parquet`)
    await write(path)
    return { kind, data: await readFile(path) }
  }))
}

function threads (): number {
  return Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1])
}

t.test(`${MUTATIONS} fuzzed uploads and the hostile files: each a catalogued 4xx or a well-formed 200, never a 5xx; nothing leaks`, async t => {
  // the time limit is a backstop (422) should a fuzzed page keep a decoder busy
  const app = await testApp(t, { workers: 2, compactionTimeoutMs: 5000 })
  const originals = await seeds(t.testdir())
  const random = prng(5)
  const kinds = Object.keys(MUTATORS)
  const counts = new Map<string, number>()
  const count = (key: string): void => { counts.set(key, (counts.get(key) ?? 0) + 1) }
  let baseline = -1

  const one = async (i: number): Promise<void> => {
    const kind = kinds[i % kinds.length]
    const original = originals[int(random, originals.length)]
    await send(kind, i, MUTATORS[kind](original, random))
  }
  const send = async (kind: string, i: number, data: Buffer): Promise<void> => {
    const files = [{ name: `fuzz-${i}.parquet`, data }]
    if (random() < 0.5) files.push({ name: 'good.parquet', data: originals[int(random, originals.length)] })
    const res = await app.inject({ method: 'POST', url: '/compact', ...await multipart(files) })
    count(`${kind} ${res.statusCode}`)
    if (res.statusCode === 200) {
      const entries = await readTar(res.rawPayload)
      if (entries.at(-1)?.name !== 'manifest.json') t.fail(`${kind} #${i}: a 200 without manifest.json last`)
      const { report } = JSON.parse(entries.at(-1)!.data.toString())
      const dropped = Object.values(report.dropped as Record<string, number>).reduce((a, b) => a + b, 0)
      if (report.rows_in !== report.rows_aggregated + dropped) t.fail(`${kind} #${i}: the report does not balance`)
      return
    }
    const body = res.json() as { code: ErrorCode }
    const spec = ERRORS[body.code]
    if (res.statusCode >= 500 || spec === undefined || spec.status !== res.statusCode) {
      t.fail(`${kind} #${i}: ${res.statusCode} ${res.body.slice(0, 300)}`)
    }
    count(body.code)
  }

  for (let i = 0; i < MUTATIONS; i += CONCURRENCY) {
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, MUTATIONS - i) }, (_, k) => one(i + k)))
    if (baseline < 0 && app.service.pool.workers === 2) {
      await sleep(200)
      baseline = threads()
    }
  }
  const hostile = await hostileFiles(t.testdir())
  await Promise.all(hostile.map(({ kind, data }, i) => send(kind, MUTATIONS + i, data)))
  for (const { kind } of hostile) t.notOk([...counts.keys()].some(k => k === `${kind} 200`), `${kind} is refused`)
  const summary = Object.fromEntries([...counts].sort())
  t.comment(`fuzz: ${MUTATIONS} requests, ${JSON.stringify(summary)}`)
  console.log(`fuzz: ${MUTATIONS} requests`, summary)
  const fives = [...counts].filter(([k]) => / 5\d\d$/.test(k))
  t.same(fives, [], 'no 5xx')

  t.equal(app.service.pool.workers, 2, 'the pool has its configured number of children')
  t.equal(app.service.pool.kills.get('crashed'), 0, 'no child crashed')
  t.equal(app.service.pool.busy, 0)
  t.equal(app.service.budget.reservedBytes, 0, 'no budget is reserved')
  const deadline = Date.now() + 5000
  while (threads() > baseline && Date.now() < deadline) await sleep(50)
  t.ok(threads() <= baseline, `the process is back to its thread count (${threads()} <= ${baseline})`)
  await assertNoTempFiles(t, app, 'the temp dir is empty')
})
