// The write side of a compaction, as one object: it owns the output rows the aggregator fills,
// decides where files split (only between series), turns a file's rows into its columns and has
// them encoded and written (on the writer thread, or inline), keeps at most one file in flight,
// collects each file's segment metadata as it completes, and removes every file it began when the
// compaction fails. Its callers say only "a series ended", "finish" and "abort": how columns are
// gathered and encoded can change behind it.
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { FileWriters } from './file-writers.ts'
import { OutputRows } from './output-rows.ts'
import { prepareSegmentFile, type OutputColumn, type SegmentMeta } from './segment-file.ts'

export interface SegmentWriterOptions {
  /** Directory the output files are written to. */
  readonly outDir: string
  /** The output schema: every file has all of its columns. */
  readonly schema: readonly OutputColumn[]
  /** Rows per file at most, except that a series is never split (Infinity: one file). */
  readonly recordsPerFile: number
  /** The segment id of the file-th output file (0-based, in file order). */
  readonly segmentId: (file: number) => bigint
  /** Encode and write files on the shared writer thread while the caller goes on (else inline). */
  readonly parallel: boolean
  /** Called when a file is complete in outDir, in file order; the next file waits for it. */
  readonly onFile?: (file: SegmentMeta) => void | Promise<void>
}

export class SegmentWriter {
  /** Rows waiting to be written: the aggregator appends to them. */
  readonly rows = new OutputRows()
  /** The files complete so far, in order. */
  readonly files: SegmentMeta[] = []
  private readonly options: SegmentWriterOptions
  private readonly writers: FileWriters
  /** Every output file name begun, written or not: what abort() removes. */
  private readonly begun: string[] = []
  /** First row of the series being buffered; rows before it are complete series. */
  private seriesStart = 0
  /** The file being written and delivered (onFile), if any. */
  private inFlight: Promise<void> = Promise.resolve()

  constructor (options: SegmentWriterOptions) {
    this.options = options
    this.writers = new FileWriters(options.outDir, options.schema, { parallel: options.parallel })
  }

  /**
   * A series has ended: every buffered row belongs to a complete series, the only place a file may
   * end. Past recordsPerFile, the complete series before the last one go to a file, then, if the
   * rows are still too many (one series larger than a file), that series goes to a file of its own.
   */
  async seriesEnded (): Promise<void> {
    const rows = this.rows
    if (rows.count > this.options.recordsPerFile) {
      if (this.seriesStart > 0) await this.flush(this.seriesStart)
      if (rows.count > this.options.recordsPerFile) await this.flush(rows.count)
    }
    this.seriesStart = rows.count
  }

  /** Writes the rows left (the last series has ended) and waits for every file; returns them all. */
  async finish (): Promise<SegmentMeta[]> {
    await this.seriesEnded()
    if (this.rows.count > 0) await this.flush(this.rows.count)
    await this.inFlight
    return this.files
  }

  /**
   * Removes every file begun, complete or not, once the file in flight has settled (so that it
   * cannot appear after the clean-up): a failed compaction leaves nothing that could be registered.
   */
  async abort (): Promise<void> {
    await this.inFlight.catch(() => {})
    const dir = this.options.outDir
    await Promise.all(this.begun.flatMap(name => [name, name + '.partial']).map(name => rm(join(dir, name), { force: true })))
  }

  /**
   * Gathers rows [0, n) into a file's columns, drops them from the buffer and hands the file to the
   * writers; returns once the previous file is written and delivered, so at most one file is in
   * flight and memory holds two files' columns at most.
   */
  private async flush (n: number): Promise<void> {
    const prepared = prepareSegmentFile(this.rows, n, this.options.schema, this.options.segmentId(this.begun.length))
    this.rows.dropPrefix(n)
    this.seriesStart = Math.max(0, this.seriesStart - n)
    this.begun.push(prepared.fileName)
    const previous = this.inFlight
    const written = this.writers.write(prepared)
    written.catch(() => {}) // may fail while an earlier file is still being delivered: awaited below
    this.inFlight = (async () => {
      await previous
      const file: SegmentMeta = { ...prepared.meta, file_size: await written }
      this.files.push(file)
      await this.options.onFile?.(file)
    })()
    this.inFlight.catch(() => {}) // a failure surfaces where inFlight is awaited, never as an unhandled rejection
    await previous
  }
}
