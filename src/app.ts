// Builds the Fastify instance: logging with a request id on every line, the error catalog as the only
// error shape, request validation by openapi.yaml's schemas, the temporary space, and the routes.
// main.ts listens; tests use inject().
import { randomUUID } from 'node:crypto'
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Config } from './config.ts'
import { processTempPrefix } from './config.ts'
import { CompactorError } from './errors.ts'
import { MemoryBudget } from './guard/budget.ts'
import { CompactionPool } from './guard/pool.ts'
import { registerPressure, type PressureProbe } from './guard/pressure.ts'
import { toJson } from './json.ts'
import { ServiceMetrics } from './observe/metrics.ts'
import { loadOpenApi, schemaError, schemaValidator } from './openapi.ts'
import { Storage } from './storage/index.ts'
import { TempSpace } from './storage/temp.ts'
import compactRoutes from '../routes/compact.ts'
import debugVarsRoutes from '../routes/debug-vars.ts'
import healthRoutes from '../routes/health.ts'
import metricsRoutes from '../routes/metrics.ts'
import openapiRoutes from '../routes/openapi.ts'
import pprofRoutes from '../routes/pprof.ts'

/** What the routes share: settings, adapters, temporary space and the service's state. */
export interface Service {
  readonly config: Config
  readonly storage: Storage
  readonly temp: TempSpace
  readonly state: ServiceState
  /** The memory compactions reserve before they start, and the queue of those waiting for it. */
  readonly budget: MemoryBudget
  /** The worker threads compactions run on. */
  readonly pool: CompactionPool
  /** RSS over MEMORY_LIMIT_BYTES or event-loop lag: new compactions get 503 and /readyz turns 503. */
  readonly pressure: PressureProbe
  /** The app's Prometheus registry: compactions and requests are counted into it. */
  readonly metrics: ServiceMetrics
}

export interface ServiceState {
  /** Set on SIGTERM/SIGINT: /readyz turns 503 and new compactions are refused. */
  draining: boolean
  compactionsInFlight: number
}

export interface AppOptions {
  /** Fastify's logger option (pino); defaults to JSON lines at config.logLevel. */
  readonly logger?: FastifyServerOptions['logger']
  /** The compaction worker's entry module (tests give one that can hold a job). */
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
    // draining is answered by our own hook, in the error catalog's shape
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  })
  const ajv = schemaValidator()
  app.setValidatorCompiler(({ schema }) => ajv.compile(schema))

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  // before the routes, so that its hook runs before theirs: only POST /compact is refused under pressure
  const pressure = await registerPressure(app, config, (method, url) => method === 'POST' && url.split('?')[0] === '/compact')
  const service: Service = {
    config,
    pressure,
    storage: new Storage(config),
    temp: await TempSpace.create(processTempPrefix(config), config.maxTempBytes),
    state: { draining: false, compactionsInFlight: 0 },
    budget: new MemoryBudget({ limitBytes: config.compactionBudgetBytes, maxQueue: config.maxQueue, queueTimeoutMs: config.queueTimeoutMs }),
    pool: new CompactionPool({ size: config.workers, heapLimitMb: workerHeapLimitMb(config), timeoutMs: config.compactionTimeoutMs, script: options.workerScript }),
    metrics: new ServiceMetrics(() => service),
  }
  app.addHook('onClose', async () => {
    await service.pool.close()
    await service.temp.close()
    service.storage.close()
  })

  app.setErrorHandler((error: FastifyError | CompactorError, request, reply) => {
    const catalogued = toCatalogued(error)
    if (catalogued.status >= 500) request.log.error({ err: error }, catalogued.message)
    else request.log.info({ code: catalogued.code }, catalogued.message)
    if (catalogued.status === 401) reply.header('www-authenticate', 'Bearer')
    if (catalogued.status === 503) reply.header('retry-after', '5')
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

/**
 * Old-generation heap of one worker, in MiB: its share of the compaction budget, at least 64. The
 * engine's bulk data are typed arrays, outside this heap; a tight heap makes V8 collect early
 * instead of growing every worker's heap to the whole budget.
 */
export function workerHeapLimitMb (config: Config): number {
  return Math.max(64, Math.ceil(config.compactionBudgetBytes / config.workers / 1024 ** 2))
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
