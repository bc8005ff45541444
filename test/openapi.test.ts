// openapi.yaml is the contract: it is served as /openapi.json, its error codes are the catalog's,
// its routes are the app's, and every (route, status) it documents is produced here and validated.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { cpuProfiling } from '../src/debug/thread-profile.ts'
import { ERRORS } from '../src/errors.ts'
import { DEFAULT_FREQUENCY_MS, FREQUENCIES } from '../src/compaction/index.ts'
import { ContractChecker, DATEINT, ORG, multipart, testApp, twoSegments } from './support/http.ts'
import type { App } from '../src/app.ts'

const contract = new ContractChecker()

t.test('the document is OpenAPI 3.1 and every $ref in it resolves', async t => {
  t.equal(contract.doc.openapi, '3.1.0')
  const refs = JSON.stringify(contract.doc).match(/"\$ref":"[^"]+"/g) ?? []
  t.ok(refs.length > 10)
  for (const path of Object.keys(contract.doc.paths)) {
    for (const method of Object.keys(contract.doc.paths[path])) {
      const responses = (contract.doc.paths[path][method] as { responses: Record<string, unknown> }).responses
      for (const status of Object.keys(responses)) t.ok(contract.response(method, path, Number(status)), `${method} ${path} ${status} resolves`)
    }
  }
})

t.test('FrequencyMs is the engine\'s accepted bucket widths and default', async t => {
  const schema = contract.schema('FrequencyMs') as { enum: number[], default: number }
  t.same(schema.enum, FREQUENCIES)
  t.equal(schema.default, DEFAULT_FREQUENCY_MS)
})

t.test('the Error schema lists exactly the catalog\'s codes', async t => {
  const documented = (contract.schema('Error').properties as { code: { enum: string[] } }).code.enum
  t.same([...documented].sort(), Object.keys(ERRORS).sort())
})

t.test('GET /openapi.json serves the document', async t => {
  const app = await testApp(t)
  const res = await app.inject({ url: '/openapi.json' })
  t.equal(res.statusCode, 200)
  contract.check(t, 'GET', '/openapi.json', res)
  t.same(res.json(), contract.doc)
})

t.test('the app serves exactly the documented routes', async t => {
  const app = await testApp(t)
  for (const [path, operations] of Object.entries(contract.doc.paths)) {
    for (const method of Object.keys(operations)) t.ok(app.hasRoute({ method: method.toUpperCase() as 'GET', url: path }), `${method.toUpperCase()} ${path} is served`)
  }
  for (const method of ['GET', 'PUT', 'DELETE']) {
    const res = await app.inject({ method: method as 'GET', url: '/compact' })
    t.equal(res.statusCode, 404, `${method} /compact is not a route`)
    t.equal(res.json().code, 'CMP_ERR_NOT_FOUND')
  }
})

/** Produces a response with the given status for each documented (route, status); returns them. */
async function produce (app: App, key: string): Promise<{ statusCode: number, headers: Record<string, unknown>, body: string }> {
  const root = app.service.config.storageRoot
  await mkdir(join(root, 'seg'), { recursive: true })
  const [a] = await twoSegments(join(root, 'seg'))
  const upload = await multipart([{ name: 'a.parquet', data: await readFile(a) }])
  const manifest = (extra: object = {}, segments: object[] = [{ segment_id: '1', url: 'file:seg/a.parquet' }]) =>
    ({ organization_id: ORG, dateint: DATEINT, frequency_ms: 10000, instance_num: 0, segments, ...extra })
  const post = (body: { payload: Buffer | object, headers?: Record<string, string> }) => app.inject({ method: 'POST', url: '/compact', ...body })
  switch (key) {
    case 'GET /healthz 200': return app.inject({ url: '/healthz' })
    case 'GET /readyz 200': return app.inject({ url: '/readyz' })
    case 'GET /readyz 503': {
      app.service.state.draining = true
      const res = await app.inject({ url: '/readyz' })
      app.service.state.draining = false
      return res
    }
    case 'GET /openapi.json 200': return app.inject({ url: '/openapi.json' })
    case 'GET /metrics 200': return app.inject({ url: '/metrics' })
    case 'GET /debug/vars 200': return app.inject({ url: '/debug/vars' })
    case 'GET /debug/vars 401': return (await testApp(t, { debugToken: 'secret' })).inject({ url: '/debug/vars' })
    case 'GET /debug/vars 403': return app.inject({ url: '/debug/vars', remoteAddress: '10.0.0.1' })
    case 'GET /debug/pprof/ 200': return app.inject({ url: '/debug/pprof/' })
    case 'GET /debug/pprof/ 401': return (await testApp(t, { debugToken: 'secret' })).inject({ url: '/debug/pprof/' })
    case 'GET /debug/pprof/ 403': return app.inject({ url: '/debug/pprof/', remoteAddress: '10.0.0.1' })
    case 'GET /debug/pprof/profile 200': return app.inject({ url: '/debug/pprof/profile?seconds=1' })
    case 'GET /debug/pprof/profile 400': return app.inject({ url: '/debug/pprof/profile?seconds=0' })
    case 'GET /debug/pprof/profile 401': return (await testApp(t, { debugToken: 'secret' })).inject({ url: '/debug/pprof/profile' })
    case 'GET /debug/pprof/profile 403': return app.inject({ url: '/debug/pprof/profile', remoteAddress: '10.0.0.1' })
    case 'GET /debug/pprof/profile 409': {
      const first = app.inject({ url: '/debug/pprof/profile?seconds=1' })
      while (!cpuProfiling()) await sleep(5)
      const res = await app.inject({ url: '/debug/pprof/profile?seconds=1' })
      await first
      return res
    }
    case 'GET /debug/pprof/heap 200': return app.inject({ url: '/debug/pprof/heap' })
    case 'GET /debug/pprof/heap 401': return (await testApp(t, { debugToken: 'secret' })).inject({ url: '/debug/pprof/heap' })
    case 'GET /debug/pprof/heap 403': return app.inject({ url: '/debug/pprof/heap', remoteAddress: '10.0.0.1' })
    case 'POST /compact 200': return post(upload)
    case 'POST /compact 400': return post({ payload: manifest({ frequency_ms: 1 }) })
    case 'POST /compact 401': {
      const secured = await testApp(t, { apiToken: 'token' })
      return secured.inject({ method: 'POST', url: '/compact', ...upload })
    }
    case 'POST /compact 403': return post({ payload: manifest({}, [{ segment_id: '1', url: 'file:../x.parquet' }]) })
    case 'POST /compact 406': return post({ payload: upload.payload, headers: { ...upload.headers, accept: 'text/csv' } })
    case 'POST /compact 408': {
      // over a real socket: an upload that stops after its first bytes
      const slow = await testApp(t, { minUploadBytesPerS: 1000, uploadRateWindowMs: 200 })
      await slow.listen({ port: 0, host: '127.0.0.1' })
      return await new Promise((resolve, reject) => {
        const req = request({ port: (slow.server.address() as AddressInfo).port, host: '127.0.0.1', method: 'POST', path: '/compact', headers: { ...upload.headers, 'content-length': upload.payload.length } }, res => {
          let body = ''
          res.on('data', d => { body += d })
          res.on('end', () => resolve({ statusCode: res.statusCode!, headers: res.headers, body }))
        })
        req.on('error', reject)
        req.write(upload.payload.subarray(0, 100))
      })
    }
    case 'POST /compact 413': {
      const small = await testApp(t, { uploads: { maxFileBytes: 10, maxFiles: 1, maxRequestBytes: 100, maxManifestBytes: 100 } })
      return small.inject({ method: 'POST', url: '/compact', ...upload })
    }
    case 'POST /compact 415': return post({ payload: Buffer.from('x'), headers: { 'content-type': 'text/csv' } })
    case 'POST /compact 422': {
      // every segment already compacted (its declared size): nothing for the one file
      const empty = manifest({}, [{ segment_id: '1', url: 'file:seg/a.parquet', file_size: 1 << 30 }])
      return post({ payload: empty, headers: { accept: 'application/vnd.apache.parquet' } })
    }
    case 'POST /compact 500': {
      await mkdir(join(root, 'lake', 'db'), { recursive: true })
      await writeFile(join(root, 'lake', 'db', ORG), 'in the way')
      return post({ payload: manifest({ collector_name: 'c', output: { url_prefix: 'file:lake' } }) })
    }
    case 'POST /compact 502': return post({ payload: manifest({}, [{ segment_id: '1', url: 'http://127.0.0.1:1/a.parquet' }]) })
    case 'POST /compact 503': {
      app.service.state.draining = true
      const res = await post(upload)
      app.service.state.draining = false
      return res
    }
    case 'POST /compact 504': {
      const server = createServer(() => {}) // never answers
      await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
      t.teardown(() => {
        server.closeAllConnections()
        server.close()
      })
      const port = (server.address() as { port: number }).port
      const slow = await testApp(t, { http: { allowedHosts: ['127.0.0.1'], maxBytes: 1 << 20, timeoutMs: 200, maxRedirects: 0 } })
      return slow.inject({ method: 'POST', url: '/compact', payload: manifest({}, [{ segment_id: '1', url: `http://127.0.0.1:${port}/a.parquet` }]) })
    }
  }
  throw new Error(`no way to produce ${key}`)
}

t.test('every documented route and status is produced, and the response matches the document', async t => {
  const documented: string[] = []
  for (const [path, operations] of Object.entries(contract.doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      for (const status of Object.keys((operation as { responses: object }).responses)) documented.push(`${method.toUpperCase()} ${path} ${status}`)
    }
  }
  t.equal(documented.length, 32, 'POST /compact: 13 statuses; /healthz, /readyz (2), /openapi.json, /metrics, /debug/vars (3), /debug/pprof/ (3), profile (5), heap (3)')
  for (const key of documented) {
    const app = await testApp(t, { http: { allowedHosts: ['127.0.0.1'], maxBytes: 1 << 20, timeoutMs: 5000, maxRedirects: 0 } })
    const res = await produce(app, key)
    const [method, path, status] = key.split(' ')
    t.equal(res.statusCode, Number(status), key)
    contract.check(t, method, path, res)
  }
})

t.test('openapi.yaml passes Redocly\'s recommended lint (redocly.yaml; the one exemption in .redocly.lint-ignore.yaml)', async t => {
  const root = join(import.meta.dirname, '..')
  const result = spawnSync(process.execPath, [join(root, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js'), 'lint', 'openapi.yaml', '--format=stylish'], {
    cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  })
  t.equal(result.status, 0, `redocly lint exits 0:\n${result.stdout}${result.stderr}`)
  t.notMatch(result.stdout + result.stderr, /\berror\b/, 'no error')
})
