// Worker thread that encodes and writes output files while the main thread goes on merging. A file
// comes a column at a time (begin, column..., finish): each column is encoded as it arrives and
// acknowledged, so that the main thread holds back only while too many columns wait here.
import { parentPort } from 'node:worker_threads'
import { ColumnarFile, type OutputColumn, type WrittenFile } from './segment-file.ts'
import type { ColumnValues } from './column-writer.ts'

/** A message for the worker about file `id`. */
export type WriteJob =
  | { readonly op: 'begin', readonly id: number, readonly schema: readonly OutputColumn[], readonly n: number, readonly groupRows: number }
  | { readonly op: 'column', readonly id: number, readonly values: ColumnValues, readonly bytes: number }
  | { readonly op: 'finish', readonly id: number, readonly path: string }
  | { readonly op: 'abort', readonly id: number }

/** The worker's answers: a column encoded (its bytes no longer wait), and the file written or why it could not be. */
export type WriteResult =
  | { readonly id: number, readonly encoded: number }
  | { readonly id: number, readonly file: WrittenFile }
  | { readonly id: number, readonly error: string }

const files = new Map<number, ColumnarFile | Error>()

function message (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

parentPort?.on('message', (job: WriteJob) => {
  switch (job.op) {
    case 'begin':
      try {
        files.set(job.id, new ColumnarFile(job.schema, job.n, job.groupRows))
      } catch (err) {
        files.set(job.id, err instanceof Error ? err : new Error(message(err)))
      }
      return
    case 'column': {
      const file = files.get(job.id)
      if (file instanceof ColumnarFile) {
        try {
          file.add(job.values)
        } catch (err) {
          files.set(job.id, err instanceof Error ? err : new Error(message(err)))
        }
      }
      parentPort!.postMessage({ id: job.id, encoded: job.bytes } satisfies WriteResult)
      return
    }
    case 'finish': {
      const file = files.get(job.id)
      files.delete(job.id)
      try {
        if (!(file instanceof ColumnarFile)) throw file ?? new Error('no such file')
        parentPort!.postMessage({ id: job.id, file: file.write(job.path) } satisfies WriteResult)
      } catch (err) {
        parentPort!.postMessage({ id: job.id, error: message(err) } satisfies WriteResult)
      }
      return
    }
    case 'abort':
      files.delete(job.id)
  }
})
