// POST /compact with uploaded files: the tar and parquet responses, form fields, and every way an
// upload can be wrong, each answered before the first byte with its code and no file left behind.
import t from 'tap'
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { main } from '../../src/cli.ts'
import { duck, lit } from '../support/duckdb.ts'
import { noisyRows, writeSegment } from '../support/segments.ts'
import { ContractChecker, DATEINT, ORG, T0, assertNoTempFiles, multipart, readTar, testApp, twoSegments } from '../support/http.ts'

const contract = new ContractChecker()

async function uploads (dir: string): Promise<Array<{ name: string, data: Buffer }>> {
  const paths = await twoSegments(dir)
  return Promise.all(paths.map(async (p, i) => ({ name: ['a.parquet', 'b.parquet'][i], data: await readFile(p) })))
}

/** Runs the CLI on files; returns its manifest and its output files' bytes by name. */
async function cli (dir: string, files: string[], args: string[] = []): Promise<{ manifest: any, files: Map<string, Buffer> }> {
  const out = join(dir, 'cli-out')
  const sink = new PassThrough().resume()
  const code = await main(['compact', '-q', '-o', out, ...args, ...files], { out: sink as unknown as typeof process.stdout, err: sink as unknown as typeof process.stderr })
  if (code !== 0) throw new Error(`cli exited ${code}`)
  const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'))
  const bytes = new Map<string, Buffer>()
  for (const name of await readdir(out)) if (name.endsWith('.parquet')) bytes.set(name, await readFile(join(out, name)))
  return { manifest, files: bytes }
}

/** A report without what legitimately differs between runs and entry points (timing, input names). */
function figures (report: any): unknown {
  const { duration_ms: _d, inputs, ...rest } = report
  return { ...rest, inputs: inputs.map(({ name: _n, ...input }: any) => input) }
}

t.test('uploaded files come back as a tar: tbl_<segment_id>.parquet entries, then manifest.json last', async t => {
  const app = await testApp(t)
  const body = await multipart(await uploads(t.testdir()))
  const res = await app.inject({ method: 'POST', url: '/compact', ...body })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  contract.check(t, 'POST', '/compact', res)
  t.equal(res.headers['content-type'], 'application/x-tar')
  const entries = await readTar(res.rawPayload)
  t.equal(entries.at(-1)?.name, 'manifest.json', 'manifest.json is the last entry')
  const manifest = JSON.parse(entries.at(-1)!.data.toString())
  contract.validate(t, contract.schema('CompactionManifest'), manifest, 'manifest.json')
  t.same(entries.slice(0, -1).map(e => e.name), manifest.files.map((f: { file_name: string }) => f.file_name))
  t.equal(manifest.report.rows_in, 4)
  t.equal(manifest.report.rows_out, 3)
  t.equal(manifest.report.sketch_merges, 1)
  t.same(manifest.report.inputs.map((i: { name: string, status: string }) => [i.name, i.status]), [['a.parquet', 'compacted'], ['b.parquet', 'compacted']])
  const dir = t.testdir()
  const file = join(dir, 'out.parquet')
  await writeFile(file, entries[0].data)
  t.equal(entries[0].data.length, manifest.files[0].file_size)
  const rows = await duck(`SELECT metric_name, chq_tid, chq_rollup_count FROM read_parquet(${lit(file)})`)
  t.same(rows.map(r => [r.metric_name, r.chq_tid, r.chq_rollup_count]), [['cpu', 1n, 3], ['cpu', 2n, 1], ['mem', 1n, 1]])
  await assertNoTempFiles(t, app)
})

t.test('the tar holds the same files, bytes and figures as the CLI on the same files', async t => {
  const app = await testApp(t)
  const dir = t.testdir()
  const paths = await twoSegments(dir)
  const res = await app.inject({ method: 'POST', url: '/compact', ...await multipart(await Promise.all(paths.map(async p => ({ name: p.split('/').at(-1)!, data: await readFile(p) })))) })
  t.equal(res.statusCode, 200)
  const entries = await readTar(res.rawPayload)
  const manifest = JSON.parse(entries.at(-1)!.data.toString())
  const expected = await cli(dir, paths)
  t.same(manifest.files, expected.manifest.files, 'same segment metadata')
  t.same(figures(manifest.report), figures(expected.manifest.report), 'same report')
  for (const entry of entries.slice(0, -1)) t.ok(entry.data.equals(expected.files.get(entry.name)!), `${entry.name}: same bytes`)
})

t.test('form fields are honoured: frequency_ms, records_per_file, organization_id, dateint', async t => {
  const app = await testApp(t)
  const res = await app.inject({
    method: 'POST',
    url: '/compact',
    ...await multipart(await uploads(t.testdir()), { frequency_ms: '60000', records_per_file: '1', organization_id: ORG, dateint: String(DATEINT) }),
  })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  const entries = await readTar(res.rawPayload)
  const manifest = JSON.parse(entries.at(-1)!.data.toString())
  t.equal(manifest.report.frequency_ms, 60000)
  t.equal(manifest.report.dateint, DATEINT)
  t.same(manifest.files.map((f: { record_count: number }) => f.record_count), [1, 1, 1], 'one series per file')
  t.equal(entries.length, 4)
})

t.test('files are sized by bytes: the target_file_bytes field, else TARGET_FILE_BYTES, else 2 MiB; records_per_file unset by default', async t => {
  const dir = t.testdir()
  const path = join(dir, 'noisy.parquet')
  await writeSegment(path, noisyRows(80, 20, T0)) // about 220 KB compacted
  const data = await readFile(path)
  const sizes = async (app: Awaited<ReturnType<typeof testApp>>, fields: Record<string, string> = {}): Promise<Array<{ rows: number, bytes: number }>> => {
    const res = await app.inject({ method: 'POST', url: '/compact', ...await multipart([{ name: 'noisy.parquet', data }], fields) })
    t.equal(res.statusCode, 200, res.body.slice(0, 300))
    const entries = await readTar(res.rawPayload)
    const manifest = JSON.parse(entries.at(-1)!.data.toString())
    for (const [i, file] of manifest.files.entries()) t.equal(entries[i].data.length, file.file_size, `${file.file_name}: file_size is its size`)
    return manifest.files.map((f: { record_count: number, file_size: number }) => ({ rows: f.record_count, bytes: f.file_size }))
  }
  const app = await testApp(t)
  t.same((await sizes(app)).map(f => f.rows), [1600], 'the default 2 MiB holds every row in one file: no row cap')
  const small = await sizes(app, { target_file_bytes: '65536' })
  t.ok(small.length >= 3, `target_file_bytes 65536: ${small.length} files`)
  t.ok(small.every(f => f.bytes <= 65_536 && f.rows % 20 === 0), 'each within the target, whole series only')
  t.equal(small.reduce((n, f) => n + f.rows, 0), 1600)
  const capped = await sizes(app, { target_file_bytes: '65536', records_per_file: '100' })
  t.ok(capped.every(f => f.rows <= 100 && f.bytes <= 65_536), 'records_per_file caps rows as well')
  const configured = await testApp(t, { targetFileBytes: 65_536 })
  t.same(await sizes(configured), small, 'TARGET_FILE_BYTES is the default target')
  await assertNoTempFiles(t, app)
})

t.test('Accept: application/vnd.apache.parquet gives all rows in one file, the summary in X-Compaction-Report', async t => {
  const app = await testApp(t, { recordsPerFile: 1, targetFileBytes: 65_536 })
  const body = await multipart(await uploads(t.testdir()))
  const res = await app.inject({ method: 'POST', url: '/compact', payload: body.payload, headers: { ...body.headers, accept: 'application/vnd.apache.parquet' } })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  contract.check(t, 'POST', '/compact', res)
  t.equal(res.headers['content-type'], 'application/vnd.apache.parquet')
  const summary = JSON.parse(String(res.headers['x-compaction-report']))
  t.match(summary, { rows_in: 4, rows_aggregated: 4, rows_out: 3, sketch_merges: 1, dropped: { nonfinite_rollup: 0 } })
  t.match(res.headers['content-disposition'], new RegExp(`filename="tbl_${summary.segment_id}\\.parquet"`))
  t.equal(Number(res.headers['content-length']), res.rawPayload.length)
  t.equal(res.rawPayload.subarray(0, 4).toString(), 'PAR1')
  const file = join(t.testdir(), 'one.parquet')
  await writeFile(file, res.rawPayload)
  const [{ n }] = await duck(`SELECT count(*) AS n FROM read_parquet(${lit(file)})`)
  t.equal(n, 3n, 'every row in one file, although RECORDS_PER_FILE is 1 and TARGET_FILE_BYTES the smallest')
  await assertNoTempFiles(t, app)
})

t.test('the format follows Accept: */* and no header give a tar, a parquet preference wins over a wildcard', async t => {
  const app = await testApp(t)
  const files = await uploads(t.testdir())
  for (const [accept, type] of [
    [undefined, 'application/x-tar'],
    ['*/*', 'application/x-tar'],
    ['application/vnd.apache.parquet, */*;q=0.5', 'application/vnd.apache.parquet'],
    ['application/*', 'application/x-tar'],
    ['application/x-tar;q=0.2, application/vnd.apache.parquet;q=0.9', 'application/vnd.apache.parquet'],
  ] as const) {
    const body = await multipart(files)
    const res = await app.inject({ method: 'POST', url: '/compact', payload: body.payload, headers: { ...body.headers, ...(accept ? { accept } : {}) } })
    t.equal(res.headers['content-type'], type, `Accept: ${accept}`)
  }
})

t.test('a bundle whose rows are all dropped: the tar has only manifest.json, the parquet response is 422', async t => {
  const app = await testApp(t)
  const dir = t.testdir()
  await writeSegment(join(dir, 'nan.parquet'), [{ name: 'cpu', tid: 1n, ts: T0, values: [1], rollups: { sum: NaN } }])
  const files = [{ name: 'nan.parquet', data: await readFile(join(dir, 'nan.parquet')) }]
  const tar = await app.inject({ method: 'POST', url: '/compact', ...await multipart(files) })
  t.equal(tar.statusCode, 200)
  const entries = await readTar(tar.rawPayload)
  t.same(entries.map(e => e.name), ['manifest.json'])
  t.equal(JSON.parse(entries[0].data.toString()).report.dropped.nonfinite_rollup, 1)
  const body = await multipart(files)
  const parquet = await app.inject({ method: 'POST', url: '/compact', payload: body.payload, headers: { ...body.headers, accept: 'application/vnd.apache.parquet' } })
  t.equal(parquet.statusCode, 422)
  const error = contract.check(t, 'POST', '/compact', parquet) as { code: string, details: { report: { rows_in: number } } }
  t.equal(error.code, 'CMP_ERR_EMPTY_RESULT')
  t.equal(error.details.report.rows_in, 1)
  await assertNoTempFiles(t, app)
})

t.test('bad uploads get a 4xx with their code before any byte, and leave no temporary file', async t => {
  const app = await testApp(t, { uploads: { maxFileBytes: 4096, maxFiles: 5, maxRequestBytes: 12_000, maxManifestBytes: 1 << 20 } })
  const dir = t.testdir()
  const [a, b] = await uploads(dir)
  const junk = { name: 'notes.parquet', data: Buffer.from('this is not parquet at all') }
  const big = { name: 'big.parquet', data: Buffer.alloc(5000, 1) }
  const mid = { name: 'mid.parquet', data: Buffer.alloc(3500, 1) }
  const cases: Array<{ what: string, files: Array<{ name: string, data: Buffer, field?: string }>, fields?: Record<string, string>, headers?: Record<string, string>, status: number, code: string, details?: Record<string, unknown> }> = [
    { what: 'a non-parquet part, named', files: [a, junk], status: 400, code: 'CMP_ERR_BAD_PARQUET', details: { file: 'notes.parquet' } },
    { what: 'no files', files: [], fields: { frequency_ms: '10000' }, status: 400, code: 'CMP_ERR_NO_INPUTS', details: { field: 'file' } },
    { what: 'an unknown frequency', files: [a], fields: { frequency_ms: '12345' }, status: 400, code: 'CMP_ERR_BAD_FREQUENCY', details: { field: 'frequency_ms' } },
    { what: 'a frequency that is not a number', files: [a], fields: { frequency_ms: 'fast' }, status: 400, code: 'CMP_ERR_BAD_FREQUENCY' },
    { what: 'records_per_file 0', files: [a], fields: { records_per_file: '0' }, status: 400, code: 'CMP_ERR_BAD_REQUEST', details: { field: 'records_per_file' } },
    { what: 'a dateint that is no date', files: [a], fields: { dateint: '20250231' }, status: 400, code: 'CMP_ERR_BAD_REQUEST', details: { field: 'dateint' } },
    { what: 'an organization_id that is no UUID', files: [a], fields: { organization_id: 'acme' }, status: 400, code: 'CMP_ERR_BAD_REQUEST', details: { field: 'organization_id' } },
    { what: 'an unknown field', files: [a], fields: { colour: 'blue' }, status: 400, code: 'CMP_ERR_BAD_REQUEST', details: { field: 'colour' } },
    { what: 'a file under another field name', files: [{ ...a, field: 'segment' }], status: 400, code: 'CMP_ERR_BAD_REQUEST', details: { field: 'segment' } },
    { what: 'records_per_file with a parquet response', files: [a], fields: { records_per_file: '5' }, headers: { accept: 'application/vnd.apache.parquet' }, status: 400, code: 'CMP_ERR_BAD_REQUEST', details: { field: 'records_per_file' } },
    { what: 'target_file_bytes with a parquet response', files: [a], fields: { target_file_bytes: '65536' }, headers: { accept: 'application/vnd.apache.parquet' }, status: 400, code: 'CMP_ERR_BAD_REQUEST', details: { field: 'target_file_bytes' } },
    { what: 'target_file_bytes under 64 KiB', files: [a], fields: { target_file_bytes: '65535' }, status: 400, code: 'CMP_ERR_BAD_REQUEST', details: { field: 'target_file_bytes' } },
    { what: 'target_file_bytes over 1 GiB', files: [a], fields: { target_file_bytes: '1073741825' }, status: 400, code: 'CMP_ERR_BAD_REQUEST', details: { field: 'target_file_bytes' } },
    { what: 'target_file_bytes not a number', files: [a], fields: { target_file_bytes: '2MiB' }, status: 400, code: 'CMP_ERR_BAD_REQUEST', details: { field: 'target_file_bytes' } },
    { what: 'a file over MAX_FILE_BYTES', files: [a, big], status: 413, code: 'CMP_ERR_FILE_TOO_LARGE', details: { file: 'big.parquet' } },
    { what: 'files over MAX_REQUEST_BYTES together', files: [mid, mid, mid, mid], status: 413, code: 'CMP_ERR_REQUEST_TOO_LARGE' },
    { what: 'more than MAX_FILES files', files: [junk, junk, junk, junk, junk, junk], status: 413, code: 'CMP_ERR_TOO_MANY_FILES' },
    { what: 'a response format nobody offers', files: [a], headers: { accept: 'text/html' }, status: 406, code: 'CMP_ERR_NOT_ACCEPTABLE' },
  ]
  for (const c of cases) {
    const body = await multipart(c.files, c.fields)
    const res = await app.inject({ method: 'POST', url: '/compact', payload: body.payload, headers: { ...body.headers, ...c.headers } })
    t.equal(res.statusCode, c.status, c.what)
    const error = contract.check(t, 'POST', '/compact', res) as { code: string, message: string, details?: Record<string, unknown> }
    t.equal(error?.code, c.code, `${c.what}: ${error?.message}`)
    if (c.details) t.match(error.details, c.details, `${c.what}: details name it`)
    t.notMatch(res.body, /\n\s+at /, 'no stack trace')
    await assertNoTempFiles(t, app, `${c.what}: no temporary file is left`)
  }
})

t.test('a multipart request declaring more than MAX_REQUEST_BYTES is refused before its body is read', async t => {
  const app = await testApp(t, { uploads: { maxFileBytes: 1000, maxFiles: 5, maxRequestBytes: 1000, maxManifestBytes: 1 << 20 } })
  const body = await multipart([{ name: 'a.parquet', data: Buffer.alloc(10) }])
  const res = await app.inject({ method: 'POST', url: '/compact', payload: body.payload, headers: { ...body.headers, 'content-length': String(10 * 1024 * 1024) } })
  t.equal(res.statusCode, 413)
  t.match(contract.check(t, 'POST', '/compact', res), { code: 'CMP_ERR_REQUEST_TOO_LARGE', details: { limit: 1000 } })
  await assertNoTempFiles(t, app)
})

t.test('bodies that are not a form or a manifest: 415, and malformed ones 400', async t => {
  const app = await testApp(t)
  const cases = [
    { what: 'text/plain', headers: { 'content-type': 'text/plain' }, payload: 'hello', status: 415, code: 'CMP_ERR_UNSUPPORTED_MEDIA_TYPE' },
    { what: 'application/octet-stream', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from('PAR1'), status: 415, code: 'CMP_ERR_UNSUPPORTED_MEDIA_TYPE' },
    { what: 'no body at all', headers: {}, payload: undefined, status: 415, code: 'CMP_ERR_UNSUPPORTED_MEDIA_TYPE' },
    { what: 'a multipart body cut short', headers: { 'content-type': 'multipart/form-data; boundary=XyZ' }, payload: '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.parquet"\r\n\r\nPAR1', status: 400, code: 'CMP_ERR_BAD_REQUEST' },
    { what: 'multipart without a boundary', headers: { 'content-type': 'multipart/form-data' }, payload: 'x', status: 400, code: 'CMP_ERR_BAD_REQUEST' },
  ]
  for (const c of cases) {
    const res = await app.inject({ method: 'POST', url: '/compact', headers: c.headers, payload: c.payload })
    t.equal(res.statusCode, c.status, c.what)
    const error = contract.check(t, 'POST', '/compact', res) as { code: string }
    t.equal(error?.code, c.code, c.what)
    await assertNoTempFiles(t, app, `${c.what}: no temporary file is left`)
  }
})

t.test('API_TOKEN: POST /compact needs the bearer token, the probes do not', async t => {
  const app = await testApp(t, { apiToken: 's3cret-token' })
  const files = await uploads(t.testdir())
  for (const authorization of [undefined, 'Bearer wrong', 'Basic czNjcmV0LXRva2Vu', 'Bearer s3cret-token-and-more']) {
    const body = await multipart(files)
    const res = await app.inject({ method: 'POST', url: '/compact', payload: body.payload, headers: { ...body.headers, ...(authorization ? { authorization } : {}) } })
    t.equal(res.statusCode, 401, `Authorization: ${authorization}`)
    t.equal(res.headers['www-authenticate'], 'Bearer')
    t.equal((contract.check(t, 'POST', '/compact', res) as { code: string }).code, 'CMP_ERR_UNAUTHORIZED')
  }
  const body = await multipart(files)
  const ok = await app.inject({ method: 'POST', url: '/compact', payload: body.payload, headers: { ...body.headers, authorization: 'Bearer s3cret-token' } })
  t.equal(ok.statusCode, 200)
  t.equal((await app.inject({ url: '/healthz' })).statusCode, 200)
  await assertNoTempFiles(t, app)
})

t.test('temporary disk: a request larger than MAX_TEMP_BYTES is 413, one that does not fit beside others is 503', async t => {
  const files = await uploads(t.testdir())
  const bytes = files.reduce((n, f) => n + f.data.length, 0)
  // the uploads and the room for their outputs (as many bytes again)
  const app = await testApp(t, { maxTempBytes: 2 * bytes + 100 })
  const tooBig = await app.inject({ method: 'POST', url: '/compact', ...await multipart([...files, ...files]) })
  t.equal(tooBig.statusCode, 413)
  t.equal((contract.check(t, 'POST', '/compact', tooBig) as { code: string }).code, 'CMP_ERR_REQUEST_TOO_LARGE')
  await assertNoTempFiles(t, app)

  const other = await app.service.temp.forRequest()
  other.reserve(200)
  const busy = await app.inject({ method: 'POST', url: '/compact', ...await multipart(files) })
  t.equal(busy.statusCode, 503)
  t.match(busy.headers['retry-after'], /^\d+$/)
  t.equal((contract.check(t, 'POST', '/compact', busy) as { code: string }).code, 'CMP_ERR_TEMP_SPACE')
  await other.dispose()
  const ok = await app.inject({ method: 'POST', url: '/compact', ...await multipart(files) })
  t.equal(ok.statusCode, 200, 'fits once the space is released')
  t.equal(app.service.temp.bytesInUse, 0, 'every byte returned')
  await assertNoTempFiles(t, app)
})

t.test('temporary disk: output files count towards MAX_TEMP_BYTES', async t => {
  const files = await uploads(t.testdir())
  const bytes = files.reduce((n, f) => n + f.data.length, 0)
  // room for the uploads, not for their outputs as well
  const small = await testApp(t, { maxTempBytes: bytes + 100 })
  const alone = await small.inject({ method: 'POST', url: '/compact', ...await multipart(files) })
  t.equal(alone.statusCode, 413, 'uploads and outputs together are more than the whole budget')
  t.equal((contract.check(t, 'POST', '/compact', alone) as { code: string }).code, 'CMP_ERR_REQUEST_TOO_LARGE')
  await assertNoTempFiles(t, small)

  // a bundle read in place takes no disk for its inputs: its outputs alone are counted
  const root = small.service.config.storageRoot
  await mkdir(join(root, 'seg'), { recursive: true })
  for (const f of files) await writeFile(join(root, 'seg', f.name), f.data)
  const segments = files.map((f, i) => ({ segment_id: String(i + 1), url: `file:seg/${f.name}` }))
  const held = await small.service.temp.forRequest()
  held.reserve(200)
  const taken = await small.inject({ method: 'POST', url: '/compact', payload: { organization_id: ORG, dateint: DATEINT, frequency_ms: 10000, instance_num: 0, segments } })
  t.equal(taken.statusCode, 503, 'the outputs do not fit beside another request')
  t.equal((contract.check(t, 'POST', '/compact', taken) as { code: string }).code, 'CMP_ERR_TEMP_SPACE')
  await held.dispose()
  const fits = await small.inject({ method: 'POST', url: '/compact', payload: { organization_id: ORG, dateint: DATEINT, frequency_ms: 10000, instance_num: 0, segments } })
  t.equal(fits.statusCode, 200)
  t.equal(small.service.temp.bytesInUse, 0)
  await assertNoTempFiles(t, small)
})

t.test('temporary disk: the runs an input out of order is sorted into count towards MAX_TEMP_BYTES', async t => {
  const dir = t.testdir()
  // more rows than one run (65 536): sorted into runs on disk
  const rows = Array.from({ length: 70_000 }, (_, i) => ({ name: `m${i % 7}`, tid: BigInt(Math.floor(i / 7) % 500), ts: T0 + Math.floor(i / 3500) * 10_000, values: [i % 100] }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : Number(a.tid - b.tid) || a.ts - b.ts))
  await writeSegment(join(dir, 'sorted.parquet'), rows)
  await writeSegment(join(dir, 'unsorted.parquet'), [...rows].reverse())
  const sorted = { name: 'a.parquet', data: await readFile(join(dir, 'sorted.parquet')) }
  const unsorted = { name: 'a.parquet', data: await readFile(join(dir, 'unsorted.parquet')) }
  const roomy = await testApp(t)
  const reference = await roomy.inject({ method: 'POST', url: '/compact', ...await multipart([sorted]) })
  const ok = await roomy.inject({ method: 'POST', url: '/compact', ...await multipart([unsorted]) })
  t.equal(ok.statusCode, 200, 'with room for its run it compacts')
  const files = async (res: typeof ok): Promise<Buffer[]> => (await readTar(res.rawPayload)).filter(e => e.name.endsWith('.parquet')).map(e => e.data)
  const expected = await files(reference)
  const got = await files(ok)
  // (named by their inputs' content hashes, which differ)
  t.ok(got.length > 0 && got.length === expected.length && got.every((data, i) => data.equals(expected[i])), 'the bytes of its copy in order')
  t.equal(roomy.service.temp.bytesInUse, 0, 'every byte returned')
  await assertNoTempFiles(t, roomy)

  // room for the upload and its outputs (at least the upload's bytes are held for them): not for a run as well
  const outputs = expected.reduce((n, data) => n + data.length, 0)
  const upload = Math.max(sorted.data.length, unsorted.data.length)
  const small = await testApp(t, { maxTempBytes: upload + Math.max(upload, outputs) + 100 })
  const fits = await small.inject({ method: 'POST', url: '/compact', ...await multipart([sorted]) })
  t.equal(fits.statusCode, 200, `the input in order fits: ${fits.body.slice(0, 300)}`)
  const refused = await small.inject({ method: 'POST', url: '/compact', ...await multipart([unsorted]) })
  t.equal(refused.statusCode, 413, 'its run is past the budget')
  t.equal((contract.check(t, 'POST', '/compact', refused) as { code: string }).code, 'CMP_ERR_REQUEST_TOO_LARGE')
  t.equal(small.service.temp.bytesInUse, 0)
  await assertNoTempFiles(t, small)
})

t.test('while draining, new compactions are refused with 503 and Retry-After', async t => {
  const app = await testApp(t)
  app.service.state.draining = true
  const res = await app.inject({ method: 'POST', url: '/compact', ...await multipart(await uploads(t.testdir())) })
  t.equal(res.statusCode, 503)
  t.equal((contract.check(t, 'POST', '/compact', res) as { code: string }).code, 'CMP_ERR_DRAINING')
  await assertNoTempFiles(t, app)
})
