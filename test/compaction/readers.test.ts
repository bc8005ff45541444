// Output files are readable by DuckDB, hyparquet and parquet-wasm, and all three see the same rows.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import { readParquet } from 'parquet-wasm'
import { tableFromIPC } from 'apache-arrow'
import { compact } from '../../src/compaction/compact.ts'
import { duck, lit } from '../support/duckdb.ts'
import { writeSegment, type RowSpec } from '../support/segments.ts'

t.test('outputs are readable by DuckDB, hyparquet and parquet-wasm', async t => {
  const dir = t.testdir()
  const rows: RowSpec[] = []
  for (let s = 0; s < 50; s++) {
    for (let b = 0; b < 4; b++) rows.push({ name: `metric_${s % 5}`, tid: BigInt(s) * 0x7fffffffn - 2n ** 62n, ts: 1_700_000_000_000 + b * 10_000, values: [s, b, -1], attrs: { resource_host: `host-${s}` } })
  }
  rows.sort((a, b) => (a.name! < b.name! ? -1 : a.name! > b.name! ? 1 : a.tid! < b.tid! ? -1 : a.tid! > b.tid! ? 1 : Number(a.ts) - Number(b.ts)))
  await writeSegment(join(dir, 'a.parquet'), rows)
  await writeSegment(join(dir, 'b.parquet'), rows.filter((_, i) => i % 3 === 0))
  const { files } = await compact({ inputs: [{ path: join(dir, 'a.parquet') }, { path: join(dir, 'b.parquet') }], outDir: dir, recordsPerFile: 80 })
  t.ok(files.length > 1, 'several output files')
  for (const f of files) {
    const path = join(dir, f.file_name)
    const [viaDuck] = await duck(`SELECT count(*) AS n, sum(chq_rollup_count) AS c, min(chq_tid) AS lo, max(chq_tid) AS hi FROM read_parquet(${lit(path)})`)

    const file = await asyncBufferFromFile(path)
    const metadata = await parquetMetadataAsync(file)
    t.equal(metadata.row_groups[0].columns[0].meta_data?.codec, 'ZSTD', 'ZSTD pages')
    const viaHyparquet = await parquetReadObjects({ file, compressors })
    const tids = viaHyparquet.map(r => r.chq_tid as bigint)

    const table = tableFromIPC(readParquet(new Uint8Array(await readFile(path))).intoIPCStream())
    const wasmTids = [...table.getChild('chq_tid')!].map(v => v as bigint)

    t.equal(Number(viaDuck.n), f.record_count, `${f.file_name}: DuckDB row count`)
    t.equal(viaHyparquet.length, f.record_count, `${f.file_name}: hyparquet row count`)
    t.equal(table.numRows, f.record_count, `${f.file_name}: parquet-wasm row count`)
    t.same(wasmTids, tids, 'parquet-wasm and hyparquet read the same tids')
    t.equal(viaDuck.lo, tids.reduce((a, b) => (b < a ? b : a)), 'DuckDB agrees on the smallest tid')
    t.equal(viaDuck.hi, tids.reduce((a, b) => (b > a ? b : a)), 'DuckDB agrees on the largest tid')
    t.equal(viaDuck.c, viaHyparquet.reduce((s, r) => s + (r.chq_rollup_count as number), 0), 'same counts')
    t.same(table.schema.fields.map(x => x.name), [...table.schema.fields.map(x => x.name)].sort(), 'columns sorted by name')
  }
})
