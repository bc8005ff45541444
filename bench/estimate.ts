// Checks the memory estimate (src/guard/estimate.ts) against the measured peak of one compaction
// where the service runs it, in a compaction child: `node bench/estimate.ts DIR` starts one child,
// compacts DIR's parquet files in it (reservation: unlimited, so that nothing stops it) while
// sampling its PSS every 5 ms, and prints the estimate, the child's idle baseline and its peak
// growth over that baseline, in MiB. The watchdog allows baseline + estimate + 32 MiB.
import { mkdtempSync, readdirSync, rm, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_FREQUENCY_MS, DEFAULT_RECORDS_PER_FILE } from '../src/compaction/compact.ts'
import { estimateBytes, inputFigures } from '../src/guard/estimate.ts'
import { pssBytes } from '../src/worker/memory.ts'
import { CompactionPool } from '../src/worker/pool.ts'

const dir = process.argv[2]
if (!dir) throw new Error('usage: node bench/estimate.ts DIR')
const inputs = readdirSync(dir).filter(f => f.endsWith('.parquet')).sort().map(f => ({ path: join(dir, f) }))
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1)

const figures = await inputFigures(inputs)
const estimate = estimateBytes(figures, DEFAULT_RECORDS_PER_FILE)
const pool = new CompactionPool({ size: 1, heapLimitMb: 4096, timeoutMs: 3_600_000, recycleAboveBytes: () => Infinity })
while (pool.baselineBytes === 0) await new Promise(resolve => setTimeout(resolve, 10))
const [child] = pool.childMemory()
let peak = 0
const sampler = setInterval(() => {
  const pid = pool.busyChildren()[0]?.pid
  if (pid !== undefined) peak = Math.max(peak, pssBytes(pid) ?? 0)
}, 5)
const outDir = mkdtempSync(join(tmpdir(), 'estimate-'))
try {
  await pool.run({
    inputs,
    entries: inputs.map(() => null),
    frequencyMs: DEFAULT_FREQUENCY_MS,
    recordsPerFile: DEFAULT_RECORDS_PER_FILE,
    organizationId: undefined,
    dateint: undefined,
    instanceNum: undefined,
    delivery: { kind: 'tar' },
  }, outDir, async file => rm(join(outDir, file.file_name), () => {}), { reservedBytes: 2 ** 40 })
} finally {
  clearInterval(sampler)
  await pool.close()
  rmSync(outDir, { recursive: true, force: true })
}
console.log(JSON.stringify({
  dir, inputs: inputs.length, rows: figures.rows, columns: figures.columns, estimate_mib: mib(estimate),
  child_baseline_mib: mib(pool.baselineBytes), child_at_start_mib: mib(child.bytes), peak_over_baseline_mib: mib(peak - pool.baselineBytes),
}))
