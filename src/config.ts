// Every setting of the service, one typed object built once from the environment with defaults.
// Nothing else in the project reads process.env.
import { readFileSync } from 'node:fs'
import { availableParallelism, totalmem, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { CompactorError } from './errors.ts'
import { DEFAULT_TARGET_FILE_BYTES, MAX_TARGET_FILE_BYTES, MIN_TARGET_FILE_BYTES } from './compaction/index.ts'

export interface HttpSourceConfig {
  /** Hosts segments may be fetched from (and redirected to): `host`, `host:port` or `*.domain`. */
  readonly allowedHosts: readonly string[]
  readonly maxBytes: number
  readonly timeoutMs: number
  readonly maxRedirects: number
}

export interface S3Config {
  /** Endpoint of an S3-compatible store; unset means AWS itself. */
  readonly endpoint: string | undefined
  readonly region: string
  /** Static credentials; unset means the AWS SDK's default credential chain. */
  readonly accessKeyId: string | undefined
  readonly secretAccessKey: string | undefined
  readonly forcePathStyle: boolean
  readonly maxBytes: number
  readonly timeoutMs: number
  /** Buckets segments may be read from and outputs stored in; empty means any (a warning at start). */
  readonly allowedBuckets: readonly string[]
}

export interface UploadLimits {
  readonly maxFileBytes: number
  readonly maxFiles: number
  /** All the parts of one multipart request together. */
  readonly maxRequestBytes: number
  /** Size of a JSON bundle manifest. */
  readonly maxManifestBytes: number
}

export interface Config {
  readonly host: string
  readonly port: number
  readonly logLevel: string
  /** `file:` segment URLs and outputs resolve inside this directory (absolute). */
  readonly storageRoot: string
  /** Parent of the per-process temporary directory (absolute). */
  readonly tempDir: string
  /** Bytes of temporary disk all requests together may use. */
  readonly maxTempBytes: number
  /** When set, POST /compact requires `Authorization: Bearer <token>`. */
  readonly apiToken: string | undefined
  /** When set, the debug endpoints require `Authorization: Bearer <token>`; unset, they answer loopback only. */
  readonly debugToken: string | undefined
  readonly http: HttpSourceConfig
  readonly s3: S3Config
  readonly uploads: UploadLimits
  /** Time a client has to send a whole request, body included (Node's requestTimeout): 408 past it. */
  readonly requestTimeoutMs: number
  /** Time a client has to send a request's headers (Node's headersTimeout): 408 past it. */
  readonly headersTimeoutMs: number
  /** Slowest upload accepted, in bytes per second over each window of uploadRateWindowMs; 0: no minimum. */
  readonly minUploadBytesPerS: number
  readonly uploadRateWindowMs: number
  /** Multipart uploads being received at once at most; past it, 503 CMP_ERR_OVERLOADED. */
  readonly maxUploadsInProgress: number
  /** Bytes per output file at most (but for a file of one series); inputs at 80 % of it or more are already compacted. */
  readonly targetFileBytes: number
  /** Rows per output file at most as well, when set. */
  readonly recordsPerFile: number | undefined
  /** The process's memory limit: the container's, else 75 % of the machine's. */
  readonly memoryLimitBytes: number
  /** Bytes compactions together may reserve (their estimates): 3/4 of the memory limit by default. */
  readonly compactionBudgetBytes: number
  /** Requests that may wait for memory budget at once; past it, 503 CMP_ERR_OVERLOADED. */
  readonly maxQueue: number
  /** How long a request waits for memory budget before 503 CMP_ERR_OVERLOADED. */
  readonly queueTimeoutMs: number
  /** Compaction child processes (compactions running at once at most). */
  readonly workers: number
  /** A compaction running longer is stopped (its worker terminated): 422 CMP_ERR_COMPACTION_TIMEOUT. */
  readonly compactionTimeoutMs: number
  /** How long a shutdown waits for in-flight compactions. */
  readonly shutdownTimeoutMs: number
  /** Mean event-loop delay over a sample past which new compactions are refused and /readyz is 503. */
  readonly maxEventLoopDelayMs: number
  /** How often RSS and event-loop delay are sampled for that guard. */
  readonly pressureSampleIntervalMs: number
}

/** Environment variables the service reads, each with what it sets (README and deploy/ use these names). */
export const ENVIRONMENT: Readonly<Record<string, string>> = {
  PORT: 'listen port (8080)',
  HOST: 'listen address (0.0.0.0)',
  LOG_LEVEL: 'pino level (info)',
  STORAGE_ROOT: 'directory that file: URLs resolve in (./data)',
  TEMP_DIR: 'parent of the temporary directory (the OS temp dir)',
  MAX_TEMP_BYTES: 'temporary disk budget for all requests (10 GiB)',
  API_TOKEN: 'bearer token required by POST /compact (unset: none)',
  DEBUG_TOKEN: 'bearer token required by /debug/* (unset: /debug/* answers loopback connections only)',
  HTTP_ALLOWED_HOSTS: 'comma-separated hosts http(s) segments may come from: host, host:port, *.domain (none)',
  HTTP_MAX_BYTES: 'largest http(s) segment (1 GiB)',
  HTTP_TIMEOUT_MS: 'time limit of one http(s) fetch, redirects included (60000)',
  HTTP_MAX_REDIRECTS: 'redirects followed, each to an allowed host (3)',
  S3_ENDPOINT: 'S3-compatible endpoint (AWS when unset)',
  S3_REGION: 'S3 region (us-east-1)',
  S3_ACCESS_KEY_ID: 'S3 access key (the AWS SDK default chain when unset)',
  S3_SECRET_ACCESS_KEY: 'S3 secret key',
  S3_FORCE_PATH_STYLE: 'path-style S3 URLs, for MinIO and the like (false)',
  S3_MAX_BYTES: 'largest s3 segment (1 GiB)',
  S3_TIMEOUT_MS: 'time limit of one s3 transfer (60000)',
  S3_ALLOWED_BUCKETS: 'buckets s3:// inputs and outputs may use, comma-separated (any, with a warning at start, when unset)',
  MAX_FILE_BYTES: 'largest uploaded file (1 GiB)',
  MAX_FILES: 'most files in one upload (1000)',
  MAX_REQUEST_BYTES: 'largest multipart request, all parts (4 GiB)',
  MAX_MANIFEST_BYTES: 'largest JSON bundle manifest (8 MiB)',
  REQUEST_TIMEOUT_MS: 'time a client has to send a whole request, body included, before 408 CMP_ERR_REQUEST_TIMEOUT (600000)',
  HEADERS_TIMEOUT_MS: 'time a client has to send the request headers before 408 CMP_ERR_REQUEST_TIMEOUT (60000; at most REQUEST_TIMEOUT_MS)',
  MIN_UPLOAD_BYTES_PER_S: 'slowest upload accepted, measured over each UPLOAD_RATE_WINDOW_MS, before 408 CMP_ERR_REQUEST_TIMEOUT (16384; 0: no minimum)',
  UPLOAD_RATE_WINDOW_MS: 'the window MIN_UPLOAD_BYTES_PER_S is measured over (10000)',
  MAX_UPLOADS_IN_PROGRESS: 'multipart uploads received at once at most, before 503 CMP_ERR_OVERLOADED (32)',
  TARGET_FILE_BYTES: `bytes per output file at most, split between series; inputs at 80 % of it or more are already compacted (${DEFAULT_TARGET_FILE_BYTES}; ${MIN_TARGET_FILE_BYTES} to ${MAX_TARGET_FILE_BYTES})`,
  RECORDS_PER_FILE: 'rows per output file at most as well (no row cap when unset)',
  MEMORY_LIMIT_BYTES: 'memory limit of the service and its children (the cgroup limit, else 75 % of total memory)',
  COMPACTION_BUDGET_BYTES: 'memory compactions may reserve together (75 % of MEMORY_LIMIT_BYTES, at most what the process leaves free)',
  MAX_QUEUE: 'requests waiting for memory budget at most (64)',
  QUEUE_TIMEOUT_MS: 'longest wait for memory budget (30000)',
  WORKERS: 'compaction child processes (the number of cores)',
  COMPACTION_TIMEOUT_MS: 'longest run of one compaction before its child is killed (600000)',
  SHUTDOWN_TIMEOUT_MS: 'how long SIGTERM waits for in-flight compactions (30000)',
  MAX_EVENT_LOOP_DELAY_MS: 'mean event-loop delay past which new compactions get 503 and /readyz turns 503 (1000)',
  PRESSURE_SAMPLE_INTERVAL_MS: 'how often RSS and event-loop delay are sampled for that guard (1000)',
}

type Env = Readonly<Record<string, string | undefined>>

const GiB = 1024 ** 3
const MiB = 1024 ** 2

/** Builds the config from an environment (process.env by default); throws CMP_ERR_CONFIG naming a bad variable. */
export function loadConfig (env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const read = new EnvReader(env)
  const memoryLimitBytes = overrides.memoryLimitBytes ?? read.integer('MEMORY_LIMIT_BYTES', defaultMemoryLimit(), 1)
  const config: Config = {
    host: read.text('HOST', '0.0.0.0'),
    port: read.integer('PORT', 8080, 0, 65535),
    logLevel: read.text('LOG_LEVEL', 'info'),
    storageRoot: resolve(read.text('STORAGE_ROOT', './data')),
    tempDir: resolve(read.text('TEMP_DIR', tmpdir())),
    maxTempBytes: read.integer('MAX_TEMP_BYTES', 10 * GiB),
    apiToken: read.optional('API_TOKEN'),
    debugToken: read.optional('DEBUG_TOKEN'),
    http: {
      allowedHosts: read.list('HTTP_ALLOWED_HOSTS'),
      maxBytes: read.integer('HTTP_MAX_BYTES', GiB),
      timeoutMs: read.integer('HTTP_TIMEOUT_MS', 60_000, 1),
      maxRedirects: read.integer('HTTP_MAX_REDIRECTS', 3, 0, 20),
    },
    s3: {
      endpoint: read.optional('S3_ENDPOINT'),
      region: read.text('S3_REGION', 'us-east-1'),
      accessKeyId: read.optional('S3_ACCESS_KEY_ID'),
      secretAccessKey: read.optional('S3_SECRET_ACCESS_KEY'),
      forcePathStyle: read.boolean('S3_FORCE_PATH_STYLE', false),
      maxBytes: read.integer('S3_MAX_BYTES', GiB),
      timeoutMs: read.integer('S3_TIMEOUT_MS', 60_000, 1),
      allowedBuckets: read.list('S3_ALLOWED_BUCKETS'),
    },
    uploads: {
      maxFileBytes: read.integer('MAX_FILE_BYTES', GiB, 1),
      maxFiles: read.integer('MAX_FILES', 1000, 1),
      maxRequestBytes: read.integer('MAX_REQUEST_BYTES', 4 * GiB, 1),
      maxManifestBytes: read.integer('MAX_MANIFEST_BYTES', 8 * MiB, 1),
    },
    requestTimeoutMs: read.integer('REQUEST_TIMEOUT_MS', 600_000, 1),
    headersTimeoutMs: read.integer('HEADERS_TIMEOUT_MS', 60_000, 1),
    minUploadBytesPerS: read.integer('MIN_UPLOAD_BYTES_PER_S', 16 * 1024, 0),
    uploadRateWindowMs: read.integer('UPLOAD_RATE_WINDOW_MS', 10_000, 100, 3_600_000),
    maxUploadsInProgress: read.integer('MAX_UPLOADS_IN_PROGRESS', 32, 1),
    targetFileBytes: read.integer('TARGET_FILE_BYTES', DEFAULT_TARGET_FILE_BYTES, MIN_TARGET_FILE_BYTES, MAX_TARGET_FILE_BYTES),
    recordsPerFile: read.optionalInteger('RECORDS_PER_FILE', 1),
    memoryLimitBytes,
    compactionBudgetBytes: read.integer('COMPACTION_BUDGET_BYTES', defaultCompactionBudget(memoryLimitBytes), 1),
    maxQueue: read.integer('MAX_QUEUE', 64, 0),
    queueTimeoutMs: read.integer('QUEUE_TIMEOUT_MS', 30_000, 1),
    workers: read.integer('WORKERS', availableParallelism(), 1, 1024),
    compactionTimeoutMs: read.integer('COMPACTION_TIMEOUT_MS', 600_000, 1),
    shutdownTimeoutMs: read.integer('SHUTDOWN_TIMEOUT_MS', 30_000, 0),
    maxEventLoopDelayMs: read.integer('MAX_EVENT_LOOP_DELAY_MS', 1000, 1),
    pressureSampleIntervalMs: read.integer('PRESSURE_SAMPLE_INTERVAL_MS', 1000, 10, 60_000),
    ...overrides,
  }
  if ((config.s3.accessKeyId === undefined) !== (config.s3.secretAccessKey === undefined)) {
    throw new CompactorError('CMP_ERR_CONFIG', 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together', { variable: 'S3_SECRET_ACCESS_KEY' })
  }
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    throw new CompactorError('CMP_ERR_CONFIG', `HEADERS_TIMEOUT_MS (${config.headersTimeoutMs}) cannot exceed REQUEST_TIMEOUT_MS (${config.requestTimeoutMs})`, { variable: 'HEADERS_TIMEOUT_MS' })
  }
  return config
}

/** The cgroup memory limit when there is one, else 75 % of total memory (like GOMEMLIMIT). */
export function defaultMemoryLimit (): number {
  for (const path of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const limit = Number(readFileSync(path, 'utf8').trim())
      // cgroup v1 reports "no limit" as a huge number
      if (Number.isSafeInteger(limit) && limit > 0 && limit < totalmem()) return limit
    } catch {
      // no such cgroup file: try the next, then fall back
    }
  }
  return Math.floor(totalmem() * 0.75)
}

/** Memory the service keeps outside the budget on top of its own baseline: uploads, responses, the heap's slack. */
export const MAIN_THREAD_HEADROOM_BYTES = 32 * MiB

/**
 * The default compaction budget: 75 % of the memory limit, but no more than what the process leaves
 * free (the limit less its RSS now, with its modules loaded, less MAIN_THREAD_HEADROOM_BYTES), so that a
 * small limit is not overbooked (at 256 MiB, 75 % plus a ~110 MiB process would be 300 MiB). At least
 * 1 byte: a budget that small refuses every compaction with 413 CMP_ERR_OVER_BUDGET, which says the
 * limit is too small.
 */
export function defaultCompactionBudget (memoryLimitBytes: number, baselineBytes = process.memoryUsage.rss()): number {
  return Math.max(1, Math.min(Math.floor(memoryLimitBytes * 0.75), memoryLimitBytes - baselineBytes - MAIN_THREAD_HEADROOM_BYTES))
}

/** The temporary directory of this process, under config.tempDir. */
export function processTempPrefix (config: Config): string {
  return join(config.tempDir, 'metric-compactor-')
}

class EnvReader {
  private readonly env: Env
  constructor (env: Env) {
    this.env = env
  }

  optional (name: string): string | undefined {
    const value = this.env[name]?.trim()
    return value === undefined || value === '' ? undefined : value
  }

  text (name: string, fallback: string): string {
    return this.optional(name) ?? fallback
  }

  /** An integer in [min, max], or undefined when the variable is unset. */
  optionalInteger (name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
    return this.optional(name) === undefined ? undefined : this.integer(name, 0, min, max)
  }

  integer (name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const value = this.optional(name)
    if (value === undefined) return fallback
    const n = /^\d+$/.test(value) ? Number(value) : NaN
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new CompactorError('CMP_ERR_CONFIG', `${name} must be an integer in [${min}, ${max}], got '${value}'`, { variable: name })
    }
    return n
  }

  boolean (name: string, fallback: boolean): boolean {
    const value = this.optional(name)?.toLowerCase()
    if (value === undefined) return fallback
    if (['1', 'true', 'yes'].includes(value)) return true
    if (['0', 'false', 'no'].includes(value)) return false
    throw new CompactorError('CMP_ERR_CONFIG', `${name} must be true or false, got '${value}'`, { variable: name })
  }

  list (name: string): string[] {
    return (this.optional(name) ?? '').split(',').map(s => s.trim().toLowerCase()).filter(s => s !== '')
  }
}
