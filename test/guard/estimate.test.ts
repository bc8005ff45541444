// The memory estimate a compaction reserves: its formula, and the figures it reads from footers.
import t from 'tap'
import { join } from 'node:path'
import { BASE_BYTES, DECODE_FACTOR, OUTPUT_BYTES_PER_CELL, OUTPUT_DENSITY_BOUND, estimateBytes, inputFigures } from '../../src/guard/estimate.ts'
import { FILES_BUFFERED } from '../../src/compaction/index.ts'
import { twoSegments } from '../support/http.ts'

t.test('estimate = base + decoded largest row groups + FILES_BUFFERED output files of recordsPerFile rows, every row at most', async t => {
  const figures = { largestRowGroupBytes: [1000, 3000], rows: 500, columns: 10 }
  t.equal(estimateBytes(figures, 80_000), BASE_BYTES + DECODE_FACTOR * 4000 + 500 * 10 * OUTPUT_BYTES_PER_CELL)
  t.equal(estimateBytes(figures, 100), BASE_BYTES + DECODE_FACTOR * 4000 + FILES_BUFFERED * 100 * 10 * OUTPUT_BYTES_PER_CELL, 'FILES_BUFFERED files of recordsPerFile rows at most')
  t.equal(estimateBytes(figures, Infinity), estimateBytes(figures, 80_000), 'one file (Infinity) holds every row')
  t.equal(estimateBytes(figures, undefined), estimateBytes(figures, Infinity), 'no row cap (files sized by bytes): every row')
})

t.test('files sized by bytes: FILES_BUFFERED files of the rows a target holds at OUTPUT_DENSITY_BOUND x the inputs\' density, every row at most', async t => {
  // 2,000,000 rows in 80 MB: 40 bytes a row; a 2 MiB file at 8x that density holds 419,431 rows
  const figures = { largestRowGroupBytes: [1000], rows: 2_000_000, columns: 10, bytes: 80_000_000 }
  const rowsPerFile = Math.ceil(2 * 2 ** 20 * OUTPUT_DENSITY_BOUND / 40)
  t.equal(estimateBytes(figures, undefined, 2 * 2 ** 20), BASE_BYTES + DECODE_FACTOR * 1000 + FILES_BUFFERED * rowsPerFile * 10 * OUTPUT_BYTES_PER_CELL)
  t.equal(estimateBytes(figures, 1000, 2 * 2 ** 20), BASE_BYTES + DECODE_FACTOR * 1000 + FILES_BUFFERED * 1000 * 10 * OUTPUT_BYTES_PER_CELL, 'a row cap below it wins')
  t.equal(estimateBytes(figures, undefined, 1 << 30), estimateBytes(figures, undefined), 'a target holding more than the bundle: every row')
  t.equal(estimateBytes({ ...figures, bytes: undefined }, undefined, 2 * 2 ** 20), estimateBytes(figures, undefined), 'unknown input bytes: every row')
})

t.test('the figures come from the footers: rows, distinct current column names, largest row group per input', async t => {
  const dir = t.testdir()
  const paths = await twoSegments(dir)
  const figures = await inputFigures(paths.map(path => ({ path })))
  t.equal(figures.rows, 4)
  t.equal(figures.largestRowGroupBytes.length, 2)
  t.ok(figures.largestRowGroupBytes.every(b => b > 0))
  t.ok(figures.columns >= 5)
})

t.test('a bad footer is the engine\'s CMP_ERR_BAD_PARQUET naming the file', async t => {
  await t.rejects(inputFigures([{ path: join(import.meta.dirname, 'estimate.test.ts'), label: 'x.parquet' }]), { code: 'CMP_ERR_BAD_PARQUET', details: { file: 'x.parquet' } })
})
