// Hostile inputs against the service as it runs (`npm start` with MEMORY_LIMIT_BYTES=512 MiB, two
// compaction children): a dictionary claiming 64M strings and ZSTD bombs (pages each declaring
// 256 MiB of zeros in a few KB). Each is refused with a catalogued 4xx while compactions beside it
// finish with 200; the service stays up, its temporary files are gone, and the whole process tree
// stays at or under MEMORY_LIMIT_BYTES throughout.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { treePssBytes } from '../../src/worker/memory.ts'
import { multipart, readTar, twoSegments } from '../support/http.ts'
import { writeDictionaryBomb, writeZstdBomb } from '../support/hostile.ts'
import { start, stopsCleanly } from '../support/server.ts'

const MiB = 1024 * 1024
const LIMIT = 512 * MiB

const CASES: Array<[string, (path: string) => Promise<void>]> = [
  ['a dictionary page claiming 64M strings in one 256 MiB zero page', path => writeDictionaryBomb(path)],
  ['a ZSTD bomb: one page of 256 MiB', path => writeZstdBomb(path)],
  ['a ZSTD bomb: 20 pages of 256 MiB in a column', path => writeZstdBomb(path, { pagesPerColumn: 20 })],
  ['a ZSTD bomb: 40 columns of one 256 MiB page', path => writeZstdBomb(path, { columns: 40 })],
  ['a ZSTD bomb with an honest footer: 20 pages of 256 MiB', path => writeZstdBomb(path, { pagesPerColumn: 20, honestSizes: true })],
]

t.test('hostile uploads are refused with a 4xx; the compactions beside them, the service and its memory are fine', async t => {
  const server = await start(t, undefined, { MEMORY_LIMIT_BYTES: String(LIMIT), WORKERS: '2' })
  const dir = t.testdir()
  const [a, b] = await twoSegments(dir)
  const good = await multipart([{ name: 'a.parquet', data: await readFile(a) }, { name: 'b.parquet', data: await readFile(b) }])
  const post = async (body: { payload: Buffer, headers: Record<string, string> }): Promise<{ status: number, body: Buffer }> => {
    const res = await fetch(`${server.base}/compact`, { method: 'POST', body: new Uint8Array(body.payload), headers: body.headers })
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) }
  }

  let peak = 0
  const sampler = setInterval(() => { peak = Math.max(peak, treePssBytes(server.child.pid!)) }, 10)
  t.teardown(() => clearInterval(sampler))
  for (const [name, write] of CASES) {
    const path = join(dir, 'hostile.parquet')
    await write(path)
    const hostile = await multipart([{ name: 'hostile.parquet', data: await readFile(path) }, { name: 'a.parquet', data: await readFile(a) }])
    const [refused, ...beside] = await Promise.all([post(hostile), post(good), post(good)])
    const error = JSON.parse(refused.body.toString()) as { code: string, details?: { file?: string, needed_bytes?: number, budget_bytes?: number } }
    t.ok((refused.status === 422 && error.code === 'CMP_ERR_INPUT_TOO_COSTLY') || (refused.status === 400 && error.code === 'CMP_ERR_BAD_PARQUET') ||
      (refused.status === 413 && error.code === 'CMP_ERR_OVER_BUDGET'), `${name}: ${refused.status} ${error.code}`)
    if (error.code === 'CMP_ERR_INPUT_TOO_COSTLY') t.ok(error.details!.needed_bytes! > 0 && error.details!.budget_bytes! > 0, `${name}: needed and budget bytes are given`)
    for (const res of beside) {
      t.equal(res.status, 200, `${name}: a compaction beside it succeeds`)
      const entries = await readTar(res.body)
      t.equal(entries.at(-1)?.name, 'manifest.json', `${name}: its tar is complete`)
    }
    t.equal((await fetch(`${server.base}/healthz`)).status, 200, `${name}: the service is up`)
  }
  clearInterval(sampler)
  const vars = await (await fetch(`${server.base}/debug/vars`)).json() as { pool: { workers: number, kills: Record<string, number> } }
  t.equal(vars.pool.workers, 2, 'both children are alive')
  t.ok(peak > 0 && peak <= LIMIT, `the process tree's peak memory ${(peak / MiB).toFixed(0)} MiB is at most the limit`)
  t.equal(vars.pool.kills.crashed, 0, 'no child crashed')
  await stopsCleanly(t, server)
})
