// POST /compact: uploads (multipart) or a bundle manifest (JSON) in, compacted files out. The route
// parses and checks the request, brings the inputs to disk and hands them to delivery; it holds no
// compaction logic. Temporary files are removed whatever happens.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import multipart from '@fastify/multipart'
import { stat } from 'node:fs/promises'
import type { Ajv2020 } from 'ajv/dist/2020.js'
import type { Service } from '../src/service/service.ts'
import { DEFAULT_FREQUENCY_MS } from '../src/compaction/index.ts'
import { CompactorError } from '../src/errors.ts'
import { componentSchema, type OpenApiDocument } from '../src/openapi.ts'
import { chooseFormat } from '../src/service/accept.ts'
import { checkBearer } from '../src/service/auth.ts'
import { readBundle, type BundleManifest } from '../src/service/bundle.ts'
import { deliver } from '../src/service/deliver.ts'
import { readUpload } from '../src/service/upload.ts'
import { estimateBytes, inputFigures } from '../src/guard/estimate.ts'
import type { CompactionJob, JobRunner } from '../src/service/job.ts'
import type { Reservation } from '../src/guard/budget.ts'
import { timedOutSockets, watchUploadRate } from '../src/guard/slow-clients.ts'
import type { RequestTemp } from '../src/storage/temp.ts'

export interface CompactRouteOptions {
  service: Service
  openapi: OpenApiDocument
  ajv: Ajv2020
}

// room for the form fields besides the files
const MAX_FIELDS = 16
// multipart framing and form fields on top of the files' bytes
const MULTIPART_OVERHEAD = 64 * 1024

export default async function compactRoutes (app: FastifyInstance, { service, openapi, ajv }: CompactRouteOptions): Promise<void> {
  const { config, storage, state } = service
  const limits = config.uploads
  await app.register(multipart, {
    // one byte past our own limits, so that our checks (with their codes) fire first
    limits: { fileSize: limits.maxFileBytes + 1, files: limits.maxFiles + 1, fields: MAX_FIELDS, fieldSize: 1024, parts: limits.maxFiles + MAX_FIELDS + 1 },
  })
  app.removeContentTypeParser('text/plain')
  const formSchema = componentSchema(openapi, 'UploadForm')
  const validateForm = ajv.compile(formSchema)

  app.addHook('onRequest', async request => {
    if (config.apiToken !== undefined) checkBearer(request.headers.authorization, config.apiToken)
    if (state.draining) throw new CompactorError('CMP_ERR_DRAINING')
    // a declared size over the limit is refused before a byte of the body is read
    const length = Number(request.headers['content-length'])
    if (/^multipart\//i.test(request.headers['content-type'] ?? '') && length > limits.maxRequestBytes + MULTIPART_OVERHEAD) {
      throw new CompactorError('CMP_ERR_REQUEST_TOO_LARGE', `Content-Length ${length} exceeds MAX_REQUEST_BYTES`, { limit: limits.maxRequestBytes })
    }
  })

  app.post('/compact', {
    schema: { body: { content: { 'application/json': { schema: componentSchema(openapi, 'BundleManifest') } } } },
  }, async (request, reply) => {
    if (!request.isMultipart() && !isJson(request)) {
      throw new CompactorError('CMP_ERR_UNSUPPORTED_MEDIA_TYPE', `got ${request.headers['content-type'] ?? 'no Content-Type'}`)
    }
    const format = chooseFormat(request.headers.accept)
    const upload = request.isMultipart()
    // uploads being received hold a socket, a temporary directory and disk: only so many at once
    if (upload && state.uploadsInProgress >= config.maxUploadsInProgress) {
      throw new CompactorError('CMP_ERR_OVERLOADED', `${config.maxUploadsInProgress} uploads are being received (MAX_UPLOADS_IN_PROGRESS)`, { limit: config.maxUploadsInProgress })
    }
    // a client that goes away before its answer is complete cancels its compaction, fetches included;
    // one Node timed out (HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS) or too slow an upload ends it as 408
    const cancel = new AbortController()
    const onClose = (): void => {
      if (reply.raw.writableFinished) return
      cancel.abort(timedOutSockets.has(request.raw.socket)
        ? new CompactorError('CMP_ERR_REQUEST_TIMEOUT', 'the request was not received within REQUEST_TIMEOUT_MS')
        : new CompactorError('CMP_ERR_CANCELLED'))
    }
    reply.raw.on('close', onClose)
    let uploading = upload
    if (upload) state.uploadsInProgress++
    const endUpload = (): void => {
      if (uploading) state.uploadsInProgress--
      uploading = false
    }
    const stopWatching = upload ? watchUploadRate(request.raw, config.minUploadBytesPerS, config.uploadRateWindowMs, err => cancel.abort(err)) : () => {}
    let temp: RequestTemp | undefined
    let reservation: Reservation | undefined
    state.compactionsInFlight++
    try {
      const dir = temp = await service.temp.forRequest()
      // a client that leaves while its inputs come in ends the request at once, whatever the reading waits on
      const job = await untilAborted(upload
        ? readUpload(request.parts(), {
          temp: dir, limits, validateForm, formSchema, defaultRecordsPerFile: config.recordsPerFile, defaultTargetFileBytes: config.targetFileBytes, defaultFrequencyMs: DEFAULT_FREQUENCY_MS, delivery: { kind: format },
        })
        : readBundle(request.body as BundleManifest, { storage, temp: dir, defaultRecordsPerFile: config.recordsPerFile, targetFileBytes: config.targetFileBytes, format, signal: cancel.signal }), cancel.signal)
      endUpload()
      stopWatching()
      // the outputs take temporary disk too: room for them is held before the compaction starts
      const outputRoom = await inputBytes(job)
      dir.reserve(outputRoom)
      const held = reservation = await service.budget.reserve(await estimate(job), cancel.signal)
      // the child runs within its reservation: its engine refuses pages past it, the watchdog kills it past it
      const run: JobRunner = (job, outDir, onFile, onSpill) => service.pool.run(job, outDir, onFile, { reservedBytes: held.bytes, signal: cancel.signal, onSpill })
      service.metrics.compactionEnded(await deliver(job, reply, { storage, temp: dir, log: request.log, run, signal: cancel.signal, outputRoom }))
    } catch (err) {
      service.metrics.compactionFailed(err)
      throw err
    } finally {
      endUpload()
      stopWatching()
      reservation?.release()
      reply.raw.off('close', onClose)
      // released in the order a client can observe: its temporary files are gone before it stops counting as in flight
      try {
        await temp?.dispose()
      } finally {
        state.compactionsInFlight--
      }
    }
    return reply
  })
}

/** The promise's outcome, or the signal's reason as soon as it aborts (the promise is then left to settle unheard). */
function untilAborted<T> (promise: Promise<T>, signal: AbortSignal): Promise<T> {
  promise.catch(() => {})
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/** Bytes of the job's inputs: the room its outputs are given on temporary disk before it runs (deliver.ts counts any excess). */
async function inputBytes (job: CompactionJob): Promise<number> {
  let bytes = 0
  // a segment used in place counts the size it was checked with: its name may lead elsewhere by now
  for (const input of job.inputs) bytes += input.bytes ?? (await stat(input.path)).size
  return bytes
}

/** The memory the job's compaction is expected to need, from its inputs' footers (nothing for no inputs). */
async function estimate (job: CompactionJob): Promise<number> {
  if (job.inputs.length === 0) return 0
  const one = job.delivery.kind === 'parquet'
  return estimateBytes(await inputFigures(job.inputs), one ? Infinity : job.recordsPerFile, one ? Infinity : job.targetFileBytes)
}

function isJson (request: FastifyRequest): boolean {
  return /^application\/json\b/i.test(request.headers['content-type'] ?? '')
}
