// A compaction child for tests: like the real one, except for jobs with an input whose label starts
// with `hang` (waits forever: a compaction in progress to kill or cancel), `native` (allocates
// buffers outside the JS heap until the watchdog stops it), `abort` (process.abort() mid-compaction)
// `heap` (fills the JS heap until V8 aborts the process) or `grow` (keeps 60 MiB for good, then
// compacts as usual).
import { parentChannel, serveCompactions } from '../../src/worker/child.ts'

const hoard: unknown[] = []

serveCompactions(parentChannel(), async job => {
  const labels = job.inputs.map(i => i.label ?? '')
  if (labels.some(l => l.startsWith('hang'))) await new Promise(() => {})
  if (labels.some(l => l.startsWith('abort'))) process.abort()
  if (labels.some(l => l.startsWith('native'))) {
    for (;;) {
      hoard.push(Buffer.alloc(4 * 1024 * 1024, 1))
      await new Promise(resolve => setTimeout(resolve, 1))
    }
  }
  if (labels.some(l => l.startsWith('grow'))) hoard.push(Buffer.alloc(60 * 1024 * 1024, 1))
  if (labels.some(l => l.startsWith('heap'))) for (;;) hoard.push(new Array(100_000).fill(hoard.length))
})
