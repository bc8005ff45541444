// Checks the memory estimate (src/guard/estimate.ts) against the measured peak of one compaction
// where the service runs it, in a compaction child: `node bench/estimate.ts [--parquet] DIR` starts
// one child, compacts DIR's parquet files in it with the estimate as its reservation (as the service
// does: the engine's account and the watchdog enforce it) while sampling its PSS every 5 ms
// (child-peak.ts), and prints the estimate, the child's idle baseline, its peak growth over that
// baseline in MiB, and the outcome (ok, or the error code). --parquet: one output file, as Accept:
// application/vnd.apache.parquet.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { DEFAULT_TARGET_FILE_BYTES } from '../src/compaction/index.ts'
import { estimateBytes, inputFigures } from '../src/guard/estimate.ts'
import { childPeak } from './child-peak.ts'

const parquet = process.argv[2] === '--parquet'
const dir = process.argv[parquet ? 3 : 2]
if (!dir) throw new Error('usage: node bench/estimate.ts [--parquet] DIR')
const recordsPerFile = parquet ? Infinity : undefined
const inputs = readdirSync(dir).filter(f => f.endsWith('.parquet')).sort().map(f => ({ path: join(dir, f), bytes: statSync(join(dir, f)).size }))
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1)

const figures = await inputFigures(inputs)
const estimate = estimateBytes(figures, recordsPerFile, parquet ? Infinity : DEFAULT_TARGET_FILE_BYTES)
const { baselineBytes, atStartBytes, peakBytes, outcome } = await childPeak(inputs, estimate, parquet)
console.log(JSON.stringify({
  dir, inputs: inputs.length, rows: figures.rows, columns: figures.columns, estimate_mib: mib(estimate),
  child_baseline_mib: mib(baselineBytes), child_at_start_mib: mib(atStartBytes), peak_over_baseline_mib: mib(peakBytes), outcome,
}))
