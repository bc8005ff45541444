// Worker thread that writes output files (encode pages, compress, write) while the main thread
// goes on merging: one job at a time, in the order they come.
import { parentPort } from 'node:worker_threads'
import { writeParquetFile, type OutputColumn, type WrittenFile } from './segment-file.ts'
import type { ColumnValues } from './column-writer.ts'

/** A file for the worker to write. */
export interface WriteJob {
  readonly id: number
  readonly path: string
  readonly schema: readonly OutputColumn[]
  readonly columns: readonly ColumnValues[]
  readonly n: number
  readonly groupRows: number
}

/** The worker's answer: the file written, or why it could not be written. */
export type WriteResult = { readonly id: number, readonly file: WrittenFile } | { readonly id: number, readonly error: string }

parentPort?.on('message', (job: WriteJob) => {
  try {
    parentPort!.postMessage({ id: job.id, file: writeParquetFile(job.path, job.schema, job.columns, job.n, job.groupRows) } satisfies WriteResult)
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err) } satisfies WriteResult)
  }
})
