// The memory estimate a compaction reserves: its formula, and the figures it reads from footers.
import t from 'tap'
import { join } from 'node:path'
import {
  BASE_BYTES, BATCH_ROW_BYTES, GATHER_ROW_BYTES, OUTPUT_DENSITY_BOUND, OUTPUT_ROW_BYTES, PAGE_FACTOR, estimateBytes, inputFigures,
} from '../../src/guard/estimate.ts'
import { FILES_BUFFERED, FILES_IN_FLIGHT, RUN_ROWS, WINDOW_ROWS, runLayout } from '../../src/compaction/index.ts'
import { twoSegments } from '../support/http.ts'
import { writeSegment } from '../support/segments.ts'
import { readFooterFigures } from '../../src/guard/footer.ts'

t.test('estimate = base + pages of the largest row groups + a batch per input + FILES_BUFFERED files of recordsPerFile rows (every row at most) + one file gathered', async t => {
  // two inputs of 200 and 20 000 rows: batches of 200 and WINDOW_ROWS rows
  const figures = { largestRowGroupBytes: [1000, 3000], inputRows: [200, 20_000], rows: 20_200, columns: 10 }
  const fixed = BASE_BYTES + PAGE_FACTOR * 4000 + BATCH_ROW_BYTES * (200 + WINDOW_ROWS)
  t.equal(estimateBytes(figures, 80_000), fixed + OUTPUT_ROW_BYTES * 20_200 + GATHER_ROW_BYTES * 20_200, 'one file holds every row')
  t.equal(estimateBytes(figures, 100), fixed + OUTPUT_ROW_BYTES * FILES_BUFFERED * 100 + GATHER_ROW_BYTES * 100, 'FILES_BUFFERED files of recordsPerFile rows at most')
  t.equal(estimateBytes(figures, Infinity), estimateBytes(figures, 80_000), 'one file (Infinity) holds every row')
  t.equal(estimateBytes(figures, undefined), estimateBytes(figures, Infinity), 'no row cap (files sized by bytes), input bytes unknown: every row')
})

t.test('files sized by bytes: FILES_BUFFERED files of the rows a target holds at OUTPUT_DENSITY_BOUND x the inputs\' density, every row at most', async t => {
  // 2,000,000 rows in 80 MB: 40 bytes a row; a 2 MiB file at 8x that density holds 419,431 rows
  const figures = { largestRowGroupBytes: [1000], inputRows: [2_000_000], rows: 2_000_000, columns: 10, bytes: 80_000_000 }
  const target = 2 * 2 ** 20
  const rowsPerFile = Math.ceil(target * OUTPUT_DENSITY_BOUND / 40)
  const fixed = BASE_BYTES + PAGE_FACTOR * 1000 + BATCH_ROW_BYTES * WINDOW_ROWS + FILES_IN_FLIGHT * target
  t.equal(estimateBytes(figures, undefined, target), fixed + OUTPUT_ROW_BYTES * FILES_BUFFERED * rowsPerFile + GATHER_ROW_BYTES * rowsPerFile)
  t.equal(estimateBytes(figures, 1000, target), fixed + OUTPUT_ROW_BYTES * FILES_BUFFERED * 1000 + GATHER_ROW_BYTES * 1000, 'a row cap below it wins')
  t.equal(estimateBytes(figures, undefined, 1 << 30), BASE_BYTES + PAGE_FACTOR * 1000 + BATCH_ROW_BYTES * WINDOW_ROWS + (OUTPUT_ROW_BYTES + GATHER_ROW_BYTES) * 2_000_000 + FILES_IN_FLIGHT * 80_000_000,
    'a target holding more than the bundle: every row, and files of the inputs\' bytes')
  t.equal(estimateBytes({ ...figures, bytes: undefined }, undefined, target), BASE_BYTES + PAGE_FACTOR * 1000 + BATCH_ROW_BYTES * WINDOW_ROWS + (OUTPUT_ROW_BYTES + GATHER_ROW_BYTES) * 2_000_000 + FILES_IN_FLIGHT * target,
    'unknown input bytes: every row')
})

t.test('the figures come from the footers: rows, distinct current column names, largest row group per input', async t => {
  const dir = t.testdir()
  const paths = await twoSegments(dir)
  const figures = await inputFigures(paths.map(path => ({ path })))
  t.equal(figures.rows, 4)
  t.same(figures.inputRows, [2, 2])
  t.equal(figures.largestRowGroupBytes.length, 2)
  t.ok(figures.largestRowGroupBytes.every(b => b > 0))
  t.ok(figures.columns >= 5)
})

t.test('an input its footer proves out of order (sorted into runs) counts a chunk sorted, then a cursor per run in place of its pages and batch', async t => {
  const dir = t.testdir()
  const spec = (name: (i: number) => string) => Array.from({ length: 60 }, (_, i) => ({ name: name(i), tid: BigInt(i), ts: 1_756_339_200_000 + i * 10_000, values: [i] }))
  const sorted = join(dir, 'sorted.parquet')
  const unsorted = join(dir, 'unsorted.parquet')
  await writeSegment(sorted, spec(i => `m${Math.floor(i / 20)}`), { rowGroupSize: 10 })
  await writeSegment(unsorted, spec(i => `m${i % 3}`), { rowGroupSize: 10 })
  const figures = await inputFigures([{ path: sorted }, { path: unsorted }])
  const [s, u] = await Promise.all([sorted, unsorted].map(path => readFooterFigures(path, 'x')))
  t.ok(!s.outOfOrder && u.outOfOrder, 'the footers say which is out of order')
  t.same(figures.largestRowGroupBytes, [s.largestRowGroupBytes, u.largestRowGroupBytes])
  t.same(figures.outOfOrderBytes, [0, u.totalBytes], 'all the row groups of the one out of order')
  t.ok(u.totalBytes > 5 * u.largestRowGroupBytes, `six row groups counted (${u.totalBytes} against ${u.largestRowGroupBytes})`)
})

t.test('out of order: sorting a chunk, and the merge with a cursor per run of RUN_ROWS rows', async t => {
  const { groupRows, pageRows } = runLayout(RUN_ROWS)
  // 1 000 000 rows of 100 uncompressed bytes in row groups of 8 192 rows, beside 10 000 rows in order
  const rows = 1_000_000
  const figures = { largestRowGroupBytes: [819_200, 5000], inputRows: [rows, 10_000], outOfOrderBytes: [1e8, 0], rows: rows + 10_000, columns: 10 }
  const runs = Math.ceil(rows / RUN_ROWS)
  const merge = PAGE_FACTOR * 5000 + BATCH_ROW_BYTES * WINDOW_ROWS +
    runs * (BATCH_ROW_BYTES * pageRows + PAGE_FACTOR * 100 * groupRows) +
    (OUTPUT_ROW_BYTES * FILES_BUFFERED + GATHER_ROW_BYTES) * 100
  const sorting = PAGE_FACTOR * (819_200 + 100 * RUN_ROWS)
  t.equal(estimateBytes(figures, 100), BASE_BYTES + sorting + merge, 'a chunk sorted, then the merge of its runs')
  t.ok(sorting + merge < PAGE_FACTOR * 1e8 / 2, 'under half of what reading it whole took')
  const whole = { ...figures, largestRowGroupBytes: [1e8, 5000] }
  t.equal(estimateBytes(whole, 100), BASE_BYTES + PAGE_FACTOR * (1e8 + 100 * RUN_ROWS) + merge, 'one row group of 100 MB: its pages while it is sorted')
  const small = { largestRowGroupBytes: [20_000, 5000], inputRows: [RUN_ROWS, 10_000], outOfOrderBytes: [100 * RUN_ROWS, 0], rows: RUN_ROWS + 10_000, columns: 10 }
  t.equal(estimateBytes(small, 100), BASE_BYTES + PAGE_FACTOR * (100 * RUN_ROWS + 5000) + BATCH_ROW_BYTES * WINDOW_ROWS + (OUTPUT_ROW_BYTES * FILES_BUFFERED + GATHER_ROW_BYTES) * 100,
    'RUN_ROWS rows at most: sorted in memory, all its row groups decoded through the merge')
  t.equal(estimateBytes({ ...whole, outOfOrderBytes: undefined }, 100), BASE_BYTES + PAGE_FACTOR * (1e8 + 5000) + BATCH_ROW_BYTES * 2 * WINDOW_ROWS + (OUTPUT_ROW_BYTES * FILES_BUFFERED + GATHER_ROW_BYTES) * 100,
    'the same figures in order: its largest row group and a batch')
})
