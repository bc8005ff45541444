// The input rules through POST /compact: a file of 0 rows is an input of 0 rows (the service's
// footer estimate takes it too), invalid UTF-8 is bad_key in metric_name and replaced and counted in
// other string columns, an unsigned chq_tid keeps its bits and is counted; reports match openapi.yaml.
import t from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { duck, lit } from '../support/duckdb.ts'
import { writeSegment } from '../support/segments.ts'
import { ContractChecker, T0, assertNoTempFiles, multipart, readTar, testApp } from '../support/http.ts'

const contract = new ContractChecker()
const INVALID = Uint8Array.from([0x61, 0xff, 0x62])

/** Three uploads: a file of 0 rows, one with invalid UTF-8 (a name, an attribute), one with unsigned tids. */
async function inputs (dir: string): Promise<Array<{ name: string, data: Buffer }>> {
  const empty = join(dir, 'empty.parquet')
  await writeSegment(empty, [])
  const utf8 = join(dir, 'utf8.parquet')
  await writeSegment(utf8, [
    { name: 'cpu', tid: 1n, ts: T0, values: [1], attrs: { resource_host: INVALID } },
    { name: INVALID, tid: 2n, ts: T0, values: [2], attrs: { resource_host: 'h' } },
    { name: 'cpu', tid: 3n, ts: T0, values: [3], attrs: { resource_host: 'h' } },
  ])
  const unsigned = join(dir, 'unsigned.parquet')
  await writeSegment(unsigned, [
    { name: 'mem', tid: 2n ** 64n - 1n, ts: T0, values: [4] },
    { name: 'mem', tid: 7n, ts: T0, values: [5] },
  ], { tidUnsigned: 'converted' })
  return Promise.all([empty, utf8, unsigned].map(async p => ({ name: p.split('/').at(-1)!, data: await readFile(p) })))
}

t.test('POST /compact: a file of 0 rows, invalid UTF-8 and unsigned tids, each by its rule, in a report that matches openapi.yaml', async t => {
  const app = await testApp(t)
  const dir = t.testdir()
  const res = await app.inject({ method: 'POST', url: '/compact', ...await multipart(await inputs(dir)) })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  contract.check(t, 'POST', '/compact', res)
  const entries = await readTar(res.rawPayload)
  const manifest = JSON.parse(entries.at(-1)!.data.toString())
  contract.validate(t, contract.schema('CompactionManifest'), manifest, 'manifest.json')
  const { report } = manifest
  t.same(report.inputs.map((i: Record<string, unknown>) => [i.name, i.status, i.rows, i.replaced_utf8, i.unsigned_tid]), [
    ['empty.parquet', 'compacted', 0, 0, 0],
    ['utf8.parquet', 'compacted', 3, 1, 0],
    ['unsigned.parquet', 'compacted', 2, 0, 1],
  ])
  t.match(report, { rows_in: 5, rows_out: 4, replaced_utf8: 1, unsigned_tid: 1, dropped: { bad_key: 1 } })
  const file = join(dir, 'out.parquet')
  await writeFile(file, entries[0].data)
  const rows = await duck(`SELECT metric_name, chq_tid, resource_host FROM read_parquet(${lit(file)})`)
  t.same(rows.map(r => [r.metric_name, r.chq_tid, r.resource_host]), [
    ['cpu', 1n, 'a\uFFFDb'], ['cpu', 3n, 'h'], ['mem', -1n, null], ['mem', 7n, null],
  ])
  await assertNoTempFiles(t, app)
})

t.test('POST /compact: the parquet answer\'s X-Compaction-Report counts replaced_utf8 and unsigned_tid', async t => {
  const app = await testApp(t)
  const body = await multipart(await inputs(t.testdir()))
  const res = await app.inject({ method: 'POST', url: '/compact', payload: body.payload, headers: { ...body.headers, accept: 'application/vnd.apache.parquet' } })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  contract.check(t, 'POST', '/compact', res)
  t.match(JSON.parse(String(res.headers['x-compaction-report'])), { rows_in: 5, rows_out: 4, replaced_utf8: 1, unsigned_tid: 1, dropped: { bad_key: 1 } })
})

t.test('POST /compact: a file of 0 rows alone is compacted, not refused: a tar of the manifest alone', async t => {
  const app = await testApp(t)
  const [empty] = await inputs(t.testdir())
  const res = await app.inject({ method: 'POST', url: '/compact', ...await multipart([empty]) })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  contract.check(t, 'POST', '/compact', res)
  const entries = await readTar(res.rawPayload)
  t.same(entries.map(e => e.name), ['manifest.json'])
  const manifest = JSON.parse(entries[0].data.toString())
  contract.validate(t, contract.schema('CompactionManifest'), manifest, 'manifest.json')
  t.same(manifest.files, [])
  t.match(manifest.report, { rows_in: 0, rows_out: 0, files_out: 0, replaced_utf8: 0, unsigned_tid: 0, inputs: [{ name: 'empty.parquet', status: 'compacted', rows: 0 }] })

  // one parquet file is asked for and there is none to give
  const body = await multipart([empty])
  const parquet = await app.inject({ method: 'POST', url: '/compact', payload: body.payload, headers: { ...body.headers, accept: 'application/vnd.apache.parquet' } })
  t.equal(parquet.statusCode, 422)
  t.match(contract.check(t, 'POST', '/compact', parquet), { code: 'CMP_ERR_EMPTY_RESULT', details: { report: { rows_in: 0, inputs: [{ name: 'empty.parquet', status: 'compacted' }] } } })
  await assertNoTempFiles(t, app)
})

t.test('POST /compact: a footer without even a schema root is not parquet: 400 CMP_ERR_BAD_PARQUET naming the part', async t => {
  const app = await testApp(t)
  // FileMetaData{version 2, schema [], num_rows 0, row_groups []} in Thrift compact bytes
  const footer = Buffer.from([0x15, 0x04, 0x19, 0x0c, 0x16, 0x00, 0x19, 0x0c, 0x00])
  const length = Buffer.alloc(4)
  length.writeUInt32LE(footer.length)
  const data = Buffer.concat([Buffer.from('PAR1'), footer, length, Buffer.from('PAR1')])
  const res = await app.inject({ method: 'POST', url: '/compact', ...await multipart([{ name: 'no-schema.parquet', data }]) })
  t.equal(res.statusCode, 400, res.body.slice(0, 300))
  t.match(contract.check(t, 'POST', '/compact', res), { code: 'CMP_ERR_BAD_PARQUET', details: { file: 'no-schema.parquet' } })
  await assertNoTempFiles(t, app)
})
