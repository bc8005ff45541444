// Helpers for the HTTP service's tests: an app on test directories, multipart bodies, tar reading,
// the check of a response against openapi.yaml, and waiting for a condition.
import type { Test } from 'tap'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type { LightMyRequestResponse } from 'fastify'
import tarStream from 'tar-stream'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormatsPlugin from 'ajv-formats'
import { buildApp, type App } from '../../src/app.ts'
import { loadConfig, type Config } from '../../src/config.ts'
import { dereference, loadOpenApi, type JsonSchema } from '../../src/openapi.ts'
import { writeSegment, type RowSpec } from './segments.ts'

export const T0 = 1_756_339_200_000 // 2025-08-28T00:00:00Z, a bucket start at every frequency
export const DATEINT = 20250828
export const ORG = '5f2c2a1e-5a1b-4c0e-9b7e-2d1f0a3b4c5d'

/** Config for a test: storage root and temp dir in the test's directory; overrides win. */
export function testConfig (t: Test, overrides: Partial<Config> = {}): Config {
  // not t.testdir(): a test calls that for its own files, and each call empties the directory
  const dir = mkdtempSync(join(tmpdir(), 'metric-compactor-test-'))
  mkdirSync(join(dir, 'root'))
  mkdirSync(join(dir, 'tmp'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // tests write segments and decode outputs on the main thread, blocking its loop for seconds at a
  // time: the event-loop guard would refuse their compactions (test/routes/health.test.ts sets its own)
  return loadConfig({}, { storageRoot: join(dir, 'root'), tempDir: join(dir, 'tmp'), maxEventLoopDelayMs: 600_000, ...overrides })
}

/** An app (not listening) for inject(), closed when the test ends. */
export async function testApp (t: Test, overrides: Partial<Config> = {}): Promise<App> {
  const app = await buildApp(testConfig(t, overrides), { logger: false })
  t.teardown(() => app.close())
  return app
}

/** Asserts that no temporary file is left and no temporary disk is reserved. */
export async function assertNoTempFiles (t: Test, app: App, what = 'no temporary file is left'): Promise<void> {
  t.same(await readdir(app.service.temp.root), [], what)
  t.equal(app.service.temp.bytesInUse, 0, 'no temporary disk is reserved')
}

export interface FilePart {
  name: string
  data: Uint8Array
  field?: string
}

/** A multipart/form-data body and its Content-Type, built by the platform's FormData. */
export async function multipart (files: readonly FilePart[], fields: Record<string, string> = {}): Promise<{ payload: Buffer, headers: Record<string, string> }> {
  const form = new FormData()
  for (const [name, value] of Object.entries(fields)) form.append(name, value)
  for (const file of files) form.append(file.field ?? 'file', new Blob([file.data as Uint8Array<ArrayBuffer>]), file.name)
  const response = new Response(form)
  return { payload: Buffer.from(await response.arrayBuffer()), headers: { 'content-type': response.headers.get('content-type')! } }
}

/** The entries of a tar archive, in order. */
export async function readTar (data: Uint8Array): Promise<Array<{ name: string, data: Buffer }>> {
  const entries: Array<{ name: string, data: Buffer }> = []
  const extract = tarStream.extract()
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = []
      stream.on('data', (c: unknown) => chunks.push(c as Buffer))
      stream.on('end', () => {
        entries.push({ name: header.name, data: Buffer.concat(chunks) })
        next()
      })
      stream.on('error', reject)
    })
    extract.on('finish', resolve)
    extract.on('error', reject)
  })
  Readable.from([Buffer.from(data)]).pipe(extract)
  await done
  return entries
}

/** Two small segments with a key in common (one sketch merge), in dir; returns their paths. */
export async function twoSegments (dir: string, names: [string, string] = ['a.parquet', 'b.parquet']): Promise<string[]> {
  const rows: RowSpec[][] = [
    [{ name: 'cpu', tid: 1n, ts: T0, values: [1, 2] }, { name: 'cpu', tid: 2n, ts: T0, values: [3] }],
    [{ name: 'cpu', tid: 1n, ts: T0 + 5000, values: [4] }, { name: 'mem', tid: 1n, ts: T0, values: [5] }],
  ]
  const paths = names.map(n => join(dir, n))
  for (const [i, path] of paths.entries()) await writeSegment(path, rows[i])
  return paths
}

/** Validates responses against openapi.yaml: the status is documented, the body and the headers match. */
export class ContractChecker {
  readonly doc = loadOpenApi()
  private readonly ajv: Ajv2020

  constructor () {
    this.ajv = new Ajv2020({ strict: false, allErrors: true })
    ;(addFormatsPlugin as unknown as (ajv: Ajv2020) => void)(this.ajv)
  }

  /** The documented response of an operation for a status, references resolved. */
  response (method: string, path: string, status: number): JsonSchema | undefined {
    const operation = this.doc.paths[path]?.[method.toLowerCase()] as { responses?: Record<string, unknown> } | undefined
    const response = operation?.responses?.[String(status)]
    return response === undefined ? undefined : dereference(this.doc, response) as JsonSchema
  }

  /** Checks one response; returns the parsed JSON body, if it is JSON. */
  check (t: Test, method: string, path: string, res: LightMyRequestResponse | { statusCode: number, headers: Record<string, unknown>, body: string }): unknown {
    const documented = this.response(method, path, res.statusCode)
    t.ok(documented, `${method} ${path} ${res.statusCode} is documented`)
    if (!documented) return undefined
    const type = String(res.headers['content-type'] ?? '').split(';')[0].trim()
    const content = documented.content as Record<string, { schema?: JsonSchema }> | undefined
    t.ok(content?.[type], `${method} ${path} ${res.statusCode}: content type ${type} is documented`)
    let body: unknown
    if (type === 'application/json') {
      body = JSON.parse(res.body)
      const schema = content?.[type]?.schema
      if (schema) this.validate(t, schema, body, `${method} ${path} ${res.statusCode} body`)
    }
    const headers = (documented.headers ?? {}) as Record<string, { required?: boolean, schema?: JsonSchema, content?: Record<string, { schema: JsonSchema }> }>
    for (const [name, header] of Object.entries(headers)) {
      const value = res.headers[name.toLowerCase()]
      if (value === undefined) {
        if (header.required) t.fail(`${method} ${path} ${res.statusCode}: header ${name} is required`)
        continue
      }
      if (header.schema) this.validate(t, header.schema, String(value), `header ${name}`)
      const json = header.content?.['application/json']?.schema
      if (json) this.validate(t, json, JSON.parse(String(value)), `header ${name}`)
    }
    return body
  }

  /** Validates a value against a (resolved) schema as a test assertion. */
  validate (t: Test, schema: JsonSchema, value: unknown, what: string): void {
    const validate = this.ajv.compile(schema)
    const ok = validate(value)
    t.ok(ok, `${what} matches openapi.yaml`, { errors: validate.errors })
  }

  /** A component schema, references resolved. */
  schema (name: string): JsonSchema {
    return dereference(this.doc, this.doc.components.schemas[name]) as JsonSchema
  }
}

/** Waits until condition() holds, polling every 10 ms; throws naming what it waited for after ms. */
export async function until (what: string, condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}
