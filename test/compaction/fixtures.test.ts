// The real lakerunner segments give exactly the figures of docs/DOMAIN.md section 6, checked on the
// outputs with DuckDB, an independent reader.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { compact } from '../../src/compaction/compact.ts'
import { LAKERUNNER_DIR, fixtureFolders, needsFixtures } from '../helpers.ts'
import { duck, lit } from '../support/duckdb.ts'

interface Expected {
  files: number
  rowsIn: number
  rowsOut: number
  nonfinite: number
  countSum: number
  firstBucket: number
  lastBucket: number
}

const EXPECTED: Record<string, Expected> = {
  'compact-test-0001': { files: 12, rowsIn: 2732, rowsOut: 2729, nonfinite: 3, countSum: 414325, firstBucket: 1756338660000, lastBucket: 1756338710000 },
  'compact-test-0002': { files: 4, rowsIn: 6719, rowsOut: 6719, nonfinite: 0, countSum: 620873, firstBucket: 1756620230000, lastBucket: 1756620250000 },
  'compact-00001': { files: 8, rowsIn: 2724, rowsOut: 2724, nonfinite: 0, countSum: 402973, firstBucket: 1756066380000, lastBucket: 1756066430000 },
  'metrics-cooked': { files: 12, rowsIn: 2566, rowsOut: 2566, nonfinite: 0, countSum: 897352, firstBucket: 1749117660000, lastBucket: 1749117710000 },
  'work-23924665': { files: 5, rowsIn: 47, rowsOut: 47, nonfinite: 0, countSum: 214809, firstBucket: 1756492800000, lastBucket: 1756492810000 },
}

t.test('every fixture folder compacts to the figures of docs/DOMAIN.md section 6', needsFixtures, async t => {
  const folders = fixtureFolders()
  t.same([...folders.keys()].sort(), Object.keys(EXPECTED).sort(), 'the fixture folders are the ones the spec lists')
  for (const [folder, paths] of folders) {
    t.test(folder, async t => {
      const want = EXPECTED[folder]
      const outDir = t.testdir()
      const { files, report } = await compact({ inputs: paths.map(path => ({ path })), outDir })
      t.equal(paths.length, want.files, 'input files')
      t.equal(report.rows_in, want.rowsIn, 'rows in')
      t.equal(report.rows_out, want.rowsOut, 'rows out')
      t.same(report.dropped, { missing_key: 0, bad_key: 0, nonfinite_rollup: want.nonfinite, missing_sketch: 0, bad_sketch: 0 }, 'drops by reason')
      t.equal(report.rows_aggregated + want.nonfinite, report.rows_in, 'the report balances')

      const outputs = files.map(f => lit(join(outDir, f.file_name))).join(', ')
      const [stats] = await duck(`SELECT count(*) AS n, sum(chq_rollup_count) AS count_sum, min(chq_timestamp) AS first, max(chq_timestamp) AS last,
        count(DISTINCT (metric_name, chq_tid, chq_timestamp)) AS keys FROM read_parquet([${outputs}], union_by_name = true)`)
      t.equal(Number(stats.n), want.rowsOut, 'rows out, read by DuckDB')
      t.equal(stats.count_sum, want.countSum, 'sum of chq_rollup_count, read by DuckDB')
      t.equal(Number(stats.first), want.firstBucket, 'first bucket')
      t.equal(Number(stats.last), want.lastBucket, 'last bucket')
      t.equal(Number(stats.keys), want.rowsOut, 'no duplicate key')
      const [order] = await duck(`SELECT count(*) AS disorder FROM (
        SELECT metric_name, chq_tid, chq_timestamp,
          lag(metric_name) OVER w AS pn, lag(chq_tid) OVER w AS pt, lag(chq_timestamp) OVER w AS pts
        FROM read_parquet([${outputs}], filename = true, file_row_number = true)
        WINDOW w AS (PARTITION BY filename ORDER BY file_row_number))
        WHERE pn IS NOT NULL AND (pn > metric_name OR (pn = metric_name AND (pt > chq_tid OR (pt = chq_tid AND pts >= chq_timestamp))))`)
      t.equal(Number(order.disorder), 0, 'every output file is sorted by the sort key')
      const [legacy] = await duck(`SELECT count(*) AS n FROM (DESCRIBE SELECT * FROM read_parquet([${outputs}], union_by_name = true))
        WHERE column_name LIKE '%.%' OR column_name LIKE '\\_cardinalhq%' ESCAPE '\\' OR column_name IN ('sketch', 'rollup_sum')`)
      t.equal(Number(legacy.n), 0, 'only current column names are written')
    })
  }
})

t.test('the three files lakerunner tested read 226 rows each (one NaN row dropped)', needsFixtures, async t => {
  for (const name of ['tbl_299476441865651503', 'tbl_299476464716219172', 'tbl_299476496878142244']) {
    const { report } = await compact({ inputs: [{ path: join(LAKERUNNER_DIR, 'compact-test-0001', `${name}.parquet`) }], outDir: t.testdir() })
    t.equal(report.rows_in, 227, `${name} rows in`)
    t.equal(report.rows_out, 226, `${name} rows out`)
    t.equal(report.dropped.nonfinite_rollup, 1, `${name} NaN row dropped`)
  }
})

t.test('compacting the same inputs twice gives byte-identical outputs', needsFixtures, async t => {
  const paths = fixtureFolders().get('compact-test-0002')!
  const dirA = t.testdir({ a: {}, b: {} })
  const a = await compact({ inputs: paths.map(path => ({ path })), outDir: join(dirA, 'a') })
  const b = await compact({ inputs: paths.map(path => ({ path })), outDir: join(dirA, 'b') })
  t.same(a.files.map(f => f.segment_id), b.files.map(f => f.segment_id), 'same segment ids')
  for (const f of a.files) {
    const [x, y] = await Promise.all([readFile(join(dirA, 'a', f.file_name)), readFile(join(dirA, 'b', f.file_name))])
    t.ok(x.equals(y), `${f.file_name} is byte-identical`)
  }
})
