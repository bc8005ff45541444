// The compaction semantics of docs/DOMAIN.md sections 3-5 on small hand-written inputs, read back with DuckDB.
import t, { type Test } from 'tap'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { parquetMetadata } from 'hyparquet'
import { compact, type CompactionResult } from '../../src/compaction/compact.ts'
import { SketchAccumulator, encodeValue } from '../../src/compaction/ddsketch.ts'
import { ROLLUP_COLUMNS } from '../../src/compaction/schema.ts'
import { MAX_TIMESTAMP_MS } from '../../src/compaction/read/batch-reader.ts'
import { duck, lit } from '../support/duckdb.ts'
import { noisyRows, sketchOf, writeSegment, type RowSpec, type SegmentOptions } from '../support/segments.ts'

const T0 = 1_699_999_200_000 // a bucket start at every frequency (a whole hour)

/** Writes each row list as a segment, compacts them, returns the result and the output rows in file order. */
async function run (t: Test, inputs: RowSpec[][], options: { frequencyMs?: number, recordsPerFile?: number, targetFileBytes?: number, dateint?: number, segment?: SegmentOptions[] } = {}):
Promise<CompactionResult & { rows: Array<Record<string, unknown>>, outDir: string }> {
  const dir = t.testdir()
  const paths: string[] = []
  for (const [i, rows] of inputs.entries()) {
    const path = join(dir, `in${i}.parquet`)
    await writeSegment(path, rows, options.segment?.[i])
    paths.push(path)
  }
  const result = await compact({ inputs: paths.map(path => ({ path })), outDir: dir, ...options })
  const files = result.files.map(f => lit(join(dir, f.file_name))).join(', ')
  const rows = await duck(`SELECT * FROM read_parquet([${files}], union_by_name = true, filename = true, file_row_number = true) ORDER BY filename, file_row_number`)
  const order = new Map(result.files.map((f, i) => [join(dir, f.file_name), i]))
  rows.sort((a, b) => order.get(a.filename as string)! - order.get(b.filename as string)! || Number(a.file_row_number) - Number(b.file_row_number))
  return { ...result, rows, outDir: dir }
}

function bytesOf (v: unknown): Buffer {
  return Buffer.from(v as Uint8Array)
}

t.test('rows sharing a key across inputs merge: exact count/sum/min/max, percentiles and bytes from the merged sketch', async t => {
  const { rows, report } = await run(t, [
    [{ name: 'lat', tid: 5n, ts: T0, values: [10, 20, 30] }],
    [{ name: 'lat', tid: 5n, ts: T0 + 3000, values: [-4, 0, 1000] }],
    [{ name: 'lat', tid: 5n, ts: T0 + 9999, values: [7] }],
  ])
  t.equal(rows.length, 1)
  t.equal(report.sketch_merges, 2)
  const acc = new SketchAccumulator()
  for (const v of [10, 20, 30, -4, 0, 1000, 7]) acc.addValue(v)
  const row = rows[0]
  t.ok(bytesOf(row.chq_sketch).equals(Buffer.from(acc.encode())), 'merged sketch bytes')
  const inputs = [[10, 20, 30], [-4, 0, 1000], [7]].map(v => sketchOf(v).rollups)
  t.equal(row.chq_rollup_count, 7)
  t.equal(row.chq_rollup_sum, inputs.reduce((s, r) => s + r[1], 0), 'sum of the inputs\' sums')
  t.equal(row.chq_rollup_min, Math.min(...inputs.map(r => r[3])), 'min of mins')
  t.equal(row.chq_rollup_max, Math.max(...inputs.map(r => r[4])), 'max of maxes')
  t.equal(row.chq_rollup_avg, (row.chq_rollup_sum as number) / 7)
  for (const [q, col] of [[0.25, 'p25'], [0.5, 'p50'], [0.75, 'p75'], [0.9, 'p90'], [0.95, 'p95'], [0.99, 'p99']] as const) {
    t.equal(row[`chq_rollup_${col}`], acc.quantile(q), col)
  }
  t.equal(row.chq_timestamp, BigInt(T0))
  t.equal(row.chq_tsns, BigInt(T0) * 1_000_000n)
})

t.test('the group\'s first row supplies the other columns; ties go to the input listed first', async t => {
  const { rows } = await run(t, [
    [{ name: 'm', tid: 1n, ts: T0 + 500, values: [1], attrs: { resource_host: 'second-in-time' }, type: 'count' }],
    [{ name: 'm', tid: 1n, ts: T0 + 100, values: [2], attrs: { resource_host: 'first-in-time' }, type: 'gauge' }],
    [{ name: 'm', tid: 2n, ts: T0, values: [3], attrs: { resource_host: 'input 2' } }],
    [{ name: 'm', tid: 2n, ts: T0, values: [4], attrs: { resource_host: 'input 3' } }],
  ])
  t.same(rows.map(r => r.resource_host), ['first-in-time', 'input 2'])
  t.equal(rows[0].chq_metric_type, 'gauge')
})

t.test('a group of one keeps its sketch bytes and its rollups as they are', async t => {
  const sketch = sketchOf([3, 4, 5]).sketch!
  const { rows } = await run(t, [[{ name: 'm', tid: 1n, ts: T0 + 1234, sketch, rollups: { count: 3, sum: 12, avg: 4, min: 3, max: 5, p25: 3.3, p50: 4.4, p75: 4.9, p90: 5, p95: 5, p99: 5 } }]])
  t.ok(bytesOf(rows[0].chq_sketch).equals(Buffer.from(sketch)))
  t.equal(rows[0].chq_rollup_p50, 4.4, 'stored rollups are not recomputed')
  t.equal(rows[0].chq_timestamp, BigInt(T0), 'the timestamp is truncated to its bucket')
})

t.test('a rollup column the input lacks is computed from the sketch', async t => {
  const { rows } = await run(t, [[{ name: 'm', tid: 1n, ts: T0, values: [1, 2, 3, 4, 100] }]], { segment: [{ omitRollups: ['p90'] }] })
  const acc = new SketchAccumulator()
  for (const v of [1, 2, 3, 4, 100]) acc.addValue(v)
  t.equal(rows[0].chq_rollup_p90, acc.quantile(0.9))
  for (const column of ROLLUP_COLUMNS) t.type(rows[0][column], 'number', `${column} is written`)
})

t.test('legacy singletons without a sketch are rebuilt from chq_rollup_sum', async t => {
  const { rows, report } = await run(t, [
    [{ name: 'g', tid: 1n, ts: T0, sketch: null, rollups: { count: 1, sum: 42.5, avg: 42.5, min: 42.5, max: 42.5 } }],
    [
      { name: 'g', tid: 2n, ts: T0, sketch: null, rollups: { count: 1, sum: 10 } },
    ],
    [
      { name: 'g', tid: 2n, ts: T0 + 1, values: [20] },
    ],
  ])
  t.equal(report.dropped.missing_sketch, 0)
  t.equal(rows.length, 2)
  t.ok(bytesOf(rows[0].chq_sketch).equals(Buffer.from(encodeValue(42.5))), 'the sketch of the value')
  for (const column of ROLLUP_COLUMNS) t.equal(rows[0][column], column === 'chq_rollup_count' ? 1 : 42.5, column)
  const acc = new SketchAccumulator()
  acc.addValue(10)
  acc.addValue(20)
  t.ok(bytesOf(rows[1].chq_sketch).equals(Buffer.from(acc.encode())), 'a rebuilt row merges as its value')
  t.equal(rows[1].chq_rollup_count, 2)
  t.equal(rows[1].chq_rollup_sum, 10 + sketchOf([20]).rollups[1])
})

t.test('rows that cannot be aggregated are dropped and counted by reason; the report balances', async t => {
  const { report, rows } = await run(t, [[
    { name: 'a', tid: 1n, ts: T0, values: [1] },
    { name: 'a', tid: 2n, ts: T0, values: [1], rollups: { sum: NaN } },
    { name: 'a', tid: 3n, ts: T0, values: [1], rollups: { max: Infinity } },
    { name: 'a', tid: 4n, ts: T0, sketch: null, rollups: { count: 3, sum: 9 } },
    { name: 'a', tid: 5n, ts: T0, sketch: null, rollups: { count: null, sum: 9 } },
    { name: 'a', tid: 8n, ts: T0, sketch: null, rollups: { count: 1, sum: 1.79e308 } },
    { name: 'a', tid: 6n, ts: T0, sketch: Uint8Array.from([0x02, 1, 2, 3]) },
    { name: 'a', tid: 7n, ts: T0, sketch: Uint8Array.from([0x02, ...new Uint8Array(16), 0x05, 0x01, 0x02, 0x02]) },
  ]])
  t.same(report.dropped, { missing_key: 0, bad_key: 0, nonfinite_rollup: 2, missing_sketch: 3, bad_sketch: 2 })
  t.equal(report.rows_in, 8)
  t.equal(report.rows_aggregated, 1)
  t.equal(rows.length, 1)
})

t.test('an input that claims to be sorted but is not is detected and sorted', async t => {
  const shuffled: RowSpec[] = [
    { name: 'z', tid: 1n, ts: T0, values: [1] },
    { name: 'a', tid: 9n, ts: T0 + 20_000, values: [2] },
    { name: 'a', tid: -3n, ts: T0, values: [3] },
    { name: 'a', tid: 9n, ts: T0, values: [4] },
    { name: 'a', tid: 9n, ts: T0 + 5000, values: [5] },
  ]
  const { rows } = await run(t, [shuffled, [{ name: 'a', tid: 9n, ts: T0 + 1, values: [6] }]])
  t.same(rows.map(r => [r.metric_name, r.chq_tid, Number(r.chq_timestamp) - T0, r.chq_rollup_count]), [
    ['a', -3n, 0, 1], ['a', 9n, 0, 3], ['a', 9n, 20_000, 1], ['z', 1n, 0, 1],
  ])
})

t.test('tids compare as signed 64-bit integers and names by UTF-8 bytes', async t => {
  const tids = [2n ** 63n - 1n, -(2n ** 63n), -1n, 0n, 2n ** 53n + 1n, 2n ** 53n]
  const { rows } = await run(t, [
    tids.map(tid => ({ name: 'n', tid, ts: T0, values: [1] })),
    [{ name: '\u{1F600}', tid: 1n, ts: T0, values: [1] }, { name: '\uFF61', tid: 1n, ts: T0, values: [1] }],
  ])
  t.same(rows.filter(r => r.metric_name === 'n').map(r => r.chq_tid), [...tids].sort((a, b) => (a < b ? -1 : 1)))
  t.same(rows.filter(r => r.metric_name !== 'n').map(r => r.metric_name), ['\uFF61', '\u{1F600}'])
})

t.test('a timestamp whose chq_tsns would not fit int64 is bad_key; the largest accepted ones are written exactly', async t => {
  const { rows, report } = await run(t, [[
    { name: 'late', tid: 1n, ts: -MAX_TIMESTAMP_MS - 1, values: [1] },
    { name: 'late', tid: 1n, ts: -MAX_TIMESTAMP_MS, values: [1] },
    { name: 'late', tid: 1n, ts: 0, values: [1] },
    { name: 'late', tid: 1n, ts: MAX_TIMESTAMP_MS, values: [1] },
    { name: 'late', tid: 1n, ts: MAX_TIMESTAMP_MS + 1, values: [1] },
    { name: 'late', tid: 1n, ts: 2n ** 62n, values: [1] },
  ]], { frequencyMs: 3_600_000 })
  t.equal(report.dropped.bad_key, 3)
  const hour = 3_600_000n
  const floor = (v: bigint): bigint => v - (((v % hour) + hour) % hour)
  const kept = [-BigInt(MAX_TIMESTAMP_MS), 0n, BigInt(MAX_TIMESTAMP_MS)].map(floor)
  t.same(rows.map(r => BigInt(r.chq_timestamp as number)), kept)
  t.same(rows.map(r => r.chq_tsns), kept.map(v => v * 1_000_000n), 'chq_tsns is the bucket in ns, not wrapped')
})

t.test('output splits at records_per_file, only between series', async t => {
  const input: RowSpec[] = []
  for (const [tid, n] of [[1n, 3], [2n, 4], [3n, 2], [4n, 6], [5n, 1]] as const) {
    for (let i = 0; i < n; i++) input.push({ name: 'm', tid, ts: T0 + i * 10_000, values: [i] })
  }
  const { files, rows } = await run(t, [input], { recordsPerFile: 5 })
  t.same(files.map(f => f.record_count), [3, 4, 2, 6, 1], 'a series larger than the limit stays whole')
  const seen = new Map<bigint, Set<unknown>>()
  for (const r of rows) seen.set(r.chq_tid as bigint, (seen.get(r.chq_tid as bigint) ?? new Set()).add(r.filename))
  for (const [tid, set] of seen) t.equal(set.size, 1, `series ${tid} is in one file`)
  const { files: two } = await run(t, [input], { recordsPerFile: 9 })
  t.same(two.map(f => f.record_count), [9, 7])
})

t.test('a file estimated within the target but written past it is written again with fewer series', async t => {
  // an attribute that changes from row to row: the first file's estimate is several times too low
  const input = noisyRows(80, 20, T0)
  const target = 64 * 1024
  for (const parallelWrite of [true, false]) {
    const dir = t.testdir()
    const path = join(dir, 'in.parquet')
    await writeSegment(path, input)
    const { files } = await compact({ inputs: [{ path }], outDir: dir, targetFileBytes: target, parallelWrite })
    t.ok(files.length > 2, `${files.length} files`)
    t.equal(files.reduce((n, f) => n + f.record_count, 0), 1600, 'every row once')
    for (const f of files) {
      t.ok(f.file_size <= target, `${f.file_name}: ${f.record_count / 20} series in ${f.file_size} bytes`)
      t.equal((await readFile(join(dir, f.file_name))).length, f.file_size, 'the file on disk is the one described')
    }
    t.same((await readdir(dir)).filter(name => name.endsWith('.partial')), [], 'no partial file left')
  }
})

t.test('a rollup to 60 s is the same call with wider buckets', async t => {
  const input: RowSpec[] = Array.from({ length: 12 }, (_, i) => ({ name: 'm', tid: 1n, ts: T0 + i * 10_000, values: [i + 1] }))
  const { rows, report } = await run(t, [input], { frequencyMs: 60_000 })
  t.same(rows.map(r => Number(r.chq_timestamp) - T0), [0, 60_000])
  t.same(rows.map(r => r.chq_rollup_count), [6, 6])
  t.equal(report.frequency_ms, 60_000)
})

t.test('rows outside the dateint are kept and counted', async t => {
  const day = Date.UTC(2023, 10, 14) // 20231114
  const { report, rows } = await run(t, [[
    { name: 'm', tid: 1n, ts: day - 10_000, values: [1] },
    { name: 'm', tid: 1n, ts: day, values: [1] },
    { name: 'm', tid: 1n, ts: day + 86_400_000, values: [1] },
  ]], { dateint: 20231114 })
  t.equal(rows.length, 3)
  t.equal(report.rows_outside_dateint, 2)
})

t.test('segment metadata describes each file', async t => {
  const { files, rows } = await run(t, [[
    { name: 'cpu_usage', tid: 1n, ts: T0, values: [1], type: 'gauge' },
    { name: 'cpu_usage', tid: 1n, ts: T0 + 30_000, values: [1], type: 'gauge' },
    { name: 'requests', tid: 1n, ts: T0 + 10_000, values: [1], type: 'count' },
  ]])
  const [meta] = files
  t.equal(meta.record_count, 3)
  t.same(meta.ts_range, [T0, T0 + 30_000 + 1])
  t.same(meta.metric_names, ['cpu_usage', 'requests'])
  t.same(meta.metric_types, [1, 2])
  t.equal(meta.sort_version, 3)
  t.ok(meta.fingerprints.includes(-6833194177026551670n))
  t.ok(meta.fingerprints.includes(-4454695143127170692n))
  t.equal(meta.fingerprints.length, 3)
  t.match(meta.file_name, /^tbl_\d+\.parquet$/)
  t.notOk('chq_id' in rows[0], 'no chq_id: the lake\'s metric tables have none')
})

t.test('an input\'s chq_id, current or legacy, is ignored: no output has one', async t => {
  const { rows, outDir, files } = await run(t, [
    [{ name: 'm', tid: 1n, ts: T0, values: [1], attrs: { chq_id: 'abcdefghjkmnp', resource_host: 'a' } }],
    [{ name: 'm', tid: 2n, ts: T0, values: [1], attrs: { '_cardinalhq.id': 'qrstvwxyz0123' } }],
  ])
  t.same(rows.map(r => r.resource_host), ['a', null], 'the other columns are carried')
  t.notOk('chq_id' in rows[0], 'no chq_id column')
  const names = parquetMetadata(await readFile(join(outDir, files[0].file_name))).schema.map(e => e.name)
  t.notOk(names.includes('chq_id'), 'not in the file schema')
})

t.test('output splits at target_file_bytes, only between series; a larger series is a file of its own', async t => {
  // 60 series of 20 rows with distinct values (about 1.5 KiB each in a file), then one series of 2000 rows
  const input: RowSpec[] = []
  for (let tid = 1; tid <= 61; tid++) {
    const n = tid === 61 ? 2000 : 20
    for (let i = 0; i < n; i++) input.push({ name: 'm', tid: BigInt(tid), ts: T0 + i * 10_000, values: [tid * 1000 + i * 0.37, i], attrs: { resource_host: `host-${tid}` } })
  }
  const target = 24 * 1024
  const { files, rows, outDir } = await run(t, [input], { targetFileBytes: target })
  t.ok(files.length > 2, `${files.length} files`)
  t.equal(files.reduce((n, f) => n + f.record_count, 0), 60 * 20 + 2000, 'every row')
  const seriesFiles = new Map<bigint, Set<unknown>>()
  for (const r of rows) seriesFiles.set(r.chq_tid as bigint, (seriesFiles.get(r.chq_tid as bigint) ?? new Set()).add(r.filename))
  for (const [tid, set] of seriesFiles) if (set.size !== 1) t.fail(`series ${tid} straddles ${set.size} files`)
  for (const f of files) {
    const size = (await readFile(join(outDir, f.file_name))).length
    t.equal(size, f.file_size, `${f.file_name}: file_size is its size`)
    const series = new Set(rows.filter(r => r.filename === join(outDir, f.file_name)).map(r => r.chq_tid)).size
    if (series > 1) t.ok(size <= target, `${f.file_name}: ${series} series in ${size} bytes, within the target`)
  }
  const last = files[files.length - 1]
  t.equal(last.record_count, 2000, 'the large series is a file of its own')
  t.ok(last.file_size > target, 'larger than the target')
  const { files: one } = await run(t, [input])
  t.equal(one.length, 1, 'the default target (2 MiB) holds them all')
  const { files: capped } = await run(t, [input], { targetFileBytes: target, recordsPerFile: 50 })
  t.ok(capped.every(f => f.record_count <= 50 || f.record_count === 2000), 'records_per_file caps rows as well')
  t.ok(capped.length > files.length)
})

t.test('schemas union across inputs: legacy and current names, promoted types, every codec', async t => {
  const { rows, report } = await run(t, [
    [{ name: 'm', tid: 1n, ts: T0, values: [1], attrs: { resource_service: 'legacy' } }],
    [{ name: 'm', tid: 2n, ts: T0, values: [1], attrs: { resource_service: 'current', attr_only_here: 'x' } }],
    [{ name: 'm', tid: 3n, ts: T0, values: [1] }],
    [{ name: 'm', tid: 4n, ts: T0, values: [1] }],
  ], { segment: [{ legacy: true, codec: 'SNAPPY' }, { codec: 'GZIP' }, { codec: 'UNCOMPRESSED' }, { codec: 'ZSTD', legacy: true }] })
  t.equal(report.rows_out, 4)
  t.same(rows.map(r => r.resource_service), ['legacy', 'current', null, null])
  t.same(rows.map(r => r.attr_only_here), [null, 'x', null, null])
})

t.test('carried columns of every type round-trip: nulls, dictionaries wide and narrow, PLAIN fallback', async t => {
  const input: RowSpec[] = Array.from({ length: 2500 }, (_, i) => ({
    name: 'm',
    tid: BigInt(i),
    ts: T0,
    values: [i],
    attrs: {
      resource_wide: `value-${i % 700}`, // 700 entries: 10-bit dictionary indices
      resource_sparse: i % 7 === 0 ? `s${i % 3}` : null,
      resource_unique: `u-${i}-${'x'.repeat(i % 50)}`, // unique: PLAIN
      attr_count: i % 11 === 0 ? null : BigInt(i) * 1_000_000_007n,
      attr_ratio: i % 5 === 0 ? null : i / 7,
      attr_flag: i % 3 === 0 ? null : i % 2 === 0,
    },
  }))
  const { rows } = await run(t, [input])
  t.equal(rows.length, 2500)
  let mismatches = 0
  for (const [i, r] of rows.entries()) {
    const a = input[i].attrs!
    if (r.resource_wide !== a.resource_wide || r.resource_sparse !== a.resource_sparse || r.resource_unique !== a.resource_unique ||
      r.attr_count !== a.attr_count || r.attr_ratio !== a.attr_ratio || r.attr_flag !== a.attr_flag) mismatches++
  }
  t.equal(mismatches, 0, 'every carried value reads back as written')
})

t.test('inputs in DELTA encodings and byte stream split (another writer\'s v2 pages; DELTA_BYTE_ARRAY left to the general reader) compact as their plain copy', async t => {
  const input: RowSpec[] = Array.from({ length: 300 }, (_, i) => ({
    name: `m${Math.floor(i / 100)}`, tid: BigInt(i % 100) - 50n, ts: T0 + (i % 3) * 10_000, values: [i], attrs: { resource_host: i % 4 === 0 ? null : `host-${i % 9}` },
  }))
  input.sort((a, b) => (a.name! < b.name! ? -1 : a.name! > b.name! ? 1 : a.tid! < b.tid! ? -1 : a.tid! > b.tid! ? 1 : Number(a.ts) - Number(b.ts)))
  const encodings = { chq_tid: 'DELTA_BINARY_PACKED', chq_timestamp: 'DELTA_BINARY_PACKED', resource_host: 'DELTA_LENGTH_BYTE_ARRAY', metric_name: 'DELTA_BYTE_ARRAY', chq_rollup_sum: 'BYTE_STREAM_SPLIT' } as const
  const plain = await run(t, [input])
  const delta = await run(t, [input], { segment: [{ encodings }] })
  t.equal(delta.rows.length, 300)
  const metadata = parquetMetadata(await readFile(join(delta.outDir, 'in0.parquet')))
  const used = new Set(metadata.row_groups[0].columns.flatMap(c => c.meta_data!.encodings))
  for (const e of ['DELTA_BINARY_PACKED', 'DELTA_LENGTH_BYTE_ARRAY', 'DELTA_BYTE_ARRAY', 'BYTE_STREAM_SPLIT']) t.ok(used.has(e as never), `the input uses ${e}`)
  const strip = (rows: Array<Record<string, unknown>>) => rows.map(({ filename, file_row_number, ...rest }) => rest)
  t.same(strip(delta.rows), strip(plain.rows), 'the same rows as from plainly encoded input')
})

t.test('files are the same written inline or on the writer thread; a write failure is a CMP_ERR_OUTPUT', async t => {
  const dir = t.testdir({ inline: {}, worker: {} })
  const input: RowSpec[] = Array.from({ length: 500 }, (_, i) => ({ name: `m${i % 4}`, tid: BigInt(i), ts: T0, values: [i] }))
  input.sort((a, b) => (a.name! < b.name! ? -1 : a.name! > b.name! ? 1 : a.tid! < b.tid! ? -1 : 1))
  const path = join(dir, 'in.parquet')
  await writeSegment(path, input)
  const inline = await compact({ inputs: [{ path }], outDir: join(dir, 'inline'), recordsPerFile: 100, parallelWrite: false })
  const worker = await compact({ inputs: [{ path }], outDir: join(dir, 'worker'), recordsPerFile: 100, parallelWrite: true })
  t.same(worker.files, inline.files, 'same metadata')
  for (const f of inline.files) {
    const [a, b] = await Promise.all([readFile(join(dir, 'inline', f.file_name)), readFile(join(dir, 'worker', f.file_name))])
    t.ok(a.equals(b), `${f.file_name} byte-identical`)
  }
  for (const parallelWrite of [false, true]) {
    await t.rejects(compact({ inputs: [{ path }], outDir: join(dir, 'missing', 'dir'), parallelWrite }), { code: 'CMP_ERR_OUTPUT' }, `parallelWrite ${parallelWrite}`)
  }
})
