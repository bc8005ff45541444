// Allocation profile of one compaction: V8's sampling heap profiler, counting objects that were
// collected too (so short-lived per-row garbage shows), summed by the function that allocated.
// Runs the engine in-process with the file writer inline, so that writing is profiled as well.
//
//   node bench/alloc.ts [--data bench/data/default] [--top 15]
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { compact } from '../src/compaction/index.ts'

interface SamplingNode {
  callFrame: { functionName: string, url: string, lineNumber: number }
  selfSize: number
  id: number
  children: SamplingNode[]
}

const { values } = parseArgs({ options: { data: { type: 'string', default: 'bench/data/default' }, top: { type: 'string', default: '15' } } })
const dir = resolve(values.data!)
const inputs = (await readdir(dir)).filter(f => f.endsWith('.parquet')).sort().map(f => ({ path: join(dir, f) }))
const outDir = await mkdtemp(join(tmpdir(), 'mc-alloc-'))

const session = new Session()
session.connect()
await session.post('HeapProfiler.startSampling', { samplingInterval: 32768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
const { report } = await compact({ inputs, outDir, parallelWrite: false })
const { profile } = await session.post('HeapProfiler.stopSampling') as unknown as { profile: { head: SamplingNode } }
session.disconnect()
await rm(outDir, { recursive: true, force: true })

const bySite = new Map<string, number>()
let total = 0
const walk = (node: SamplingNode): void => {
  const { functionName, url, lineNumber } = node.callFrame
  const site = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules\/)?/, '')}:${lineNumber + 1}`
  bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize)
  total += node.selfSize
  for (const child of node.children) walk(child)
}
walk(profile.head)
const rows = report.rows_in
console.log(`allocated (sampled, collected objects included): ${(total / 1e6).toFixed(0)} MB for ${rows} rows in = ${(total / rows).toFixed(0)} bytes per row`)
console.log('| MB | bytes/row | share | function |\n|---:|---:|---:|---|')
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
  console.log(`| ${(bytes / 1e6).toFixed(1)} | ${(bytes / rows).toFixed(1)} | ${(100 * bytes / total).toFixed(1)} % | \`${site}\` |`)
}
