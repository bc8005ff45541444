// The estimate is an upper bound of a compaction's memory, and not a loose one: measured where the
// service runs it (one compaction child, its PSS sampled every 5 ms less its idle baseline, with
// the estimate as its reservation, as bench/estimate.ts does), on generated bundles of one row
// group per file and of small row groups, and on one of unsorted files:
// peak <= estimate <= 2 x peak, and the compaction succeeds within it.
import t from 'tap'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { generate } from '../../bench/generate.ts'
import { DEFAULT_FREQUENCY_MS, DEFAULT_TARGET_FILE_BYTES } from '../../src/compaction/index.ts'
import { estimateBytes, inputFigures } from '../../src/guard/estimate.ts'
import { pssBytes } from '../../src/worker/memory.ts'
import { CompactionPool } from '../../src/worker/pool.ts'

const BUNDLE = { files: 8, rows: 200_000, metrics: 40, series: 4_000, overlap: 0.1, frequencyMs: 10_000, columns: 60, seed: 15 }

async function measure (dir: string): Promise<{ estimate: number, peak: number, outcome: string }> {
  const names = (await readdir(dir)).filter(f => f.endsWith('.parquet')).sort()
  const inputs = await Promise.all(names.map(async f => ({ path: join(dir, f), bytes: (await stat(join(dir, f))).size })))
  const estimate = estimateBytes(await inputFigures(inputs), undefined, DEFAULT_TARGET_FILE_BYTES)
  const pool = new CompactionPool({ size: 1, heapLimitMb: 4096, timeoutMs: 600_000, recycleAboveBytes: () => Infinity })
  while (pool.baselineBytes === 0) await new Promise(resolve => setTimeout(resolve, 10))
  let peak = 0
  const sampler = setInterval(() => {
    const pid = pool.busyChildren()[0]?.pid
    if (pid !== undefined) peak = Math.max(peak, pssBytes(pid) ?? 0)
  }, 5)
  const outDir = await mkdtemp(join(dir, 'out-'))
  let outcome = 'ok'
  try {
    await pool.run({
      inputs,
      entries: inputs.map(() => null),
      frequencyMs: DEFAULT_FREQUENCY_MS,
      targetFileBytes: DEFAULT_TARGET_FILE_BYTES,
      recordsPerFile: undefined,
      organizationId: undefined,
      dateint: undefined,
      instanceNum: undefined,
      delivery: { kind: 'tar' },
    }, outDir, async file => rm(join(outDir, file.file_name)), { reservedBytes: estimate })
  } catch (err) {
    outcome = (err as { code?: string }).code ?? String(err)
  } finally {
    clearInterval(sampler)
    await pool.close()
  }
  return { estimate, peak: peak - pool.baselineBytes, outcome }
}

const MiB = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`

for (const [name, rowGroupSize, unsorted] of [['one row group per file', 1_000_000, 0], ['2 048-row groups', 2_048, 0], ['unsorted files of one row group', 1_000_000, 1]] as const) {
  t.test(`${name}: peak <= estimate <= 2 x peak`, async t => {
    const dir = t.testdir()
    await generate({ ...BUNDLE, rowGroupSize, unsorted }, join(dir, 'in'))
    const { estimate, peak, outcome } = await measure(join(dir, 'in'))
    t.equal(outcome, 'ok', 'the compaction succeeds with the estimate as its reservation')
    t.ok(peak > 0, `peak over the child's baseline: ${MiB(peak)}`)
    t.ok(peak <= estimate, `the estimate (${MiB(estimate)}) is at least the peak (${MiB(peak)})`)
    t.ok(estimate <= 2 * peak, `the estimate (${MiB(estimate)}) is at most twice the peak (${MiB(peak)})`)
  })
}
