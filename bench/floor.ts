// The floor: the compactor's own read and write path on the same rows, with no merge. Every input
// is read as the engine reads a sorted input (WindowReader batches, the carried columns read by the
// writer through InputColumns), its usable rows become output rows
// 1:1 (the engine's single-row path) and go through the engine's SegmentWriter as in a compaction
// (files split between series at the default size, written on the writer thread). With --threads N the inputs are
// split over N worker threads, each with its own writer.
//
//   node bench/floor.ts [--threads N] -o OUTDIR FILE...
import { mkdir } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { Aggregator, DEFAULT_TARGET_FILE_BYTES, ENGINE_COLUMNS, FREQUENCIES, InputColumns, MemoryAccount, openSegment, outputSchema, SegmentWriter, USABLE, WindowReader, type OutputColumn, type Segment } from '../src/compaction/index.ts'

/** What one floor pass did. */
export interface FloorResult {
  rows_in: number
  rows_out: number
  files_out: number
  /** Non-zero only if an input holds a key twice (then the floor merged some rows). */
  sketch_merges: number
}

interface FloorTask {
  files: string[]
  outDir: string
  schema: OutputColumn[]
  /** Segment ids of this task's output files start here (distinct across threads). */
  firstId: number
}

/**
 * Reads the given inputs in order and writes their usable rows back unchanged. Rows
 * go through the engine's Aggregator file by file: a file never holds one key twice, so every row
 * is a group of one and takes the compactor's single-row path (sketch and rollups passed through).
 * The engine's SegmentWriter writes them, as in a compaction.
 */
export async function floorPass (task: FloorTask): Promise<FloorResult> {
  const carry = task.schema.filter(c => !ENGINE_COLUMNS.has(c.name)).map(c => c.name)
  const asText = new Set(task.schema.filter(c => c.type === 'string' && !ENGINE_COLUMNS.has(c.name)).map(c => c.name))
  const unlimited = new MemoryAccount(Infinity)
  const segments: Segment[] = []
  let inputs: InputColumns | undefined
  let writer: SegmentWriter | undefined
  let rowsIn = 0
  try {
    // every input stays open until the last file is written: the writer reads their carried columns
    for (const [i, path] of task.files.entries()) segments.push(await openSegment(path, i))
    inputs = new InputColumns(segments, carry, asText, unlimited)
    writer = new SegmentWriter({
      outDir: task.outDir, schema: task.schema, targetFileBytes: DEFAULT_TARGET_FILE_BYTES, inputs, segmentId: file => BigInt(task.firstId + file), parallel: true,
    })
    // the finest bucket width: rows already on 10 s buckets stay apart
    const aggregator = new Aggregator(FREQUENCIES[0], writer.rows, null)
    for (const segment of segments) {
      const reader = new WindowReader(segment, unlimited)
      try {
        for (let batch = await reader.next(); batch !== null; batch = await reader.next()) {
          rowsIn += batch.length
          for (let r = 0; r < batch.length; r++) {
            if (batch.status[r] === USABLE && aggregator.add(batch, r)) await writer.seriesEnded()
          }
        }
      } finally {
        reader.close()
      }
      aggregator.finish()
    }
    const files = await writer.finish()
    return { rows_in: rowsIn, rows_out: files.reduce((n, f) => n + f.record_count, 0), files_out: files.length, sketch_merges: aggregator.stats.sketchMerges }
  } catch (err) {
    await writer?.abort()
    throw err
  } finally {
    inputs?.close()
    await Promise.all(segments.map(s => s.close()))
  }
}

/** The union schema of the inputs, as the compactor computes it. */
async function unionSchema (files: readonly string[]): Promise<OutputColumn[]> {
  const segments: Segment[] = []
  try {
    for (const [i, path] of files.entries()) segments.push(await openSegment(path, i))
    return outputSchema(segments)
  } finally {
    await Promise.all(segments.map(s => s.close()))
  }
}

/** Runs the floor over files with `threads` workers (1 = on this thread); returns the totals. */
export async function floor (files: readonly string[], outDir: string, threads: number): Promise<FloorResult> {
  await mkdir(outDir, { recursive: true })
  const schema = await unionSchema(files)
  if (threads <= 1) return floorPass({ files: [...files], outDir, schema, firstId: 1 })
  // round-robin: the inputs are of similar size
  const tasks: FloorTask[] = Array.from({ length: Math.min(threads, files.length) }, (_, t) => ({
    files: files.filter((_, i) => i % threads === t), outDir, schema, firstId: 1 + t * 1_000_000,
  }))
  const results = await Promise.all(tasks.map(task => new Promise<FloorResult>((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: task })
    worker.once('message', resolve)
    worker.once('error', reject)
    worker.once('exit', code => { if (code !== 0) reject(new Error(`floor worker exited with code ${code}`)) })
  })))
  return results.reduce((a, b) => ({
    rows_in: a.rows_in + b.rows_in, rows_out: a.rows_out + b.rows_out, files_out: a.files_out + b.files_out, sketch_merges: a.sketch_merges + b.sketch_merges,
  }))
}

if (!isMainThread && parentPort) {
  parentPort.postMessage(await floorPass(workerData as FloorTask))
} else if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string', short: 'o' }, threads: { type: 'string', default: '1' } },
  })
  if (!values.out || positionals.length === 0) throw new Error('usage: floor.ts [--threads N] -o OUTDIR FILE...')
  const result = await floor(positionals, values.out, Number(values.threads))
  process.stdout.write(JSON.stringify(result) + '\n')
}
