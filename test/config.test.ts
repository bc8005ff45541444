// The config: one typed object from the environment, with defaults, and a clear error for a bad value.
import t from 'tap'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ENVIRONMENT, MAIN_THREAD_HEADROOM_BYTES, defaultCompactionBudget, defaultMemoryLimit, loadConfig } from '../src/config.ts'

t.test('defaults: port 8080 on 0.0.0.0, storage root ./data, 2 MiB target files and no row cap, no token', async t => {
  const config = loadConfig({})
  t.match(config, { port: 8080, host: '0.0.0.0', storageRoot: resolve('data'), targetFileBytes: 2 * 1024 * 1024, apiToken: undefined })
  t.equal(config.recordsPerFile, undefined, 'RECORDS_PER_FILE unset: no row cap')
  t.same(config.http.allowedHosts, [], 'no http(s) host is allowed unless listed')
  t.equal(config.memoryLimitBytes, defaultMemoryLimit())
  t.ok(config.memoryLimitBytes > 0)
})

t.test('every variable is read and parsed', async t => {
  const config = loadConfig({
    PORT: '9000', HOST: '127.0.0.1', STORAGE_ROOT: '/srv/lake', API_TOKEN: 'x', DEBUG_TOKEN: 'd', HTTP_ALLOWED_HOSTS: 'A.example.com, *.s3.amazonaws.com,minio:9000',
    HTTP_MAX_BYTES: '10', HTTP_TIMEOUT_MS: '20', HTTP_MAX_REDIRECTS: '1', S3_ENDPOINT: 'http://minio:9000', S3_REGION: 'eu-west-1',
    S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's', S3_FORCE_PATH_STYLE: 'true', MAX_FILE_BYTES: '5', MAX_FILES: '6', MAX_REQUEST_BYTES: '7',
    MAX_MANIFEST_BYTES: '8', MAX_TEMP_BYTES: '9', TARGET_FILE_BYTES: '65537', RECORDS_PER_FILE: '12', MEMORY_LIMIT_BYTES: '13', SHUTDOWN_TIMEOUT_MS: '14', LOG_LEVEL: 'debug', TEMP_DIR: '/scratch',
  })
  t.match(config, {
    port: 9000, host: '127.0.0.1', storageRoot: '/srv/lake', apiToken: 'x', debugToken: 'd', targetFileBytes: 65537, recordsPerFile: 12, memoryLimitBytes: 13, shutdownTimeoutMs: 14, maxTempBytes: 9, logLevel: 'debug', tempDir: '/scratch',
    http: { allowedHosts: ['a.example.com', '*.s3.amazonaws.com', 'minio:9000'], maxBytes: 10, timeoutMs: 20, maxRedirects: 1 },
    s3: { endpoint: 'http://minio:9000', region: 'eu-west-1', accessKeyId: 'k', secretAccessKey: 's', forcePathStyle: true },
    uploads: { maxFileBytes: 5, maxFiles: 6, maxRequestBytes: 7, maxManifestBytes: 8 },
  })
})

t.test('a bad value is a CMP_ERR_CONFIG naming the variable', async t => {
  for (const [name, value] of [['PORT', '80a'], ['PORT', '70000'], ['MAX_FILES', '0'], ['S3_FORCE_PATH_STYLE', 'maybe'], ['HTTP_TIMEOUT_MS', '-1'],
    ['TARGET_FILE_BYTES', '65535'], ['TARGET_FILE_BYTES', String(1024 ** 3 + 1)], ['RECORDS_PER_FILE', '0']]) {
    t.throws(() => loadConfig({ [name]: value }), { code: 'CMP_ERR_CONFIG', details: { variable: name } }, `${name}=${value}`)
  }
  t.throws(() => loadConfig({ S3_ACCESS_KEY_ID: 'k' }), { code: 'CMP_ERR_CONFIG' }, 'a key without its secret')
})

t.test('ENVIRONMENT lists every variable config.ts reads, and nothing else reads process.env', async t => {
  const source = readFileSync(join(import.meta.dirname, '..', 'src', 'config.ts'), 'utf8')
  const read = [...source.matchAll(/read\.\w+\('([A-Z0-9_]+)'/g)].map(m => m[1])
  t.same([...new Set(read)].sort(), Object.keys(ENVIRONMENT).sort())
  const offenders: string[] = []
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (path.endsWith('.ts') && !path.endsWith(join('src', 'config.ts')) && readFileSync(path, 'utf8').includes('process.env')) offenders.push(path)
    }
  }
  for (const dir of ['src', 'routes']) walk(join(import.meta.dirname, '..', dir))
  t.same(offenders, [])
})

t.test('the default compaction budget: 75 % of the limit, at most what the process leaves free, at least 1 byte', async t => {
  const MiB = 1024 ** 2
  t.equal(defaultCompactionBudget(16 * 1024 * MiB, 120 * MiB), 12 * 1024 * MiB, 'a large limit: 75 %')
  t.equal(defaultCompactionBudget(256 * MiB, 110 * MiB), 256 * MiB - 110 * MiB - MAIN_THREAD_HEADROOM_BYTES, 'a small one: the limit less the process and its headroom')
  t.equal(defaultCompactionBudget(100 * MiB, 110 * MiB), 1, 'a limit below the process itself: every compaction is over budget')
  const config = loadConfig({ MEMORY_LIMIT_BYTES: String(256 * MiB) })
  t.ok(config.compactionBudgetBytes < 256 * MiB - process.memoryUsage.rss() - MAIN_THREAD_HEADROOM_BYTES + 16 * MiB, 'loadConfig uses this process\'s RSS')
  t.equal(loadConfig({ MEMORY_LIMIT_BYTES: String(256 * MiB), COMPACTION_BUDGET_BYTES: '1000' }).compactionBudgetBytes, 1000, 'an explicit budget wins')
})
