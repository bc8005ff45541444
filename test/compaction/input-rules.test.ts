// The input rules (README "Input rules"), each on files written here: a file of 0 rows is an input of
// 0 rows; invalid UTF-8 in metric_name is bad_key whatever the column's annotation, and in a carried
// string column is replaced by U+FFFD and counted (replaced_utf8); an unsigned 64-bit chq_tid keeps
// its 64 bits as the signed id and is counted (unsigned_tid). Outputs are read back with DuckDB.
import t, { type Test } from 'tap'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parquetMetadata, type SchemaElement } from 'hyparquet'
import { ParquetWriter, fileWriter } from 'hyparquet-writer'
import { compact, type CompactionResult } from '../../src/compaction/compact.ts'
import { zstdCompress } from '../../src/compaction/codecs.ts'
import { CompactorError } from '../../src/errors.ts'
import { readFooterFigures } from '../../src/guard/footer.ts'
import { inputFigures } from '../../src/guard/estimate.ts'
import { duck, lit } from '../support/duckdb.ts'
import { writeSegment, type RowSpec, type SegmentOptions } from '../support/segments.ts'

const T0 = 1_699_999_200_000
const INVALID = Uint8Array.from([0x61, 0xff, 0x62]) // 'a', a byte no UTF-8 has, 'b'
const OVERLONG = Uint8Array.from([0x68, 0xc0, 0xaf]) // 'h', an overlong '/'
const SURROGATE = Uint8Array.from([0xed, 0xa0, 0x80]) // U+D800 encoded: not UTF-8

/** Compacts files (in the test's directory) into a new directory beside them; returns the result and the output rows in file order. */
async function run (t: Test, paths: string[]): Promise<CompactionResult & { rows: Array<Record<string, unknown>> }> {
  const out = await mkdtemp(join(t.testdirName, 'out-'))
  const result = await compact({ inputs: paths.map(path => ({ path })), outDir: out })
  if (result.files.length === 0) return { ...result, rows: [] }
  const files = result.files.map(f => lit(join(out, f.file_name))).join(', ')
  const rows = await duck(`SELECT * FROM read_parquet([${files}], union_by_name = true, filename = true, file_row_number = true) ORDER BY filename, file_row_number`)
  return { ...result, rows }
}

async function segment (dir: string, name: string, rows: RowSpec[], options: SegmentOptions = {}): Promise<string> {
  const path = join(dir, name)
  await writeSegment(path, rows, options)
  return path
}

const key = (r: Record<string, unknown>): unknown[] => [r.metric_name, r.chq_tid, Number(r.chq_timestamp) - T0, r.chq_rollup_count]

t.test('rule 1: a file of 0 rows (no row groups) is an input of 0 rows, in the report like any input', async t => {
  const dir = t.testdir()
  const empty = await segment(dir, 'empty.parquet', [])
  const bytes = await readFile(empty)
  t.equal(parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer).row_groups.length, 0, 'the file has no row groups')
  const full = await segment(dir, 'full.parquet', [{ name: 'm', tid: 1n, ts: T0, values: [1] }, { name: 'm', tid: 2n, ts: T0, values: [2] }])

  const alone = await run(t, [full])
  const both = await run(t, [empty, full, empty])
  t.same(both.rows.map(key), alone.rows.map(key), 'the same rows as without it')
  t.equal(both.report.rows_in, 2)
  t.same(both.report.inputs.map(i => [i.name, i.status, i.rows]), [['empty.parquet', 'compacted', 0], ['full.parquet', 'compacted', 2], ['empty.parquet', 'compacted', 0]])

  const only = await run(t, [empty])
  t.same(only.files, [], 'alone, it gives no file')
  t.match(only.report, { rows_in: 0, rows_aggregated: 0, rows_out: 0, files_out: 0, inputs: [{ name: 'empty.parquet', status: 'compacted', rows: 0 }] })

  // the service's estimate reads the same footer (hyparquet-writer writes its empty row-group list with a byte element type)
  t.match(await readFooterFigures(empty, 'empty.parquet'), { rows: 0, largestRowGroupBytes: 0 })
  t.match(await inputFigures([{ path: empty }, { path: full }]), { rows: 2 })
})

t.test('rule 1: row groups of 0 rows (chunks with no page, as hyparquet-writer writes them) hold no rows; the rest is read', async t => {
  const dir = t.testdir()
  const rows: RowSpec[] = Array.from({ length: 5 }, (_, i) => ({ name: 'm', tid: BigInt(i % 2), ts: T0 + i * 10_000, values: [i + 1], attrs: { resource_host: `h${i}` } }))
  rows.sort((a, b) => Number(a.tid! as bigint - (b.tid as bigint)) || Number(a.ts) - Number(b.ts))
  const one = await segment(dir, 'one.parquet', rows)
  const gaps = await segment(dir, 'gaps.parquet', rows, { rowGroupSize: [0, 2, 0, 0, 1, 1000] })
  // out of order: read whole, its empty groups joined with the others
  const unsorted = await segment(dir, 'unsorted.parquet', [...rows].reverse(), { rowGroupSize: [0, 3, 0, 1000] })
  const emptyOnly = await segment(dir, 'empty-groups.parquet', rows.slice(0, 1), { rowGroupSize: [0, 0, 1000] })
  const bytes = await readFile(gaps)
  const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer)
  t.same(metadata.row_groups.map(g => Number(g.num_rows)), [0, 2, 0, 0, 1, 2])
  t.equal(metadata.row_groups[0].columns[0].meta_data?.total_compressed_size, 0n, 'an empty group\'s chunks have no bytes')

  const expected = (await run(t, [one])).rows
  for (const path of [gaps, unsorted]) {
    const { rows: got, report } = await run(t, [path])
    t.same(got.map(r => [...key(r), r.resource_host]), expected.map(r => [...key(r), r.resource_host]), `${path.split('/').at(-1)}: the rows of its other groups`)
    t.equal(report.inputs[0].rows, 5)
    t.match(await readFooterFigures(path, 'x'), { rows: 5 })
  }
  // a file of empty row groups and one more
  const { report } = await run(t, [emptyOnly])
  t.match(report, { rows_in: 1, rows_out: 1 })
})

t.test('rule 1: a schema of the root alone is a file of no columns; a footer without even the root is not parquet', async t => {
  const dir = t.testdir()
  const root = join(dir, 'no-columns.parquet')
  const writer = new ParquetWriter({ writer: fileWriter(root), schema: [{ name: 'schema', num_children: 0 }], codec: 'ZSTD', compressors: { ZSTD: zstdCompress } })
  await writer.write({ columnData: [] })
  await writer.finish()
  const { report } = await run(t, [root])
  t.match(report, { rows_in: 0, files_out: 0, inputs: [{ name: 'no-columns.parquet', status: 'compacted', rows: 0 }] })
  t.match(await readFooterFigures(root, 'no-columns.parquet'), { rows: 0, columns: [] })

  // FileMetaData{version 2, schema [], num_rows 0, row_groups []} in Thrift compact bytes
  const footer = Buffer.from([0x15, 0x04, 0x19, 0x0c, 0x16, 0x00, 0x19, 0x0c, 0x00])
  const length = Buffer.alloc(4)
  length.writeUInt32LE(footer.length)
  const none = join(dir, 'no-schema.parquet')
  await writeFile(none, Buffer.concat([Buffer.from('PAR1'), footer, length, Buffer.from('PAR1')]))
  const err = await compact({ inputs: [{ path: none }], outDir: dir }).catch((e: unknown) => e)
  t.ok(err instanceof CompactorError)
  t.match(err, { code: 'CMP_ERR_BAD_PARQUET', message: /no-schema\.parquet: the footer has no schema/ })
})

/** Rows with names and carried values that are valid UTF-8 or not. */
function utf8Rows (): RowSpec[] {
  return [
    { name: 'a', tid: 1n, ts: T0, values: [1], attrs: { resource_host: INVALID } },
    { name: 'a', tid: 2n, ts: T0, values: [2], attrs: { resource_host: 'ok' } },
    { name: 'a', tid: 3n, ts: T0, values: [3], attrs: { resource_host: OVERLONG } },
    { name: 'a', tid: 4n, ts: T0, values: [4], attrs: { resource_host: INVALID } },
    { name: INVALID, tid: 5n, ts: T0, values: [5], attrs: { resource_host: 'dropped row' } },
    { name: SURROGATE, tid: 6n, ts: T0, values: [6], attrs: { resource_host: 'dropped row' } },
    { name: 'b\uFFFD', tid: 7n, ts: T0, values: [7], attrs: { resource_host: 'a real \uFFFD' } },
  ]
}

const READ_PATHS: Record<string, SegmentOptions> = {
  'dictionary pages': {},
  'PLAIN pages': { encodings: { metric_name: 'PLAIN', resource_host: 'PLAIN' } },
  'the general reader (DELTA_BYTE_ARRAY)': { encodings: { metric_name: 'DELTA_BYTE_ARRAY', resource_host: 'DELTA_BYTE_ARRAY' } },
  'PLAIN pages, legacy names': { legacy: true, encodings: { '_cardinalhq.name': 'PLAIN', 'resource.host': 'PLAIN' } },
}

t.test('rule 2: invalid UTF-8 in metric_name is bad_key, UTF8-annotated or binary, on every read path', async t => {
  const dir = t.testdir()
  for (const [path, options] of Object.entries(READ_PATHS)) {
    for (const nameAsBytes of [false, true]) {
      const file = await segment(dir, `names-${Object.keys(READ_PATHS).indexOf(path)}-${nameAsBytes}.parquet`, utf8Rows(), { ...options, nameAsBytes })
      const { report, rows } = await run(t, [file])
      const what = `${nameAsBytes ? 'binary' : 'UTF8'} metric_name, ${path}`
      t.equal(report.dropped.bad_key, 2, `${what}: the two names that are not UTF-8 are bad_key`)
      t.same(rows.map(r => r.metric_name), ['a', 'a', 'a', 'a', 'b\uFFFD'], `${what}: a real U+FFFD is a name like any other`)
      t.equal(report.rows_in, report.rows_aggregated + Object.values(report.dropped).reduce((a, b) => a + b, 0), 'the report balances')
    }
  }
})

t.test('rule 2: invalid UTF-8 in a carried string column is replaced by U+FFFD and counted, per input and in total', async t => {
  const dir = t.testdir()
  for (const [path, options] of Object.entries(READ_PATHS)) {
    const file = await segment(dir, `attrs-${Object.keys(READ_PATHS).indexOf(path)}.parquet`, utf8Rows(), options)
    const clean = await segment(dir, `clean-${Object.keys(READ_PATHS).indexOf(path)}.parquet`, [{ name: 'c', tid: 1n, ts: T0, values: [1], attrs: { resource_host: 'fine' } }], options)
    const { report, rows } = await run(t, [file, clean])
    // read and counted in every row read, the dropped rows' values included: 3 values are not UTF-8
    t.equal(report.replaced_utf8, 3, `${path}: counted in total`)
    t.same(report.inputs.map(i => i.replaced_utf8), [3, 0], `${path}: counted per input`)
    // DuckDB refuses invalid UTF-8 in a VARCHAR: reading the column is the check that the output is valid
    t.same(rows.map(r => r.resource_host), [
      Buffer.from(INVALID).toString(), 'ok', Buffer.from(OVERLONG).toString(), Buffer.from(INVALID).toString(), 'a real \uFFFD', 'fine',
    ], `${path}: U+FFFD in place of the invalid bytes`)
    t.equal(rows[0].resource_host, 'a\uFFFDb')
  }
})

t.test('rule 2: a binary column stays bytes; promoted to string by another input, its invalid values are replaced and counted', async t => {
  const dir = t.testdir()
  const binary = await segment(dir, 'binary.parquet', utf8Rows().slice(0, 4), { bytesAttrs: ['resource_host'] })
  const alone = await run(t, [binary])
  t.equal(alone.report.replaced_utf8, 0, 'bytes are carried as bytes: nothing replaced')
  t.same(alone.rows.map(r => Buffer.from(r.resource_host as Uint8Array)), [INVALID, Buffer.from('ok'), OVERLONG, INVALID].map(b => Buffer.from(b)))

  const text = await segment(dir, 'text.parquet', [{ name: 'z', tid: 1n, ts: T0, values: [1], attrs: { resource_host: 'text' } }])
  const promoted = await run(t, [binary, text])
  t.equal(promoted.report.replaced_utf8, 3)
  t.same(promoted.report.inputs.map(i => i.replaced_utf8), [3, 0])
  t.same(promoted.rows.map(r => r.resource_host), ['a\uFFFDb', 'ok', Buffer.from(OVERLONG).toString(), 'a\uFFFDb', 'text'])
})

t.test('rule 2: two columns of one name (legacy and current) coalesce; the value taken is the one checked', async t => {
  const dir = t.testdir()
  const file = await segment(dir, 'both.parquet', [
    { name: 'a', tid: 1n, ts: T0, values: [1], attrs: { 'resource.host': INVALID, resource_host: 'unused' } },
    { name: 'a', tid: 2n, ts: T0, values: [1], attrs: { 'resource.host': null, resource_host: INVALID } },
    { name: 'a', tid: 3n, ts: T0, values: [1], attrs: { 'resource.host': 'first', resource_host: INVALID } },
  ])
  const { report, rows } = await run(t, [file])
  t.equal(report.replaced_utf8, 2)
  t.same(rows.map(r => r.resource_host), ['a\uFFFDb', 'a\uFFFDb', 'first'])
})

t.test('rule 3: an unsigned 64-bit chq_tid keeps its 64 bits as the signed id and is counted, on every read path', async t => {
  const dir = t.testdir()
  const tids = [5n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n - 2n ** 32n]
  for (const tidUnsigned of ['converted', 'logical'] as const) {
    const paths: Record<string, SegmentOptions> = {
      'PLAIN pages': { encodings: { chq_tid: 'PLAIN' } },
      'dictionary pages': {},
      'DELTA_BINARY_PACKED pages': { encodings: { chq_tid: 'DELTA_BINARY_PACKED' } },
    }
    for (const [p, [path, options]] of Object.entries(paths).entries()) {
      const file = await segment(dir, `tids-${tidUnsigned}-${p}.parquet`,
        [...tids, 2n ** 64n - 1n].map((tid, i) => ({ name: 'm', tid, ts: T0 + i, values: [i + 1] })), { ...options, tidUnsigned })
      const { report, rows } = await run(t, [file])
      const what = `${tidUnsigned} UINT_64, ${path}`
      t.equal(report.unsigned_tid, 4, `${what}: the rows at 2^63 or more are counted`)
      t.same(report.inputs.map(i => i.unsigned_tid), [4], `${what}: per input`)
      t.equal(report.dropped.bad_key, 0, `${what}: none is dropped`)
      const signed = tids.map(v => BigInt.asIntN(64, v)).sort((a, b) => (a < b ? -1 : 1))
      t.same(rows.map(r => r.chq_tid), signed, `${what}: the same 64 bits, in signed order`)
      t.equal(rows.find(r => r.chq_tid === -1n)?.chq_rollup_count, 2, `${what}: the two rows of tid 2^64 - 1 are one series`)
    }
  }
})

t.test('an unsigned INT32 (UINT_32) is zero-extended, from PLAIN and from DELTA_BINARY_PACKED pages', async t => {
  const dir = t.testdir()
  for (const encoding of ['PLAIN', 'DELTA_BINARY_PACKED'] as const) {
    const path = join(dir, `u32-${encoding}.parquet`)
    const column = (name: string, type: 'BYTE_ARRAY' | 'INT64' | 'INT32' | 'DOUBLE', extra = {}): SchemaElement => ({ name, type, repetition_type: 'OPTIONAL', ...extra })
    const schema: SchemaElement[] = [
      { name: 'schema', num_children: 6 },
      column('metric_name', 'BYTE_ARRAY', { converted_type: 'UTF8' }), column('chq_tid', 'INT64'), column('chq_timestamp', 'INT64'),
      // legacy singletons (count 1, no sketch): rows that are kept
      column('chq_rollup_count', 'DOUBLE'), column('chq_rollup_sum', 'DOUBLE'),
      column('attr_count', 'INT32', { converted_type: 'UINT_32' }),
    ]
    const writer = new ParquetWriter({ writer: fileWriter(path), schema, codec: 'ZSTD', compressors: { ZSTD: zstdCompress } })
    await writer.write({
      columnData: [
        { name: 'metric_name', data: ['m', 'm'] },
        { name: 'chq_tid', data: [1n, 2n] },
        { name: 'chq_timestamp', data: [BigInt(T0), BigInt(T0)] },
        { name: 'chq_rollup_count', data: [1, 1] },
        { name: 'chq_rollup_sum', data: [1, 2] },
        { name: 'attr_count', data: [4_294_967_295, 7], encoding },
      ],
    })
    await writer.finish()
    const { rows } = await run(t, [path])
    t.same(rows.map(r => r.attr_count), [4_294_967_295n, 7n], encoding)
  }
})

t.test('rule 3: a tid written unsigned in one input and signed in another is one series', async t => {
  const dir = t.testdir()
  const unsigned = await segment(dir, 'unsigned.parquet', [{ name: 'm', tid: 2n ** 64n - 7n, ts: T0, values: [1] }], { tidUnsigned: 'converted' })
  const signed = await segment(dir, 'signed.parquet', [{ name: 'm', tid: -7n, ts: T0 + 1000, values: [2] }])
  const { report, rows } = await run(t, [unsigned, signed])
  t.same(rows.map(key), [['m', -7n, 0, 2]])
  t.equal(report.sketch_merges, 1)
  t.same(report.inputs.map(i => i.unsigned_tid), [1, 0])
})
