// Where output files are written: on a writer thread, so that encoding and compressing one file
// overlaps merging the next (the second core), or inline when no thread is wanted. The thread is
// started once and shared by the compactions of the process; it keeps the process alive only
// while it has files to write.
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { CompactorError } from '../../errors.ts'
import { writeParquetFile, type OutputColumn, type PreparedFile, type WrittenFile } from './segment-file.ts'
import type { WriteJob, WriteResult } from './write-worker.ts'
import type { ColumnValues } from './column-writer.ts'

interface Waiter { resolve: (file: WrittenFile) => void, reject: (err: Error) => void }

/** The shared writer thread and the files it is writing. */
class WriterThread {
  private readonly worker: Worker
  private readonly waiting = new Map<number, Waiter>()
  private nextId = 0
  dead = false

  constructor () {
    this.worker = new Worker(new URL('./write-worker.ts', import.meta.url))
    this.worker.unref()
    this.worker.on('message', (result: WriteResult) => {
      const waiter = this.waiting.get(result.id)
      this.waiting.delete(result.id)
      if (this.waiting.size === 0) this.worker.unref()
      if ('error' in result) waiter?.reject(new Error(result.error))
      else waiter?.resolve(result.file)
    })
    this.worker.on('error', err => this.fail(err))
    this.worker.on('exit', code => this.fail(new Error(`the file writer thread exited with code ${code}`)))
  }

  write (job: Omit<WriteJob, 'id'>, transfer: ArrayBuffer[]): Promise<WrittenFile> {
    const id = this.nextId++
    return new Promise<WrittenFile>((resolve, reject) => {
      if (this.waiting.size === 0) this.worker.ref()
      this.waiting.set(id, { resolve, reject })
      this.worker.postMessage({ ...job, id } satisfies WriteJob, transfer)
    })
  }

  private fail (err: Error): void {
    this.dead = true
    for (const waiter of this.waiting.values()) waiter.reject(err)
    this.waiting.clear()
  }
}

let thread: WriterThread | null = null

function writerThread (): WriterThread {
  if (!thread || thread.dead) thread = new WriterThread()
  return thread
}

/** Writes prepared files of one compaction into a directory; `write` resolves with the file written (size, chunk bytes). */
export class FileWriters {
  private readonly dir: string
  private readonly schema: readonly OutputColumn[]
  private readonly parallel: boolean

  constructor (dir: string, schema: readonly OutputColumn[], options: { parallel: boolean }) {
    this.dir = dir
    this.schema = schema
    this.parallel = options.parallel
  }

  /** Writes one file; on the writer thread the caller may go on while it is written. */
  write (file: PreparedFile): Promise<WrittenFile> {
    const path = join(this.dir, file.fileName)
    if (!this.parallel) {
      try {
        return Promise.resolve(writeParquetFile(path, this.schema, file.columns, file.n, file.groupRows))
      } catch (err) {
        return Promise.reject(asOutputError(err, file.fileName))
      }
    }
    return writerThread().write({ path, schema: this.schema, columns: file.columns, n: file.n, groupRows: file.groupRows }, transferables(file.columns))
      .catch(err => { throw asOutputError(err, file.fileName) })
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
    }
  }
  return [...buffers]
}

function asOutputError (err: unknown, fileName: string): CompactorError {
  return new CompactorError('CMP_ERR_OUTPUT', `${fileName}: ${err instanceof Error ? err.message : String(err)}`, { file: fileName })
}
