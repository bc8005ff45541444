// POST /compact with a JSON bundle manifest: segments by file: and http(s): URL, skipped and already
// compacted segments, stored outputs, and the refusals (traversal, symlinks, hosts, bad fields).
import t, { type Test } from 'tap'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { readFileSync } from 'node:fs'
import { mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { App } from '../../src/app.ts'
import { ContractChecker, DATEINT, ORG, assertNoTempFiles, readTar, testApp, twoSegments } from '../support/http.ts'

const contract = new ContractChecker()

/** An app whose storage root holds seg/a.parquet and seg/b.parquet. */
async function appWithSegments (t: Test, overrides: Parameters<typeof testApp>[1] = {}): Promise<{ app: App, root: string, sizes: number[] }> {
  const app = await testApp(t, overrides)
  const root = app.service.config.storageRoot
  await mkdir(join(root, 'seg'))
  const paths = await twoSegments(join(root, 'seg'))
  return { app, root, sizes: await Promise.all(paths.map(async p => (await stat(p)).size)) }
}

function bundle (segments: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { organization_id: ORG, dateint: DATEINT, frequency_ms: 10000, instance_num: 1, segments, ...extra }
}

const SEGMENTS = [{ segment_id: '1001', url: 'file:seg/a.parquet' }, { segment_id: 1002, url: 'file:seg/b.parquet' }]

async function post (app: App, body: unknown, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/compact', payload: body as object, headers })
}

async function manifestOf (res: { rawPayload: Buffer }): Promise<any> {
  const entries = await readTar(res.rawPayload)
  return { entries, manifest: JSON.parse(entries.at(-1)!.data.toString()) }
}

/** An HTTP server on loopback whose handler the test gives; counts requests by path. */
async function upstream (t: Test, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server, base: string, hits: string[] }> {
  const hits: string[] = []
  const server = createServer((req, res) => {
    hits.push(req.url!)
    handler(req, res)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits }
}

t.test('file: segments (relative to the root, or absolute inside it) are compacted; the report names their segment ids', async t => {
  const { app, root } = await appWithSegments(t)
  const absolute = pathToFileURL(join(root, 'seg', 'b.parquet')).href
  const res = await post(app, bundle([SEGMENTS[0], { segment_id: 1002, url: absolute }]))
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  contract.check(t, 'POST', '/compact', res)
  const { manifest } = await manifestOf(res)
  contract.validate(t, contract.schema('CompactionManifest'), manifest, 'manifest.json')
  t.match(manifest.report, { rows_in: 4, rows_out: 3, sketch_merges: 1, dateint: DATEINT })
  t.same(manifest.report.inputs.map((i: any) => [i.segment_id, i.status, i.rows]), [['1001', 'compacted', 2], ['1002', 'compacted', 2]])
  t.equal(manifest.report.inputs[0].name, 'file:seg/a.parquet')
  await assertNoTempFiles(t, app)
  t.ok((await stat(join(root, 'seg', 'a.parquet'))).isFile(), 'the segments themselves are left alone')
})

t.test('a missing segment fails the request, naming it, unless skip_missing reports it as missing_skipped', async t => {
  const { app } = await appWithSegments(t)
  const segments = [SEGMENTS[0], { segment_id: '1003', url: 'file:seg/gone.parquet' }, SEGMENTS[1]]
  const fail = await post(app, bundle(segments))
  t.equal(fail.statusCode, 400)
  const error = contract.check(t, 'POST', '/compact', fail) as any
  t.equal(error.code, 'CMP_ERR_INPUT_NOT_FOUND')
  t.match(error.details, { field: 'segments[1].url', file: 'file:seg/gone.parquet' })
  const ok = await post(app, bundle(segments, { skip_missing: true }))
  t.equal(ok.statusCode, 200)
  const { manifest } = await manifestOf(ok)
  t.same(manifest.report.inputs.map((i: any) => [i.segment_id, i.status]), [['1001', 'compacted'], ['1003', 'missing_skipped'], ['1002', 'compacted']])
  t.equal(manifest.report.rows_in, 4)
  await assertNoTempFiles(t, app)
})

t.test('a segment at 80 % of the target size or more is already compacted: reported, not read, its rows not in rows_in', async t => {
  const { app, root, sizes } = await appWithSegments(t)
  const big = { segment_id: '1009', url: 'file:seg/never-read.parquet', file_size: 1_677_721, record_count: 40_000 }
  const res = await post(app, bundle([SEGMENTS[0], big, SEGMENTS[1]]))
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  const { manifest } = await manifestOf(res)
  t.same(manifest.report.inputs[1], { name: 'file:seg/never-read.parquet', segment_id: '1009', status: 'already_compacted', rows: 40_000, bytes: 1_677_721 })
  t.equal(manifest.report.rows_in, 4)

  const justUnder = await post(app, bundle([SEGMENTS[0], { ...big, file_size: 1_677_720 }]))
  t.equal(justUnder.statusCode, 400, 'just under 80 %: it is read (and here it is missing)')

  // without file_size in the manifest, the size of the file decides: 80 % of the smallest target, 65536, is 52428 bytes
  t.ok(Math.max(...sizes) < 52_428, 'the small segments are below it')
  await writeFile(join(root, 'seg', 'big.parquet'), Buffer.alloc(52_428)) // never read: its size is enough
  await writeFile(join(root, 'seg', 'big2.parquet'), Buffer.alloc(60_000))
  const bigs = [{ segment_id: 1010, url: 'file:seg/big.parquet' }, { segment_id: 1011, url: 'file:seg/big2.parquet' }]
  const bySize = await post(app, bundle([SEGMENTS[0], bigs[0]], { target_file_bytes: 65_536 }))
  const { manifest: m2 } = await manifestOf(bySize)
  t.same(m2.report.inputs.map((i: any) => [i.segment_id, i.status]), [['1001', 'compacted'], ['1010', 'already_compacted']])

  const none = await post(app, bundle(bigs, { target_file_bytes: 65_536 }))
  const { entries, manifest: m3 } = await manifestOf(none)
  t.same(entries.map((e: any) => e.name), ['manifest.json'], 'nothing to compact: only the manifest')
  t.same(m3.report.inputs.map((i: any) => i.status), ['already_compacted', 'already_compacted'])
  t.equal(m3.report.rows_in, 0)
  await assertNoTempFiles(t, app)
})

t.test('output.url_prefix stores the files at their lakerunner object keys and answers with the JSON manifest', async t => {
  const { app, root } = await appWithSegments(t)
  const res = await post(app, bundle(SEGMENTS, { collector_name: 'collector-1', output: { url_prefix: 'file:lake' }, records_per_file: 2 }))
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  const manifest = contract.check(t, 'POST', '/compact', res) as any
  t.equal(manifest.files.length, 2)
  for (const file of manifest.files) {
    t.equal(file.key, `db/${ORG}/collector-1/${DATEINT}/metrics/00/tbl_${file.segment_id}.parquet`)
    t.equal(file.url, `file:lake/${file.key}`)
    t.equal((await stat(join(root, 'lake', file.key))).size, file.file_size)
  }
  // the same bundle streamed as a tar gives the same bytes: ids and contents are deterministic
  const tar = await post(app, bundle(SEGMENTS, { records_per_file: 2 }))
  const { entries } = await manifestOf(tar)
  for (const file of manifest.files) {
    const entry = entries.find((e: any) => e.name === file.file_name)
    t.ok(entry?.data.equals(await readFile(join(root, 'lake', file.key))), `${file.file_name}: same bytes stored and streamed`)
  }
  t.same((await readdir(join(root, 'lake', 'db', ORG, 'collector-1', String(DATEINT), 'metrics', '00'))).filter(n => n.endsWith('.partial')), [], 'no partial file')
  await assertNoTempFiles(t, app)
})

t.test('a failure while storing outputs is a 500 CMP_ERR_OUTPUT without a stack trace', async t => {
  const { app, root } = await appWithSegments(t)
  // a plain file where a directory of the key must go
  await mkdir(join(root, 'lake', 'db', ORG), { recursive: true })
  await writeFile(join(root, 'lake', 'db', ORG, 'collector-1'), 'in the way')
  const res = await post(app, bundle(SEGMENTS, { collector_name: 'collector-1', output: { url_prefix: 'file:lake' } }))
  t.equal(res.statusCode, 500)
  const error = contract.check(t, 'POST', '/compact', res) as any
  t.equal(error.code, 'CMP_ERR_OUTPUT')
  t.notMatch(res.body, /\n\s+at /, 'no stack trace')
  await assertNoTempFiles(t, app)
})

t.test('file: URLs that lead outside the storage root are refused with 403, without looking at the target', async t => {
  const { app, root } = await appWithSegments(t)
  const outside = t.testdir({ 'secret.parquet': 'outside the root' })
  await symlink(join(outside, 'secret.parquet'), join(root, 'seg', 'link.parquet'))
  await symlink(outside, join(root, 'seg', 'dirlink'))
  const cases = [
    { url: 'file:../secret.parquet', what: '.. out of the root' },
    { url: 'file:seg/../../secret.parquet', what: '.. after a folder' },
    { url: 'file:%2e%2e/secret.parquet', what: 'percent-encoded ..' },
    { url: pathToFileURL(join(outside, 'secret.parquet')).href, what: 'an absolute path elsewhere' },
    { url: 'file:///etc/passwd', what: '/etc/passwd' },
    { url: pathToFileURL(join(outside, 'does-not-exist.parquet')).href, what: 'an absolute path elsewhere that does not even exist' },
    { url: 'file:seg/link.parquet', what: 'a symlink to a file outside' },
    { url: 'file:seg/dirlink/secret.parquet', what: 'through a symlinked folder' },
  ]
  for (const c of cases) {
    const res = await post(app, bundle([SEGMENTS[0], { segment_id: '7', url: c.url }]))
    t.equal(res.statusCode, 403, c.what)
    const error = contract.check(t, 'POST', '/compact', res) as any
    t.equal(error.code, 'CMP_ERR_PATH_FORBIDDEN', c.what)
    t.equal(error.details.field, 'segments[1].url', `${c.what}: names the field`)
    t.notMatch(res.body, /outside the root/, 'nothing of the file is shown')
  }
  const prefix = await post(app, bundle(SEGMENTS, { collector_name: 'c', output: { url_prefix: 'file:../elsewhere' } }))
  t.equal(prefix.statusCode, 403, 'an output prefix outside the root')
  t.equal((contract.check(t, 'POST', '/compact', prefix) as any).details.field, 'output.url_prefix')
  const viaLink = await post(app, bundle(SEGMENTS, { collector_name: 'c', output: { url_prefix: 'file:seg/dirlink' } }))
  t.equal(viaLink.statusCode, 403, 'an output prefix through a symlinked folder')
  t.same((await readdir(outside)).sort(), ['secret.parquet'], 'nothing was written outside')
  await assertNoTempFiles(t, app)
})

t.test('malformed manifests: 400 naming the field (bad JSON, schema violations), 413 when too large', async t => {
  const { app } = await appWithSegments(t, { uploads: { maxFileBytes: 1 << 20, maxFiles: 10, maxRequestBytes: 1 << 22, maxManifestBytes: 4096 } })
  const json = { 'content-type': 'application/json' }
  const raw = async (payload: string) => app.inject({ method: 'POST', url: '/compact', payload, headers: json })
  const cases: Array<{ what: string, res: Awaited<ReturnType<typeof raw>>, status: number, code: string, field?: string }> = [
    { what: 'not JSON', res: await raw('{"segments": ['), status: 400, code: 'CMP_ERR_BAD_JSON' },
    { what: 'an empty body', res: await raw(''), status: 400, code: 'CMP_ERR_BAD_JSON' },
    { what: 'an array', res: await raw('[]'), status: 400, code: 'CMP_ERR_BAD_REQUEST', field: 'body' },
    { what: 'no segments field', res: await post(app, { ...bundle([]), segments: undefined }), status: 400, code: 'CMP_ERR_NO_INPUTS', field: 'segments' },
    { what: 'no segments', res: await post(app, bundle([])), status: 400, code: 'CMP_ERR_NO_INPUTS', field: 'segments' },
    { what: 'a segment without url', res: await post(app, bundle([{ segment_id: '1' }])), status: 400, code: 'CMP_ERR_BAD_REQUEST', field: 'segments[0].url' },
    { what: 'a segment_id beyond 2^53 as a number', res: await raw(JSON.stringify(bundle([{ segment_id: 1, url: 'file:seg/a.parquet' }])).replace('"segment_id":1', '"segment_id":299476441865651503')), status: 400, code: 'CMP_ERR_BAD_REQUEST', field: 'segments[0].segment_id' },
    { what: 'a segment_id beyond int64', res: await post(app, bundle([{ segment_id: '9223372036854775808', url: 'file:seg/a.parquet' }])), status: 400, code: 'CMP_ERR_BAD_REQUEST', field: 'segments[0].segment_id' },
    { what: 'a repeated segment_id', res: await post(app, bundle([SEGMENTS[0], { ...SEGMENTS[1], segment_id: 1001 }])), status: 400, code: 'CMP_ERR_BAD_REQUEST', field: 'segments[1].segment_id' },
    { what: 'an unknown field', res: await post(app, bundle(SEGMENTS, { colour: 'blue' })), status: 400, code: 'CMP_ERR_BAD_REQUEST', field: 'colour' },
    { what: 'an unknown frequency', res: await post(app, bundle(SEGMENTS, { frequency_ms: 12345 })), status: 400, code: 'CMP_ERR_BAD_FREQUENCY', field: 'frequency_ms' },
    { what: 'a frequency as a string', res: await post(app, bundle(SEGMENTS, { frequency_ms: '10000' })), status: 400, code: 'CMP_ERR_BAD_FREQUENCY', field: 'frequency_ms' },
    { what: 'a dateint that is no date', res: await post(app, bundle(SEGMENTS, { dateint: 20251341 })), status: 400, code: 'CMP_ERR_BAD_REQUEST', field: 'dateint' },
    { what: 'an organization_id that is no UUID', res: await post(app, bundle(SEGMENTS, { organization_id: 'acme' })), status: 400, code: 'CMP_ERR_BAD_REQUEST', field: 'organization_id' },
    { what: 'output without collector_name', res: await post(app, bundle(SEGMENTS, { output: { url_prefix: 'file:lake' } })), status: 400, code: 'CMP_ERR_BAD_REQUEST', field: 'collector_name' },
    { what: 'a collector_name with a slash', res: await post(app, bundle(SEGMENTS, { collector_name: '../x', output: { url_prefix: 'file:lake' } })), status: 400, code: 'CMP_ERR_BAD_REQUEST', field: 'collector_name' },
    { what: 'an output prefix over http', res: await post(app, bundle(SEGMENTS, { collector_name: 'c', output: { url_prefix: 'https://example.com/lake' } })), status: 400, code: 'CMP_ERR_BAD_URL', field: 'output.url_prefix' },
    { what: 'an unsupported scheme', res: await post(app, bundle([{ segment_id: '1', url: 'ftp://example.com/a.parquet' }])), status: 400, code: 'CMP_ERR_BAD_URL', field: 'segments[0].url' },
    { what: 'a file: URL with a host', res: await post(app, bundle([{ segment_id: '1', url: 'file://otherhost/seg/a.parquet' }])), status: 400, code: 'CMP_ERR_BAD_URL', field: 'segments[0].url' },
    { what: 'an s3 URL without a key', res: await post(app, bundle([{ segment_id: '1', url: 's3://bucket' }])), status: 400, code: 'CMP_ERR_BAD_URL', field: 'segments[0].url' },
    { what: 'records_per_file with a parquet response', res: await post(app, bundle(SEGMENTS, { records_per_file: 3 }), { accept: 'application/vnd.apache.parquet' }), status: 400, code: 'CMP_ERR_BAD_REQUEST', field: 'records_per_file' },
    { what: 'target_file_bytes with a parquet response', res: await post(app, bundle(SEGMENTS, { target_file_bytes: 65_536 }), { accept: 'application/vnd.apache.parquet' }), status: 400, code: 'CMP_ERR_BAD_REQUEST', field: 'target_file_bytes' },
    { what: 'target_file_bytes under 64 KiB', res: await post(app, bundle(SEGMENTS, { target_file_bytes: 65_535 })), status: 400, code: 'CMP_ERR_BAD_REQUEST', field: 'target_file_bytes' },
    { what: 'target_file_bytes over 1 GiB', res: await post(app, bundle(SEGMENTS, { target_file_bytes: 1024 ** 3 + 1 })), status: 400, code: 'CMP_ERR_BAD_REQUEST', field: 'target_file_bytes' },
    { what: 'target_file_bytes not an integer', res: await post(app, bundle(SEGMENTS, { target_file_bytes: 70_000.5 })), status: 400, code: 'CMP_ERR_BAD_REQUEST', field: 'target_file_bytes' },
    { what: 'a manifest over MAX_MANIFEST_BYTES', res: await post(app, bundle(Array.from({ length: 100 }, (_, i) => ({ segment_id: String(i), url: `file:seg/${'x'.repeat(40)}.parquet` })))), status: 413, code: 'CMP_ERR_REQUEST_TOO_LARGE' },
  ]
  for (const c of cases) {
    t.equal(c.res.statusCode, c.status, c.what)
    const error = contract.check(t, 'POST', '/compact', c.res) as any
    t.equal(error?.code, c.code, `${c.what}: ${error?.message}`)
    if (c.field) t.equal(error?.details?.field, c.field, `${c.what}: names ${c.field}`)
  }
  await assertNoTempFiles(t, app)
})

t.test('http(s) segments come from allowed hosts only; redirects are followed only to allowed hosts', async t => {
  const dir = t.testdir()
  const [a, b] = await twoSegments(dir)
  let other: { base: string, hits: string[] } | null = null
  const source = await upstream(t, (req, res) => {
    if (req.url!.split('?')[0] === '/a.parquet') return res.end(readFileSync(a))
    if (req.url === '/b.parquet') return res.end(readFileSync(b))
    if (req.url === '/moved') return res.writeHead(302, { location: '/b.parquet' }).end()
    if (req.url === '/away') return res.writeHead(307, { location: `${other!.base.replace('127.0.0.1', 'localhost')}/a.parquet` }).end()
    if (req.url === '/loop') return res.writeHead(302, { location: '/loop' }).end()
    if (req.url === '/broken') return res.writeHead(500).end('upstream exploded')
    res.writeHead(404).end()
  })
  other = await upstream(t, (_req, res) => res.end('never'))
  const { app } = await appWithSegments(t, {
    http: { allowedHosts: [new URL(source.base).host, new URL(other.base).host], maxBytes: 1 << 20, timeoutMs: 5000, maxRedirects: 2 },
  })
  const res = await post(app, bundle([{ segment_id: '1', url: `${source.base}/a.parquet?X-Amz-Signature=secret` }, { segment_id: '2', url: `${source.base}/moved` }]))
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  const { manifest } = await manifestOf(res)
  t.match(manifest.report, { rows_in: 4, rows_out: 3 })
  t.equal(manifest.report.inputs[0].name, `${source.base}/a.parquet`, 'the query string (a presigned URL\'s signature) is not shown')
  t.notMatch(JSON.stringify(manifest), /secret/)

  const away = await post(app, bundle([{ segment_id: '1', url: `${source.base}/away` }]))
  t.equal(away.statusCode, 403, 'a redirect to a host not on the list')
  t.equal((contract.check(t, 'POST', '/compact', away) as any).code, 'CMP_ERR_HOST_FORBIDDEN')
  t.same(other.hits, [], 'the disallowed host was never contacted')

  const hitsBefore = source.hits.length
  const forbidden = await post(app, bundle([{ segment_id: '1', url: `${source.base}/a.parquet` }, { segment_id: '2', url: 'http://example.com/b.parquet' }]))
  t.equal(forbidden.statusCode, 403)
  const error = contract.check(t, 'POST', '/compact', forbidden) as any
  t.match(error, { code: 'CMP_ERR_HOST_FORBIDDEN', details: { field: 'segments[1].url', host: 'example.com' } })
  t.equal(source.hits.length, hitsBefore, 'every URL is checked before any is fetched')

  const cases = [
    { url: `${source.base}/loop`, status: 502, code: 'CMP_ERR_UPSTREAM', what: 'too many redirects' },
    { url: `${source.base}/broken`, status: 502, code: 'CMP_ERR_UPSTREAM', what: 'an upstream 500' },
    { url: `${source.base}/nothing.parquet`, status: 400, code: 'CMP_ERR_INPUT_NOT_FOUND', what: 'an upstream 404' },
  ]
  for (const c of cases) {
    const r = await post(app, bundle([{ segment_id: '1', url: c.url }]))
    t.equal(r.statusCode, c.status, c.what)
    t.equal((contract.check(t, 'POST', '/compact', r) as any).code, c.code, c.what)
  }
  const skipped = await post(app, bundle([{ segment_id: '1', url: `${source.base}/nothing.parquet` }, { segment_id: '2', url: `${source.base}/a.parquet` }], { skip_missing: true }))
  t.equal(skipped.statusCode, 200)
  t.same((await manifestOf(skipped)).manifest.report.inputs.map((i: any) => i.status), ['missing_skipped', 'compacted'])
  await assertNoTempFiles(t, app)
})

t.test('http(s) fetches have size and time limits: 413 past the size, 504 past the time, 502 when nothing answers', async t => {
  const dir = t.testdir()
  const [a] = await twoSegments(dir)
  const bytes = await readFile(a)
  const source = await upstream(t, (req, res) => {
    if (req.url === '/declared') return res.writeHead(200, { 'content-length': bytes.length }).end(bytes)
    if (req.url === '/chunked') {
      res.writeHead(200)
      res.write(bytes.subarray(0, 1000))
      return res.end(bytes.subarray(1000))
    }
    if (req.url === '/slow-headers') return // never answers
    if (req.url === '/slow-body') {
      res.writeHead(200, { 'content-length': 2000 })
      return res.write(bytes.subarray(0, 100)) // and never the rest
    }
  })
  const { app } = await appWithSegments(t, { http: { allowedHosts: ['127.0.0.1'], maxBytes: bytes.length - 1, timeoutMs: 300, maxRedirects: 0 } })
  const closed = await upstream(t, () => {})
  const closedBase = closed.base
  await new Promise<void>(resolve => closed.server.close(() => resolve()))
  const cases = [
    { url: `${source.base}/declared`, status: 413, code: 'CMP_ERR_FILE_TOO_LARGE', what: 'Content-Length over the limit' },
    { url: `${source.base}/chunked`, status: 413, code: 'CMP_ERR_FILE_TOO_LARGE', what: 'a chunked body that grows over the limit' },
    { url: `${source.base}/slow-headers`, status: 504, code: 'CMP_ERR_UPSTREAM_TIMEOUT', what: 'no response in time' },
    { url: `${source.base}/slow-body`, status: 504, code: 'CMP_ERR_UPSTREAM_TIMEOUT', what: 'a body that stalls' },
    { url: `${closedBase}/a.parquet`, status: 502, code: 'CMP_ERR_UPSTREAM', what: 'connection refused' },
  ]
  for (const c of cases) {
    const r = await post(app, bundle([{ segment_id: '1', url: c.url }]))
    t.equal(r.statusCode, c.status, c.what)
    const error = contract.check(t, 'POST', '/compact', r) as any
    t.equal(error.code, c.code, `${c.what}: ${error.message}`)
    t.equal(error.details.field, 'segments[0].url')
    await assertNoTempFiles(t, app, `${c.what}: no temporary file is left`)
  }
})

t.test('the parquet response works for manifests too', async t => {
  const { app } = await appWithSegments(t)
  const res = await post(app, bundle(SEGMENTS), { accept: 'application/vnd.apache.parquet' })
  t.equal(res.statusCode, 200)
  contract.check(t, 'POST', '/compact', res)
  t.match(JSON.parse(String(res.headers['x-compaction-report'])), { rows_in: 4, rows_out: 3 })
  await assertNoTempFiles(t, app)
})
