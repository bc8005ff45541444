// A compaction worker for tests: like the real one, except that a job with an input labelled
// `hang*` waits forever (a compaction in progress to kill or cancel), and one labelled `oom*`
// allocates until the worker's heap limit stops it.
import { parentPort } from 'node:worker_threads'
import { serveCompactions } from '../../src/guard/worker.ts'

const hoard: unknown[][] = []

serveCompactions(parentPort!, async job => {
  const labels = job.inputs.map(i => i.label ?? '')
  if (labels.some(l => l.startsWith('hang'))) await new Promise(() => {})
  if (labels.some(l => l.startsWith('oom'))) for (;;) hoard.push(new Array(100_000).fill(hoard.length))
})
