// Inputs are read page by page: a sorted input in batches of WINDOW_ROWS rows of its key columns,
// its carried columns by the writer for each file's rows (SegmentColumns, InputColumns). What a
// compaction gives does not depend on how its inputs were cut into row groups, a range read
// behind the last one starts its column again, and replaced_utf8 counts every row read once,
// whatever the batches and files.
import t from 'tap'
import { mkdtemp } from 'node:fs/promises'
import { join } from 'node:path'
import { compact } from '../../src/compaction/compact.ts'
import { MemoryAccount, Tab } from '../../src/compaction/account.ts'
import { readBatch, valueAt, columnLength } from '../../src/compaction/read/batch-reader.ts'
import { InputColumns, SegmentColumns } from '../../src/compaction/read/input-columns.ts'
import { openSegment } from '../../src/compaction/read/segment.ts'
import { duck, lit } from '../support/duckdb.ts'
import { writeSegment, type RowSpec } from '../support/segments.ts'

const T0 = 1_699_999_200_000
const INVALID = Uint8Array.from([0x61, 0xff, 0x62]) // 'a', a byte no UTF-8 has, 'b'

/**
 * Rows of `series` series of `points` points each, sorted, with a few carried columns: a host per
 * series, a zone per 3 series, an id per row, and every 97th row's host not UTF-8; every 50th row
 * has a non-finite rollup (dropped), and each point is written twice every 7th row (merged).
 */
function rowsOf (series: number, points: number, seed: number): { rows: RowSpec[], invalid: number } {
  const rows: RowSpec[] = []
  let invalid = 0
  let n = 0
  for (let s = 0; s < series; s++) {
    for (let p = 0; p < points; p++) {
      const copies = p % 7 === 0 ? 2 : 1
      for (let c = 0; c < copies; c++) {
        const bad = n % 97 === seed % 97
        if (bad) invalid++
        rows.push({
          name: `m.${String(s % 5).padStart(2, '0')}`,
          tid: BigInt(1000 + Math.floor(s / 5) * 10 + seed),
          ts: T0 + p * 10_000,
          values: [s + p, p],
          rollups: n % 50 === 49 ? { sum: Infinity } : undefined,
          attrs: { resource_host: bad ? INVALID : `host-${s}`, resource_zone: `z-${Math.floor(s / 3)}`, row_id: BigInt(n), ratio: n / 3 },
        })
        n++
      }
    }
  }
  rows.sort((a, b) => (a.name! < b.name! ? -1 : a.name! > b.name! ? 1 : Number((a.tid as bigint) - (b.tid as bigint)) || Number(a.ts) - Number(b.ts)))
  return { rows, invalid }
}

async function outputRows (dir: string, files: ReadonlyArray<{ file_name: string }>): Promise<string[]> {
  const list = files.map(f => lit(join(dir, f.file_name))).join(', ')
  const rows = await duck(`SELECT metric_name, chq_tid, chq_timestamp, chq_rollup_count, chq_rollup_sum, resource_host, resource_zone, row_id, ratio
    FROM read_parquet([${list}], union_by_name = true) ORDER BY metric_name, chq_tid, chq_timestamp`)
  return rows.map(r => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? v.toString() : v)))
}

t.test('the same rows in one row group, in groups smaller than a batch, and in groups larger: the same output rows and counts', async t => {
  const dir = t.testdir()
  const a = rowsOf(60, 400, 1) // about 27 000 rows: several batches
  const b = rowsOf(45, 300, 2)
  const results: Array<{ rows: string[], replaced: number[], dropped: number, files: number }> = []
  for (const [layout, rowGroupSize] of [['one group', 1_000_000], ['3 000-row groups', 3_000], ['10 000-row groups', 10_000]] as const) {
    const inputs = [join(dir, `${layout}-a.parquet`), join(dir, `${layout}-b.parquet`)]
    await writeSegment(inputs[0], a.rows, { rowGroupSize })
    await writeSegment(inputs[1], b.rows, { rowGroupSize })
    const out = await mkdtemp(join(dir, 'out-'))
    // small files: each input's rows go to many files, read a range at a time
    const { files, report } = await compact({ inputs: inputs.map(path => ({ path })), outDir: out, targetFileBytes: 64 * 1024 })
    t.ok(files.length >= 3, `${layout}: ${files.length} files`)
    t.equal(report.rows_in, a.rows.length + b.rows.length, `${layout}: every row read`)
    t.same(report.inputs.map(i => i.replaced_utf8), [a.invalid, b.invalid], `${layout}: every invalid value counted once, per input (dropped and merged rows' included)`)
    results.push({ rows: await outputRows(out, files), replaced: report.inputs.map(i => i.replaced_utf8!), dropped: report.dropped.nonfinite_rollup, files: files.length })
  }
  t.ok(results[0].dropped > 0, `${results[0].dropped} rows dropped`)
  t.same(results[1].rows, results[0].rows, 'small row groups: the same output rows as one group')
  t.same(results[2].rows, results[0].rows, 'large row groups: the same output rows as one group')
  const hosts = results[0].rows.filter(r => r.includes('a\\ufffdb') || r.includes('a\uFFFDb')).length
  t.ok(hosts > 0, `${hosts} output rows carry a replaced host`)
})

t.test('SegmentColumns: ranges forward, across row groups, and behind the last one read give the values read whole', async t => {
  const dir = t.testdir()
  const { rows } = rowsOf(30, 200, 3)
  const path = join(dir, 'in.parquet')
  await writeSegment(path, rows, { rowGroupSize: 1_700 })
  const segment = await openSegment(path, 0)
  t.teardown(() => segment.close())
  const account = new MemoryAccount(Infinity)
  const whole = await readBatch(segment, 0, segment.rowGroups.length - 1, ['resource_host', 'row_id', 'ratio'], account)
  t.ok(segment.rowGroups.length > 3, `${segment.rowGroups.length} row groups`)
  const columns = new SegmentColumns(segment, account, ['resource_host', 'row_id', 'ratio'])
  const ranges: Array<[number, number]> = [[0, 10], [10, 1_699], [1_699, 1_702], [2_000, 5_500], [5_500, 5_501], [300, 4_000], [4_000, 6_000], [rows.length - 5, rows.length]]
  for (const name of ['resource_host', 'row_id', 'ratio']) {
    const expected = whole.carried.get(name)!.column
    for (const [start, end] of ranges) {
      const read = await columns.read(name, start, end, new Tab(account, 'in'))
      const got = read === null ? [] : Array.from({ length: columnLength(read.column) }, (_, i) => valueAt(read.column, i))
      const want = Array.from({ length: end - start }, (_, i) => valueAt(expected, start + i))
      t.same(got, want, `${name} rows [${start}, ${end})`)
    }
  }
  t.equal(await columns.read('no_such_column', 0, 10, new Tab(account, 'in')), null, 'a column the segment lacks: null')
  columns.close()
})

t.test('InputColumns: replaced_utf8 counts each row read once, the rows between ranges and after the last included, a range read again not twice', async t => {
  const dir = t.testdir()
  const { rows, invalid } = rowsOf(20, 100, 5)
  const path = join(dir, 'in.parquet')
  await writeSegment(path, rows, { rowGroupSize: 700 })
  const segment = await openSegment(path, 0)
  t.teardown(() => segment.close())
  const inputs = new InputColumns([segment], ['resource_host', 'row_id'], new Set(['resource_host']), new MemoryAccount(Infinity))
  t.ok(invalid > 10, `${invalid} invalid hosts in ${rows.length} rows`)
  for (const [start, end] of [[10, 20], [900, 950], [15, 960], [1_500, 1_501]] as const) {
    const read = await inputs.read(0, 'resource_host', start, end)
    t.ok(read !== null && read.base <= start && read.base + columnLength(read.column.column) >= end, `[${start}, ${end}) read`)
    read?.release()
    ;(await inputs.read(0, 'row_id', start, end))?.release()
  }
  t.ok(inputs.replacedUtf8[0] < invalid, 'before finish: the rows after the last range are not counted yet')
  await inputs.finish()
  t.equal(inputs.replacedUtf8[0], invalid, 'after finish: every invalid value, once')
  inputs.close()
})
