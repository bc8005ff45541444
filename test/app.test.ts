// The app as a whole: a request id on every log line and in X-Request-Id, catalogued errors only,
// and a temporary directory that close() removes.
import t from 'tap'
import { existsSync } from 'node:fs'
import { Writable } from 'node:stream'
import { buildApp, toCatalogued } from '../src/app.ts'
import { CompactorError } from '../src/errors.ts'
import { multipart, testConfig } from './support/http.ts'

t.test('every log line of a request carries its id, which X-Request-Id echoes', async t => {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      callback()
    },
  })
  const app = await buildApp(testConfig(t), { logger: { level: 'debug', stream } })
  t.teardown(() => app.close())
  const body = await multipart([{ name: 'x.parquet', data: Buffer.from('nope') }])
  const given = await app.inject({ method: 'POST', url: '/compact', payload: body.payload, headers: { ...body.headers, 'x-request-id': 'trace-42' } })
  t.equal(given.headers['x-request-id'], 'trace-42', 'the caller\'s id is kept')
  const generated = await app.inject({ url: '/nowhere' })
  t.match(generated.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'else a UUID')
  const ofRequest = lines.filter(l => l.request_id === 'trace-42')
  t.ok(ofRequest.length >= 3, 'incoming, the error, completed')
  t.ok(ofRequest.some(l => l.code === 'CMP_ERR_BAD_PARQUET'), 'the error line names the code')
  const requestLines = lines.filter(l => l.req !== undefined || l.res !== undefined || l.code !== undefined)
  t.ok(requestLines.every(l => typeof l.request_id === 'string'), 'no request line without an id')
})

t.test('probes are not logged line by line', async t => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _e, cb) { lines.push(String(chunk)); cb() } })
  const app = await buildApp(testConfig(t), { logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  await app.inject({ url: '/healthz' })
  await app.inject({ url: '/readyz' })
  t.same(lines, [])
})

t.test('errors that are not catalogued map to the catalog, never to a stack trace', async t => {
  t.equal(toCatalogued(new CompactorError('CMP_ERR_NO_INPUTS')).code, 'CMP_ERR_NO_INPUTS')
  t.equal(toCatalogued(new Error('boom')).code, 'CMP_ERR_INTERNAL')
  t.equal(toCatalogued(new Error('boom')).message, 'internal error', 'the message of an unknown error is not shown')
  t.equal(toCatalogued(Object.assign(new Error('x'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 })).code, 'CMP_ERR_UNSUPPORTED_MEDIA_TYPE')
  t.equal(toCatalogued(Object.assign(new Error('x'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 })).code, 'CMP_ERR_REQUEST_TOO_LARGE')
  t.equal(toCatalogued(Object.assign(new Error('x'), { code: 'FST_SOMETHING', statusCode: 400 })).status, 400)
})

t.test('close() removes the temporary directory', async t => {
  const app = await buildApp(testConfig(t), { logger: false })
  const root = app.service.temp.root
  const temp = await app.service.temp.forRequest()
  t.ok(existsSync(temp.dir))
  await app.close()
  t.notOk(existsSync(root))
})
