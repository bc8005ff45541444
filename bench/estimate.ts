// Checks the memory estimate (src/guard/estimate.ts) against the measured peak of one compaction:
// `node bench/estimate.ts DIR` compacts DIR's parquet files in this fresh process and prints the
// estimate and the peak RSS growth (VmHWM after minus VmRSS before), in MiB.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compact, DEFAULT_RECORDS_PER_FILE } from '../src/compaction/compact.ts'
import { estimateBytes, inputFigures } from '../src/guard/estimate.ts'

const dir = process.argv[2]
if (!dir) throw new Error('usage: node bench/estimate.ts DIR')
const inputs = readdirSync(dir).filter(f => f.endsWith('.parquet')).sort().map(f => ({ path: join(dir, f) }))
const status = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1)

const figures = await inputFigures(inputs)
const estimate = estimateBytes(figures, DEFAULT_RECORDS_PER_FILE)
const before = status('VmRSS')
const outDir = mkdtempSync(join(tmpdir(), 'estimate-'))
try {
  await compact({ inputs, outDir })
} finally {
  rmSync(outDir, { recursive: true, force: true })
}
console.log(JSON.stringify({ dir, inputs: inputs.length, rows: figures.rows, columns: figures.columns, estimate_mib: mib(estimate), peak_mib: mib(status('VmHWM') - before) }))
