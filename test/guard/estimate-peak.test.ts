// The estimate is an upper bound of a compaction's memory, and not a loose one: measured where the
// service runs it (one compaction child, its PSS sampled every 5 ms less its idle baseline, with
// the estimate as its reservation, as bench/estimate.ts does), on generated bundles of one row
// group per file and of small row groups, on unsorted files of one row group and of many (their
// footers prove these out of order: the estimate counts their sorting into runs), and on one large
// unsorted file of four runs: peak <= estimate <= 2 x peak, and the compaction succeeds within it.
import t from 'tap'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { childPeak } from '../../bench/child-peak.ts'
import { generate } from '../../bench/generate.ts'
import { DEFAULT_TARGET_FILE_BYTES, RUN_ROWS } from '../../src/compaction/index.ts'
import { estimateBytes, inputFigures } from '../../src/guard/estimate.ts'

const BUNDLE = { files: 8, rows: 200_000, metrics: 40, series: 4_000, overlap: 0.1, frequencyMs: 10_000, columns: 60, seed: 15 }

async function measure (dir: string): Promise<{ estimate: number, peak: number, outcome: string }> {
  const names = (await readdir(dir)).filter(f => f.endsWith('.parquet')).sort()
  const inputs = await Promise.all(names.map(async f => ({ path: join(dir, f), bytes: (await stat(join(dir, f))).size })))
  const estimate = estimateBytes(await inputFigures(inputs), undefined, DEFAULT_TARGET_FILE_BYTES)
  const { peakBytes, outcome } = await childPeak(inputs, estimate)
  return { estimate, peak: peakBytes, outcome }
}

const MiB = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`

const CASES = [
  ['one row group per file', { rowGroupSize: 1_000_000, unsorted: 0 }],
  ['2 048-row groups', { rowGroupSize: 2_048, unsorted: 0 }],
  ['unsorted files of one row group', { rowGroupSize: 1_000_000, unsorted: 1 }],
  ['unsorted files of 2 048-row groups', { rowGroupSize: 2_048, unsorted: 1 }],
  [`one unsorted file of 200 000 rows (${Math.ceil(200_000 / RUN_ROWS)} runs)`, { rowGroupSize: 2_048, unsorted: 1, files: 1 }],
] as const

for (const [name, shape] of CASES) {
  t.test(`${name}: peak <= estimate <= 2 x peak`, async t => {
    const dir = t.testdir()
    await generate({ ...BUNDLE, ...shape }, join(dir, 'in'))
    const { estimate, peak, outcome } = await measure(join(dir, 'in'))
    t.equal(outcome, 'ok', 'the compaction succeeds with the estimate as its reservation')
    t.ok(peak > 0, `peak over the child's baseline: ${MiB(peak)}`)
    t.ok(peak <= estimate, `the estimate (${MiB(estimate)}) is at least the peak (${MiB(peak)})`)
    t.ok(estimate <= 2 * peak, `the estimate (${MiB(estimate)}) is at most twice the peak (${MiB(peak)})`)
  })
}
