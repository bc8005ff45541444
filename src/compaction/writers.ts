// Where output files are written: on a worker thread, so that encoding and compressing one file
// overlaps merging the next (the second core), or inline when no worker is wanted.
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { CompactorError } from '../errors.ts'
import { writeParquetFile, type OutputColumn, type PreparedFile } from './write.ts'
import type { WriteJob, WriteResult } from './write-worker.ts'
import type { ColumnValues } from './column.ts'

/** Writes prepared files into a directory; `write` resolves with the file's size. */
export class FileWriters {
  private readonly dir: string
  private readonly schema: readonly OutputColumn[]
  private worker: Worker | null = null
  private readonly waiting = new Map<number, { resolve: (size: number) => void, reject: (err: Error) => void }>()
  private nextId = 0

  constructor (dir: string, schema: readonly OutputColumn[], options: { parallel: boolean }) {
    this.dir = dir
    this.schema = schema
    if (options.parallel) this.worker = this.startWorker()
  }

  /** Writes one file; on a worker the caller may go on while it is written. */
  write (file: PreparedFile): Promise<number> {
    const path = join(this.dir, file.fileName)
    if (!this.worker) {
      try {
        return Promise.resolve(writeParquetFile(path, this.schema, file.columns, file.n))
      } catch (err) {
        return Promise.reject(asOutputError(err, file.fileName))
      }
    }
    const id = this.nextId++
    const job: WriteJob = { id, path, schema: this.schema, columns: file.columns, n: file.n }
    return new Promise<number>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject: err => reject(asOutputError(err, file.fileName)) })
      this.worker!.postMessage(job, transferables(file.columns))
    })
  }

  /** Stops the worker; files still being written are failed. */
  async close (): Promise<void> {
    const worker = this.worker
    this.worker = null
    if (worker) await worker.terminate()
    this.failAll(new Error('the file writer stopped'))
  }

  private startWorker (): Worker {
    const worker = new Worker(new URL('./write-worker.ts', import.meta.url))
    worker.on('message', (result: WriteResult) => {
      const waiter = this.waiting.get(result.id)
      this.waiting.delete(result.id)
      if ('error' in result) waiter?.reject(new Error(result.error))
      else waiter?.resolve(result.size)
    })
    worker.on('error', err => this.failAll(err))
    worker.on('exit', code => { if (code !== 0) this.failAll(new Error(`the file writer exited with code ${code}`)) })
    return worker
  }

  private failAll (err: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(err)
    this.waiting.clear()
  }
}

/** The buffers of gathered columns: each is the column's own, so it moves to the worker instead of being copied. */
function transferables (columns: readonly ColumnValues[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>()
  const add = (a: { buffer: ArrayBufferLike } | undefined): void => { if (a && a.buffer instanceof ArrayBuffer) buffers.add(a.buffer) }
  for (const c of columns) {
    switch (c.kind) {
      case 'double': case 'int64': add(c.values); add(c.valid); break
      case 'bool': add(c.values); add(c.valid); break
      case 'dict': add(c.indices); break
      case 'bytes': add(c.data); add(c.offsets); add(c.valid); break
      case 'ascii': add(c.bytes); break
    }
  }
  return [...buffers]
}

function asOutputError (err: unknown, fileName: string): CompactorError {
  return new CompactorError('CMP_ERR_OUTPUT', `${fileName}: ${err instanceof Error ? err.message : String(err)}`, { file: fileName })
}
