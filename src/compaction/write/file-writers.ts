// Where output files are written: on a writer thread, so that encoding and compressing one file
// overlaps merging the next (the second core), or inline when no thread is wanted. Either way a
// file is handed over a column at a time (FileSink) and encoded as it comes (ColumnarFile): a
// file's uncompressed columns are never all held, only those waiting for the thread, at most
// QUEUED_BYTES (a whole file of the default size fits, so the overlap is kept). The thread is
// started once and shared by the compactions of the process; it keeps the process alive only while
// it has files to write.
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { CompactorError } from '../../errors.ts'
import { ColumnarFile, type OutputColumn, type WrittenFile } from './segment-file.ts'
import type { WriteJob, WriteResult } from './write-worker.ts'
import type { ColumnValues } from './column-writer.ts'

/**
 * Bytes of gathered columns handed to the writer thread and not yet encoded, at most: past it,
 * handing over the next column waits. Bench `wide` gathers about 20 MB per file of the default size.
 */
export const QUEUED_BYTES = 32 * 1024 * 1024

/** One output file being handed over, a column at a time, in schema order. */
export interface FileSink {
  /** Hands over the next column (its buffers are the sink's from now on); resolves once there is room for more. */
  add (values: ColumnValues): Promise<void>
  /** Writes the file, every column added; resolves with its size and chunk bytes. */
  finish (): Promise<WrittenFile>
  /** Drops the file: nothing is written. */
  abort (): void
}

interface Waiter { resolve: (file: WrittenFile) => void, reject: (err: Error) => void }

/** The shared writer thread, the files it is writing, and the column bytes waiting for it. */
class WriterThread {
  private readonly worker: Worker
  private readonly waiting = new Map<number, Waiter>()
  /** Files begun and not finished or aborted: the thread is kept referenced while there are any. */
  private open = 0
  private queued = 0
  private room: Array<{ resolve: () => void, reject: (err: Error) => void }> = []
  private nextId = 0
  dead = false
  private failure: Error | null = null

  constructor () {
    this.worker = new Worker(new URL('./write-worker.ts', import.meta.url))
    this.worker.unref()
    this.worker.on('message', (result: WriteResult) => {
      if ('encoded' in result) {
        this.queued -= result.encoded
        if (this.queued <= QUEUED_BYTES) {
          const room = this.room
          this.room = []
          for (const waiter of room) waiter.resolve()
        }
        return
      }
      const waiter = this.waiting.get(result.id)
      this.waiting.delete(result.id)
      this.release()
      if ('error' in result) waiter?.reject(new Error(result.error))
      else waiter?.resolve(result.file)
    })
    this.worker.on('error', err => this.fail(err))
    this.worker.on('exit', code => this.fail(new Error(`the file writer thread exited with code ${code}`)))
  }

  sink (path: string, schema: readonly OutputColumn[], n: number, groupRows: number): FileSink {
    const id = this.nextId++
    if (this.open++ === 0) this.worker.ref()
    this.post({ op: 'begin', id, schema, n, groupRows }, [])
    let done = false
    return {
      add: async values => {
        if (this.failure) throw this.failure
        const buffers = transferables(values)
        const bytes = buffers.reduce((sum, b) => sum + b.byteLength, 0) + (values.kind === 'strings' || values.kind === 'values' ? 8 * values.values.length : 0)
        this.queued += bytes
        this.post({ op: 'column', id, values, bytes }, buffers)
        if (this.queued > QUEUED_BYTES) await new Promise<void>((resolve, reject) => this.room.push({ resolve, reject }))
      },
      finish: () => {
        done = true
        return new Promise<WrittenFile>((resolve, reject) => {
          if (this.failure) {
            this.release()
            reject(this.failure)
            return
          }
          this.waiting.set(id, { resolve, reject })
          this.post({ op: 'finish', id, path }, [])
        })
      },
      abort: () => {
        if (done) return
        done = true
        this.release()
        if (!this.failure) this.post({ op: 'abort', id }, [])
      },
    }
  }

  private post (job: WriteJob, transfer: ArrayBuffer[]): void {
    this.worker.postMessage(job, transfer)
  }

  private release (): void {
    if (--this.open === 0) this.worker.unref()
  }

  private fail (err: Error): void {
    this.dead = true
    this.failure = err
    for (const waiter of this.waiting.values()) waiter.reject(err)
    this.waiting.clear()
    for (const waiter of this.room) waiter.reject(err)
    this.room = []
  }
}

let thread: WriterThread | null = null

function writerThread (): WriterThread {
  if (!thread || thread.dead) thread = new WriterThread()
  return thread
}

/** Writes the files of one compaction into a directory. */
export class FileWriters {
  private readonly dir: string
  private readonly schema: readonly OutputColumn[]
  private readonly parallel: boolean

  constructor (dir: string, schema: readonly OutputColumn[], options: { parallel: boolean }) {
    this.dir = dir
    this.schema = schema
    this.parallel = options.parallel
  }

  /** Begins file `fileName` of n rows in row groups of `groupRows`: its columns are handed over in schema order. */
  open (fileName: string, n: number, groupRows: number): FileSink {
    const path = join(this.dir, fileName)
    if (this.parallel) {
      const sink = writerThread().sink(path, this.schema, n, groupRows)
      return {
        add: async values => { await sink.add(values).catch(err => { throw asOutputError(err, fileName) }) },
        finish: async () => await sink.finish().catch(err => { throw asOutputError(err, fileName) }),
        abort: () => sink.abort(),
      }
    }
    let file: ColumnarFile | null = null
    const inline = (): ColumnarFile => (file ??= new ColumnarFile(this.schema, n, groupRows))
    return {
      add: async values => {
        try {
          inline().add(values)
        } catch (err) {
          throw asOutputError(err, fileName)
        }
      },
      finish: async () => {
        try {
          return inline().write(path)
        } catch (err) {
          throw asOutputError(err, fileName)
        }
      },
      abort: () => { file = null },
    }
  }
}

/** The buffers of a gathered column: each is the column's own, so it moves to the worker instead of being copied. */
function transferables (c: ColumnValues): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>()
  const add = (a: { buffer: ArrayBufferLike } | undefined): void => { if (a && a.buffer instanceof ArrayBuffer) buffers.add(a.buffer) }
  switch (c.kind) {
    case 'double': case 'int64': add(c.values); add(c.valid); break
    case 'bool': add(c.values); add(c.valid); break
    case 'dict': add(c.indices); break
    case 'bytes': add(c.data); add(c.offsets); add(c.valid); break
  }
  return [...buffers]
}

function asOutputError (err: unknown, fileName: string): CompactorError {
  return err instanceof CompactorError ? err : new CompactorError('CMP_ERR_OUTPUT', `${fileName}: ${err instanceof Error ? err.message : String(err)}`, { file: fileName })
}
