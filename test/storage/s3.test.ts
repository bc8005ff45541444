// s3:// segments and outputs through the AWS SDK, against a real S3-speaking server (s3rver) on loopback.
import t from 'tap'
import { readFile, stat } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { createServer } from 'node:net'
import { join } from 'node:path'
import S3rver from 's3rver'
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import type { S3Config } from '../../src/config.ts'
import { parseS3Url } from '../../src/storage/s3.ts'
import { ContractChecker, DATEINT, ORG, assertNoTempFiles, readTar, testApp, twoSegments } from '../support/http.ts'
import { storeRounds } from '../support/store-rounds.ts'

const contract = new ContractChecker()
const BUCKET = 'segments'

const work = t.testdir({ s3: {}, segments: {} })
const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: join(work, 's3') })
const { port } = await server.run() as AddressInfo
t.teardown(() => server.close())

const s3: S3Config = {
  endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true, maxBytes: 1 << 20, timeoutMs: 10_000, allowedBuckets: [BUCKET],
}
/** Any bucket allowed (S3_ALLOWED_BUCKETS unset), to reach buckets that do not exist. */
const ANY_BUCKET: S3Config = { ...s3, allowedBuckets: [] }
const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } })
t.teardown(() => client.destroy())
await client.send(new CreateBucketCommand({ Bucket: BUCKET }))
const [a, b] = await twoSegments(join(work, 'segments'))
for (const [key, path] of [['seg/a.parquet', a], ['seg/b.parquet', b]]) {
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: await readFile(path) }))
}

function bundle (segments: unknown[], extra: Record<string, unknown> = {}): object {
  return { organization_id: ORG, dateint: DATEINT, frequency_ms: 10000, instance_num: 0, segments, ...extra }
}
const SEGMENTS = [{ segment_id: '11', url: `s3://${BUCKET}/seg/a.parquet` }, { segment_id: '12', url: `s3://${BUCKET}/seg/b.parquet` }]

t.test('s3:// URLs split into bucket and key; anything else is a 400', async t => {
  t.same(parseS3Url('s3://bucket/a/b%20c.parquet'), { bucket: 'bucket', key: 'a/b c.parquet' })
  t.same(parseS3Url('s3://bucket', true), { bucket: 'bucket', key: '' })
  for (const bad of ['s3://bucket', 's3:///key', 's3://b/key', 's3://bucket/%zz', 'http://bucket/key']) {
    t.throws(() => parseS3Url(bad), { code: 'CMP_ERR_BAD_URL' }, bad)
  }
})

t.test('keys are normal: empty, . and .. segments are refused', async t => {
  for (const bad of ['s3://bucket/a/../b', 's3://bucket/../b', 's3://bucket/a//b', 's3://bucket/./a', 's3://bucket/a/%2e%2e/b']) {
    t.throws(() => parseS3Url(bad), { code: 'CMP_ERR_BAD_URL' }, bad)
  }
  t.same(parseS3Url('s3://bucket/lake/', true), { bucket: 'bucket', key: 'lake/' }, 'a prefix may end with a slash')
})

t.test('a bucket off S3_ALLOWED_BUCKETS is 403 CMP_ERR_BUCKET_FORBIDDEN, for inputs and outputs, before any request to S3', async t => {
  const app = await testApp(t, { s3 })
  const input = await app.inject({ method: 'POST', url: '/compact', payload: bundle([{ segment_id: '11', url: 's3://other-bucket/seg/a.parquet' }]) })
  t.equal(input.statusCode, 403)
  t.match(contract.check(t, 'POST', '/compact', input), { code: 'CMP_ERR_BUCKET_FORBIDDEN', details: { field: 'segments[0].url', bucket: 'other-bucket' } })
  const output = await app.inject({ method: 'POST', url: '/compact', payload: bundle(SEGMENTS, { collector_name: 'c', output: { url_prefix: 's3://other-bucket/lake' } }) })
  t.equal(output.statusCode, 403)
  t.match(contract.check(t, 'POST', '/compact', output), { code: 'CMP_ERR_BUCKET_FORBIDDEN', details: { field: 'output.url_prefix' } })
  const dotted = await app.inject({ method: 'POST', url: '/compact', payload: bundle([{ segment_id: '11', url: `s3://${BUCKET}/seg/../seg/a.parquet` }]) })
  t.equal(dotted.statusCode, 400)
  await assertNoTempFiles(t, app)
})

t.test('segments are read from s3:// URLs', async t => {
  const app = await testApp(t, { s3 })
  const res = await app.inject({ method: 'POST', url: '/compact', payload: bundle(SEGMENTS) })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  contract.check(t, 'POST', '/compact', res)
  const entries = await readTar(res.rawPayload)
  const manifest = JSON.parse(entries.at(-1)!.data.toString())
  t.match(manifest.report, { rows_in: 4, rows_out: 3, sketch_merges: 1 })
  t.same(manifest.report.inputs.map((i: { name: string }) => i.name), SEGMENTS.map(s => s.url))
  await assertNoTempFiles(t, app)
})

t.test('a missing object is CMP_ERR_INPUT_NOT_FOUND, or missing_skipped with skip_missing', async t => {
  const app = await testApp(t, { s3: ANY_BUCKET })
  const segments = [SEGMENTS[0], { segment_id: '13', url: `s3://${BUCKET}/seg/none.parquet` }, { segment_id: '14', url: 's3://no-such-bucket/a.parquet' }]
  const fail = await app.inject({ method: 'POST', url: '/compact', payload: bundle(segments) })
  t.equal(fail.statusCode, 400)
  t.match(contract.check(t, 'POST', '/compact', fail), { code: 'CMP_ERR_INPUT_NOT_FOUND', details: { field: 'segments[1].url' } })
  const ok = await app.inject({ method: 'POST', url: '/compact', payload: bundle(segments, { skip_missing: true }) })
  t.equal(ok.statusCode, 200)
  const manifest = JSON.parse((await readTar(ok.rawPayload)).at(-1)!.data.toString())
  t.same(manifest.report.inputs.map((i: { status: string }) => i.status), ['compacted', 'missing_skipped', 'missing_skipped'])
  await assertNoTempFiles(t, app)
})

t.test('outputs are stored under an s3:// prefix at their lakerunner object keys', async t => {
  const app = await testApp(t, { s3 })
  const res = await app.inject({ method: 'POST', url: '/compact', payload: bundle(SEGMENTS, { collector_name: 'otel', output: { url_prefix: `s3://${BUCKET}/lake/` } }) })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  const manifest = contract.check(t, 'POST', '/compact', res) as { files: Array<{ key: string, url: string, file_size: number, segment_id: string }> }
  t.equal(manifest.files.length, 1)
  const [file] = manifest.files
  t.equal(file.key, `db/${ORG}/otel/${DATEINT}/metrics/00/tbl_${file.segment_id}.parquet`)
  t.equal(file.url, `s3://${BUCKET}/lake/${file.key}`)
  const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: `lake/${file.key}` }))
  const bytes = Buffer.from(await object.Body!.transformToByteArray())
  t.equal(bytes.length, file.file_size)
  t.equal(bytes.subarray(0, 4).toString(), 'PAR1')
  await assertNoTempFiles(t, app)
})

t.test('5 rounds of 4 identical store-mode bundles with early leavers, then a retry that fails part-way: every listed object stays (s3rver)', async t => {
  const app = await testApp(t, { s3 })
  const { listed, retry } = await storeRounds(t, app, bundle(SEGMENTS, { collector_name: 'rounds', output: { url_prefix: `s3://${BUCKET}/rounds` }, records_per_file: 2 }))
  t.ok(listed.length >= 2 * 5 * 4, `${listed.length} files listed by the 200s`)
  t.equal(retry.status, 500, 'the retry whose second file cannot be written fails')
  for (const file of new Map(listed.map(f => [f.url, f])).values()) {
    const { bucket, key } = parseS3Url(file.url)
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
    t.equal(head.ContentLength, file.file_size, `${file.url} exists with its listed size`)
  }
  const objects = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'rounds/' }))
  t.equal(objects.KeyCount, 2, 'two objects, no staging key left')
  await assertNoTempFiles(t, app)
})

t.test('a store that fails (no such bucket) is 502 CMP_ERR_UPSTREAM and leaves no stored object behind', async t => {
  const app = await testApp(t, { s3: ANY_BUCKET })
  const res = await app.inject({ method: 'POST', url: '/compact', payload: bundle(SEGMENTS, { collector_name: 'otel', output: { url_prefix: 's3://no-such-bucket/lake' } }) })
  t.equal(res.statusCode, 502)
  t.match(contract.check(t, 'POST', '/compact', res), { code: 'CMP_ERR_UPSTREAM' })
  const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'lake-none/' }))
  t.equal(listed.KeyCount ?? 0, 0)
  await assertNoTempFiles(t, app)
})

t.test('an object over S3_MAX_BYTES is 413; an endpoint that does not answer is 502', async t => {
  const small = await testApp(t, { s3: { ...s3, maxBytes: 100 } })
  const big = await small.inject({ method: 'POST', url: '/compact', payload: bundle(SEGMENTS) })
  t.equal(big.statusCode, 413)
  t.match(contract.check(t, 'POST', '/compact', big), { code: 'CMP_ERR_FILE_TOO_LARGE', details: { field: 'segments[0].url' } })
  await assertNoTempFiles(t, small)

  const closed = createServer()
  await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
  const deadPort = (closed.address() as AddressInfo).port
  await new Promise<void>(resolve => closed.close(() => resolve()))
  const dead = await testApp(t, { s3: { ...s3, endpoint: `http://127.0.0.1:${deadPort}` } })
  const res = await dead.inject({ method: 'POST', url: '/compact', payload: bundle(SEGMENTS) })
  t.equal(res.statusCode, 502)
  t.match(contract.check(t, 'POST', '/compact', res), { code: 'CMP_ERR_UPSTREAM' })
  await assertNoTempFiles(t, dead)
})

t.test('the S3 client is built from config: endpoint, region, static credentials, path style', async t => {
  const { S3Store } = await import('../../src/storage/s3.ts')
  const store = new S3Store(s3)
  t.equal(await store.put(`s3://${BUCKET}`, 'direct/x.parquet', a), `s3://${BUCKET}/direct/x.parquet`)
  t.equal(await store.put(`s3://${BUCKET}`, 'direct/x.parquet', a), `s3://${BUCKET}/direct/x.parquet`, 'a retry with the same bytes succeeds')
  await t.rejects(store.put(`s3://${BUCKET}`, 'direct/x.parquet', b), { code: 'CMP_ERR_OUTPUT' }, 'different bytes never replace an object under its final name')
  const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'direct/' }))
  t.same(listed.Contents?.map(o => [o.Key, o.Size]), [['direct/x.parquet', (await stat(a)).size]], 'the first object stays, no staging key is left')
  store.close()
})
