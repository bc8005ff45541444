// Builds the Fastify instance: logging with a request id on every line, the error catalog as the only
// error shape, request validation by openapi.yaml's schemas, the temporary space, and the routes.
// main.ts listens; tests use inject().
import { randomUUID } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Config } from './config.ts'
import { processTempPrefix } from './config.ts'
import { CompactorError } from './errors.ts'
import { MemoryBudget } from './guard/budget.ts'
import { registerPressure } from './guard/pressure.ts'
import { timedOutSockets } from './guard/slow-clients.ts'
import { toJson } from './json.ts'
import { ServiceMetrics } from './observe/metrics.ts'
import type { Service } from './service/service.ts'
import { loadOpenApi, schemaError, schemaValidator } from './openapi.ts'
import { Storage } from './storage/index.ts'
import { TempSpace } from './storage/temp.ts'
import { CompactionPool, WATCHDOG_SLACK_BYTES } from './worker/pool.ts'
import compactRoutes from '../routes/compact.ts'
import debugVarsRoutes from '../routes/debug-vars.ts'
import healthRoutes from '../routes/health.ts'
import metricsRoutes from '../routes/metrics.ts'
import openapiRoutes from '../routes/openapi.ts'
import pprofRoutes from '../routes/pprof.ts'

export interface AppOptions {
  /** Fastify's logger option (pino); defaults to JSON lines at config.logLevel. */
  readonly logger?: FastifyServerOptions['logger']
  /** The compaction child's entry module (tests give one that can hold or break a job). */
  readonly workerScript?: URL
}

export type App = FastifyInstance & { service: Service }

/** Builds the app (not listening); close() removes its temporary directory. */
export async function buildApp (config: Config, options: AppOptions = {}): Promise<App> {
  const app: FastifyInstance = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    requestIdHeader: 'x-request-id',
    logController: new LogController({
      requestIdLogLabel: 'request_id',
      // probes come every few seconds: their lines would drown the rest
      disableRequestLogging: request => request.url === '/healthz' || request.url === '/readyz',
    }),
    genReqId: () => randomUUID(),
    bodyLimit: config.uploads.maxManifestBytes,
    // a client has this long to send its whole request (408 in the catalog's shape, clientErrorHandler)
    requestTimeout: config.requestTimeoutMs,
    http: { headersTimeout: config.headersTimeoutMs, connectionsCheckingInterval: CONNECTION_CHECK_INTERVAL_MS },
    clientErrorHandler: clientError,
    // draining is answered by our own hook, in the error catalog's shape
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  })
  const ajv = schemaValidator()
  app.setValidatorCompiler(({ schema }) => ajv.compile(schema))

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  const temp = await TempSpace.create(processTempPrefix(config), config.maxTempBytes)
  const budget = new MemoryBudget({ limitBytes: compactionBudget(config, ASSUMED_CHILD_BASELINE_BYTES), maxQueue: config.maxQueue, queueTimeoutMs: config.queueTimeoutMs })
  const pool = new CompactionPool({
    size: config.workers,
    heapLimitMb: childHeapLimitMb(config),
    timeoutMs: config.compactionTimeoutMs,
    // a child that stays grown past its share of the budget after a job holds memory others need
    recycleAboveBytes: () => Math.max(WATCHDOG_SLACK_BYTES, budget.limitBytes / config.workers),
    onBaseline: bytes => budget.setLimit(compactionBudget(config, bytes)),
    script: options.workerScript,
  })
  const storage = new Storage(config)
  app.addHook('onClose', async () => {
    await pool.close()
    await temp.close()
    storage.close()
  })
  // the budget follows the children's measured baseline: known before the first request
  await pool.started(CHILD_START_WAIT_MS)
  // before the routes, so that its hook runs before theirs: only POST /compact is refused under pressure
  const pressure = await registerPressure(app, config, (method, route) => method === 'POST' && route === '/compact', () => pool.treeBytes())
  const service: Service = {
    config,
    pressure,
    storage,
    temp,
    state: { draining: false, compactionsInFlight: 0, uploadsInProgress: 0 },
    budget,
    pool,
    metrics: new ServiceMetrics(() => service),
  }

  app.setErrorHandler((error: FastifyError | CompactorError, request, reply) => {
    const catalogued = toCatalogued(error)
    if (catalogued.status >= 500) request.log.error({ err: error }, catalogued.message)
    else request.log.info({ code: catalogued.code }, catalogued.message)
    if (catalogued.status === 401) reply.header('www-authenticate', 'Bearer')
    if (catalogued.status === 503) reply.header('retry-after', '5')
    // the rest of a body too slow to wait for, or refused before it was read, is not read: the connection ends with the answer
    if (catalogued.code === 'CMP_ERR_REQUEST_TIMEOUT' || (catalogued.status === 503 && !request.raw.complete)) reply.header('connection', 'close')
    return reply.code(catalogued.status).type('application/json').send(toJson(catalogued.toJSON(), 0))
  })
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).type('application/json').send(toJson(new CompactorError('CMP_ERR_NOT_FOUND', `${request.method} ${request.url.split('?')[0]}`).toJSON(), 0))
  })

  app.decorate('service', service)
  const openapi = loadOpenApi()
  await app.register(metricsRoutes, { service })
  await app.register(healthRoutes, { service })
  await app.register(openapiRoutes, { openapi })
  await app.register(compactRoutes, { service, openapi, ajv })
  await app.register(pprofRoutes, { service })
  await app.register(debugVarsRoutes, { service })
  return app as App
}

/** How often Node checks connections against HEADERS_TIMEOUT_MS and REQUEST_TIMEOUT_MS (its default is 30 s). */
const CONNECTION_CHECK_INTERVAL_MS = 1000

/**
 * Errors Node meets on a connection before Fastify routes a request: a request too slow to arrive is
 * answered 408 CMP_ERR_REQUEST_TIMEOUT, anything else unparsable 400 CMP_ERR_BAD_REQUEST, in the
 * catalog's shape; then the socket is closed (a route still waiting on the body is cancelled by it).
 */
function clientError (this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
  if (timedOut) timedOutSockets.add(socket)
  const error = timedOut
    ? new CompactorError('CMP_ERR_REQUEST_TIMEOUT', 'the request was not received within HEADERS_TIMEOUT_MS or REQUEST_TIMEOUT_MS')
    : err.code === 'HPE_HEADER_OVERFLOW'
      ? new CompactorError('CMP_ERR_REQUEST_TOO_LARGE', 'the request headers are too large')
      : new CompactorError('CMP_ERR_BAD_REQUEST', 'the request is not valid HTTP')
  this.log.info({ code: error.code, reason: err.code }, 'client error')
  // an answer already begun on this socket cannot be followed by another
  const answering = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true
  if (socket.writable && !answering) {
    const body = toJson(error.toJSON(), 0)
    socket.write(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}

/** How long buildApp waits for the children to start; past it the app serves, and requests wait for a child. */
const CHILD_START_WAIT_MS = 10_000

/** A child's idle memory until the first one is measured (PSS of an idle child here: ~40 MiB). */
export const ASSUMED_CHILD_BASELINE_BYTES = 48 * 1024 * 1024

/**
 * What compactions may reserve together: COMPACTION_BUDGET_BYTES less, for each child, its idle
 * baseline and the watchdog's slack, so that children at their limits keep the tree under
 * MEMORY_LIMIT_BYTES (README "Memory guards"). At least 1 byte: below, every compaction is 413.
 */
export function compactionBudget (config: Config, childBaselineBytes: number): number {
  return Math.max(1, config.compactionBudgetBytes - config.workers * (childBaselineBytes + WATCHDOG_SLACK_BYTES))
}

/**
 * Old-generation heap of one child, in MiB: the whole budget, at least 64. A backstop only: the
 * watchdog stops a child at its reservation, which is never more than the budget.
 */
export function childHeapLimitMb (config: Config): number {
  return Math.max(64, Math.ceil(config.compactionBudgetBytes / 1024 ** 2))
}

/** Maps any error a request can meet to the catalog: Fastify's and its plugins' by code, unknown ones to 500. */
export function toCatalogued (error: unknown): CompactorError {
  if (error instanceof CompactorError) return error
  const e = error as FastifyError & { validation?: unknown }
  if (Array.isArray(e.validation)) return schemaError(e.validation)
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return new CompactorError('CMP_ERR_UNSUPPORTED_MEDIA_TYPE', e.message)
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return new CompactorError('CMP_ERR_REQUEST_TOO_LARGE', 'the JSON body exceeds MAX_MANIFEST_BYTES')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY': return new CompactorError('CMP_ERR_BAD_JSON', e.message)
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE': return new CompactorError('CMP_ERR_UNSUPPORTED_MEDIA_TYPE', e.message)
  }
  if (e instanceof SyntaxError && e.statusCode === 400) return new CompactorError('CMP_ERR_BAD_JSON', e.message)
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new CompactorError('CMP_ERR_BAD_REQUEST', e.message, e.code ? { fastify_code: e.code } : undefined)
  }
  return new CompactorError('CMP_ERR_INTERNAL')
}
