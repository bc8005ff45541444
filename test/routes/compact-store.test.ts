// Store mode loses nothing (file: prefixes): identical requests at once, clients that leave, and a
// retry that fails part-way never remove or replace a file a 200 listed; the destination is
// checked before any input is read.
import t from 'tap'
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ContractChecker, DATEINT, ORG, assertNoTempFiles, testApp, twoSegments } from '../support/http.ts'
import { storeRounds } from '../support/store-rounds.ts'

const contract = new ContractChecker()

function bundle (segments: unknown[], extra: Record<string, unknown> = {}): object {
  return { organization_id: ORG, dateint: DATEINT, frequency_ms: 10000, instance_num: 1, segments, collector_name: 'c', output: { url_prefix: 'file:lake' }, records_per_file: 2, ...extra }
}
const SEGMENTS = [{ segment_id: '1001', url: 'file:seg/a.parquet' }, { segment_id: '1002', url: 'file:seg/b.parquet' }]

/** Every file below a directory, relative to it. */
async function walk (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) if (entry.isFile()) out.push(join(entry.parentPath, entry.name).slice(dir.length + 1))
  return out.sort()
}

t.test('5 rounds of 4 identical store-mode bundles with early leavers, then a retry that fails part-way: every listed file stays', async t => {
  const app = await testApp(t)
  const root = app.service.config.storageRoot
  await mkdir(join(root, 'seg'))
  await twoSegments(join(root, 'seg'))
  const { listed, retry } = await storeRounds(t, app, bundle(SEGMENTS))
  t.ok(listed.length >= 2 * 5 * 4, `${listed.length} files listed by the 200s`)
  t.equal(retry.status, 500, 'the retry whose second file cannot be written fails')
  t.equal(JSON.parse(retry.body).code, 'CMP_ERR_OUTPUT')
  for (const file of new Map(listed.map(f => [f.url, f])).values()) {
    t.equal((await stat(join(root, file.url.slice('file:'.length)))).size, file.file_size, `${file.url} exists with its listed size`)
  }
  const files = await walk(join(root, 'lake'))
  t.equal(files.length, 2, 'two files, each placed once')
  t.same(files.filter(f => f.endsWith('.partial')), [], 'no temporary name is left')
  await assertNoTempFiles(t, app)
})

t.test('the destination is checked before any input is read: 4xx at once', async t => {
  const app = await testApp(t)
  const root = app.service.config.storageRoot
  await writeFile(join(root, 'a-file'), 'x')
  // the segments do not exist: a 400 CMP_ERR_INPUT_NOT_FOUND would mean they were read first
  const cases = [
    { prefix: 'file:../outside', status: 403, code: 'CMP_ERR_PATH_FORBIDDEN' },
    { prefix: 'file:a-file', status: 400, code: 'CMP_ERR_BAD_URL' },
    { prefix: 'file:a-file/below', status: 400, code: 'CMP_ERR_BAD_URL' },
    { prefix: 'ftp://host/lake', status: 400, code: 'CMP_ERR_BAD_URL' },
    { prefix: 'https://example.com/lake', status: 400, code: 'CMP_ERR_BAD_URL' },
  ]
  for (const c of cases) {
    const res = await app.inject({ method: 'POST', url: '/compact', payload: bundle([{ segment_id: '1', url: 'file:none/a.parquet' }], { output: { url_prefix: c.prefix } }) })
    t.equal(res.statusCode, c.status, c.prefix)
    t.match(contract.check(t, 'POST', '/compact', res), { code: c.code, details: { field: 'output.url_prefix' } }, c.prefix)
  }
  await assertNoTempFiles(t, app)
})

t.test('file: alone stores under the storage root itself', async t => {
  const app = await testApp(t)
  const root = app.service.config.storageRoot
  await mkdir(join(root, 'seg'))
  await twoSegments(join(root, 'seg'))
  const res = await app.inject({ method: 'POST', url: '/compact', payload: bundle(SEGMENTS, { output: { url_prefix: 'file:' } }) })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  for (const file of (contract.check(t, 'POST', '/compact', res) as { files: Array<{ key: string, url: string, file_size: number }> }).files) {
    t.equal(file.url, `file:${file.key}`)
    t.equal((await stat(join(root, file.key))).size, file.file_size)
  }
})
