// Credentials in segment URLs (userinfo, presigned signatures) never appear in an answer or a log
// line, whichever check refuses the URL.
import t from 'tap'
import { Writable } from 'node:stream'
import { buildApp } from '../../src/app.ts'
import { DATEINT, ORG, testConfig } from '../support/http.ts'

const SECRET = 'hunter2secret'
const SIGNATURE = 'sigX9secret'

t.test('a credential in a refused URL is in no answer and no log line', async t => {
  let logged = ''
  const stream = new Writable({ write (chunk, _encoding, done) { logged += chunk.toString(); done() } })
  const app = await buildApp(testConfig(t, { http: { allowedHosts: ['allowed.example'], maxBytes: 1 << 20, timeoutMs: 2000, maxRedirects: 0 } }), { logger: { level: 'debug', stream } })
  t.teardown(() => app.close())
  const urls = [
    `http://user:${SECRET}@denied.example/seg.parquet?X-Amz-Signature=${SIGNATURE}`,
    `https://user:${SECRET}@[not a host/seg.parquet?X-Amz-Signature=${SIGNATURE}`,
    `gopher://user:${SECRET}@denied.example/seg.parquet?sig=${SIGNATURE}`,
    `ftp://user:${SECRET}@denied.example/seg.parquet`,
    `s3://bucket/key.parquet?X-Amz-Signature=${SIGNATURE}#${SECRET}`,
  ]
  for (const url of urls) {
    const res = await app.inject({ method: 'POST', url: '/compact', payload: { organization_id: ORG, dateint: DATEINT, frequency_ms: 10000, instance_num: 1, segments: [{ segment_id: '1', url }] } })
    t.ok(res.statusCode >= 400 && res.statusCode < 500, `${res.statusCode} ${res.json().code}`)
    t.notMatch(res.body, SECRET, 'no password in the answer')
    t.notMatch(res.body, SIGNATURE, 'no signature in the answer')
  }
  for (const prefix of [`https://user:${SECRET}@lake.example/out?sig=${SIGNATURE}`, `nope://user:${SECRET}@x/y`]) {
    const res = await app.inject({ method: 'POST', url: '/compact', payload: { organization_id: ORG, dateint: DATEINT, frequency_ms: 10000, instance_num: 1, collector_name: 'c', output: { url_prefix: prefix }, segments: [{ segment_id: '1', url: 'file:a.parquet' }] } })
    t.equal(res.statusCode, 400)
    t.notMatch(res.body, SECRET)
    t.notMatch(res.body, SIGNATURE)
  }
  t.ok(logged.length > 0, 'the requests were logged')
  t.notMatch(logged, SECRET, 'no password in the log')
  t.notMatch(logged, SIGNATURE, 'no signature in the log')
})
