// Checks the memory estimate (src/guard/estimate.ts) against the measured peak of one compaction
// where the service runs it, in a compaction child: `node bench/estimate.ts [--parquet] DIR` starts
// one child, compacts DIR's parquet files in it with the estimate as its reservation (as the service
// does: the engine's account and the watchdog enforce it) while sampling its PSS every 5 ms, and
// prints the estimate, the child's idle baseline, its peak growth over that baseline in MiB, and
// the outcome (ok, or the error code). --parquet: one output file, as Accept: application/vnd.apache.parquet.
import { mkdtempSync, readdirSync, rm, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_FREQUENCY_MS, DEFAULT_TARGET_FILE_BYTES } from '../src/compaction/index.ts'
import { estimateBytes, inputFigures } from '../src/guard/estimate.ts'
import { pssBytes } from '../src/worker/memory.ts'
import { CompactionPool } from '../src/worker/pool.ts'

const parquet = process.argv[2] === '--parquet'
const dir = process.argv[parquet ? 3 : 2]
if (!dir) throw new Error('usage: node bench/estimate.ts [--parquet] DIR')
const recordsPerFile = parquet ? Infinity : undefined
const inputs = readdirSync(dir).filter(f => f.endsWith('.parquet')).sort().map(f => ({ path: join(dir, f), bytes: statSync(join(dir, f)).size }))
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1)

const figures = await inputFigures(inputs)
const estimate = estimateBytes(figures, recordsPerFile, parquet ? Infinity : DEFAULT_TARGET_FILE_BYTES)
const pool = new CompactionPool({ size: 1, heapLimitMb: 4096, timeoutMs: 3_600_000, recycleAboveBytes: () => Infinity })
while (pool.baselineBytes === 0) await new Promise(resolve => setTimeout(resolve, 10))
const [child] = pool.childMemory()
let peak = 0
const sampler = setInterval(() => {
  const pid = pool.busyChildren()[0]?.pid
  if (pid !== undefined) peak = Math.max(peak, pssBytes(pid) ?? 0)
}, 5)
const outDir = mkdtempSync(join(tmpdir(), 'estimate-'))
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
    delivery: { kind: parquet ? 'parquet' : 'tar' },
  }, outDir, async file => rm(join(outDir, file.file_name), () => {}), { reservedBytes: estimate })
} catch (err) {
  outcome = (err as { code?: string }).code ?? String(err)
} finally {
  clearInterval(sampler)
  await pool.close()
  rmSync(outDir, { recursive: true, force: true })
}
console.log(JSON.stringify({
  dir, inputs: inputs.length, rows: figures.rows, columns: figures.columns, estimate_mib: mib(estimate),
  child_baseline_mib: mib(pool.baselineBytes), child_at_start_mib: mib(child.bytes), peak_over_baseline_mib: mib(peak - pool.baselineBytes), outcome,
}))
