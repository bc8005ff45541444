// Entry of a compaction worker thread (started by pool.ts).
import { parentPort } from 'node:worker_threads'
import { serveCompactions } from './worker.ts'

serveCompactions(parentPort!)
