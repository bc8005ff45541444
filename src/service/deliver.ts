// Running a job and answering with its files, in the format the request chose: a tar stream (files as
// they are produced, manifest.json last), one parquet file, or files stored under a URL prefix and a
// JSON manifest. Nothing is sent before the engine has opened and validated every input, and once a
// byte is sent a failure aborts the connection instead of ending a well-formed partial response.
import { open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import type { FastifyBaseLogger, FastifyReply } from 'fastify'
import type { CompactionReport, SegmentMeta } from '../compaction/index.ts'
import { CompactorError, asCompactorError } from '../errors.ts'
import { toJson } from '../json.ts'
import type { Storage } from '../storage/index.ts'
import type { RequestTemp } from '../storage/temp.ts'
import { PARQUET, TAR } from './accept.ts'
import type { CompactionJob, JobRunner } from './job.ts'
import { TarWriter } from './tar.ts'

export interface DeliveryContext {
  readonly storage: Storage
  readonly temp: RequestTemp
  readonly log: FastifyBaseLogger
  /** Where the compaction runs: the worker pool in the service. */
  readonly run: JobRunner
  /** The request's cancellation: ends a store's transfers when the client leaves. */
  readonly signal?: AbortSignal
  /** Temporary bytes already reserved for the output files; files past it reserve the rest as they are reported. */
  readonly outputRoom?: number
}

/**
 * Output files count towards MAX_TEMP_BYTES: each reported file takes its bytes from the room the
 * request reserved for them, and past that room from the shared budget (413 alone too large, 503
 * CMP_ERR_TEMP_SPACE when others hold it). Bytes stay reserved until the request's directory goes.
 */
function outputSpace (temp: RequestTemp, room = 0): (file: SegmentMeta) => void {
  let used = 0
  return file => {
    const past = Math.max(0, used + file.file_size - Math.max(room, used))
    if (past > 0) temp.reserve(past)
    used += file.file_size
  }
}

/** The runs a compaction writes (inputs out of order) take their bytes from the shared budget: 413 alone too large, 503 CMP_ERR_TEMP_SPACE when others hold it. */
function spill (temp: RequestTemp): (bytes: number) => void {
  return bytes => temp.reserve(bytes)
}

/**
 * Runs the job and sends its result on reply as the job's delivery says. Resolves to the report once
 * the answer is sent, or to the error that aborted it after its first byte; throws before that.
 */
export async function deliver (job: CompactionJob, reply: FastifyReply, ctx: DeliveryContext): Promise<CompactionReport | CompactorError> {
  switch (job.delivery.kind) {
    case 'tar': return await deliverTar(job, reply, ctx)
    case 'parquet': return await deliverParquet(job, reply, ctx)
    case 'store': return await deliverStored(job, reply, ctx, job.delivery.urlPrefix, job.delivery.collectorName)
  }
}

/** The tar stream: headers go out with the first finished file; manifest.json is the last entry. */
async function deliverTar (job: CompactionJob, reply: FastifyReply, { temp, log, run, outputRoom }: DeliveryContext): Promise<CompactionReport | CompactorError> {
  const take = outputSpace(temp, outputRoom)
  const body = new PassThrough()
  const tar = new TarWriter(body)
  let started = false
  const start = (): void => {
    if (started) return
    started = true
    reply.code(200).type(TAR).header('content-disposition', 'attachment; filename="compaction.tar"').send(body)
  }
  try {
    const result = await run(job, temp.dir, async file => {
      take(file)
      start()
      const path = join(temp.dir, file.file_name)
      await tar.addFile(file.file_name, path, file.file_size)
      await rm(path)
    }, spill(temp))
    start()
    // every temporary file is gone before the archive is complete
    await temp.dispose()
    await tar.addBytes('manifest.json', Buffer.from(toJson(result) + '\n'))
    await tar.finish()
    body.end()
    return result.report
  } catch (err) {
    if (!started) throw err
    const failure = asCompactorError(err, 'CMP_ERR_INTERNAL', 'compaction failed mid-stream')
    log.error({ err: failure }, 'compaction failed after the response started: aborting the connection')
    body.destroy(err as Error)
    return failure
  }
}

/** One parquet file (no splitting), the report summary in X-Compaction-Report. */
async function deliverParquet (job: CompactionJob, reply: FastifyReply, { temp, run, outputRoom }: DeliveryContext): Promise<CompactionReport> {
  const take = outputSpace(temp, outputRoom)
  const { files, report } = await run(job, temp.dir, async file => take(file), spill(temp))
  const file = files[0]
  if (file === undefined) throw new CompactorError('CMP_ERR_EMPTY_RESULT', 'every input row was dropped or no segment needed compacting', { report })
  const handle = await open(join(temp.dir, file.file_name))
  // the open handle keeps the bytes readable: the directory can go before the first byte is sent
  await temp.dispose()
  const summary = {
    segment_id: file.segment_id,
    rows_in: report.rows_in,
    rows_aggregated: report.rows_aggregated,
    rows_out: report.rows_out,
    dropped: report.dropped,
    rows_outside_dateint: report.rows_outside_dateint,
    replaced_utf8: report.replaced_utf8,
    unsigned_tid: report.unsigned_tid,
    sketch_merges: report.sketch_merges,
  }
  reply.code(200).type(PARQUET)
    .header('content-length', file.file_size)
    .header('content-disposition', `attachment; filename="${file.file_name}"`)
    .header('x-compaction-report', toJson(summary, 0))
    .send(handle.createReadStream())
  return report
}

/**
 * Files stored under the URL prefix at their lakerunner object keys; the body is the JSON manifest.
 * A failure removes nothing already placed: stored files are the same bytes any retry would write,
 * and only what a 200 lists is registered by the caller (the stores never replace a final name).
 */
async function deliverStored (job: CompactionJob, reply: FastifyReply, { storage, temp, run, signal, outputRoom }: DeliveryContext, prefix: string, collector: string): Promise<CompactionReport> {
  const take = outputSpace(temp, outputRoom)
  const store = storage.storeFor(prefix)
  const stored = new Map<bigint, { key: string, url: string }>()
  const result = await run(job, temp.dir, async file => {
    take(file)
    const key = objectKey(job, collector, file)
    const path = join(temp.dir, file.file_name)
    let url: string
    try {
      url = await store.put(prefix, key, path, signal)
    } catch (err) {
      throw asCompactorError(err, 'CMP_ERR_OUTPUT', `storing ${key}`, { key })
    }
    stored.set(file.segment_id, { key, url })
    await rm(path)
  }, spill(temp))
  const files = result.files.map(f => ({ ...f, ...stored.get(f.segment_id)! }))
  await temp.dispose()
  reply.code(200).type('application/json').send(toJson({ files, report: result.report }))
  return result.report
}

/** `db/{organization_id}/{collector_name}/{dateint}/metrics/{HH}/tbl_{segment_id}.parquet`, HH the UTC hour of the first bucket. */
export function objectKey (job: CompactionJob, collector: string, file: SegmentMeta): string {
  const hour = String(new Date(file.ts_range[0]).getUTCHours()).padStart(2, '0')
  return `db/${job.organizationId}/${collector}/${job.dateint}/metrics/${hour}/${file.file_name}`
}
