// Clients too slow to wait for, over a real socket: headers or a whole request past their time
// limits, an upload trickling under MIN_UPLOAD_BYTES_PER_S, and more uploads at once than
// MAX_UPLOADS_IN_PROGRESS. Each gets its catalogued answer and releases everything it held.
import t, { type Test } from 'tap'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { createServer, type IncomingMessage } from 'node:http'
import { readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Config } from '../../src/config.ts'
import { DATEINT, ORG, assertNoTempFiles, multipart, testApp, twoSegments, until } from '../support/http.ts'
import type { App } from '../../src/app.ts'

async function listening (t: Test, overrides: Partial<Config>): Promise<{ app: App, port: number }> {
  const app = await testApp(t, overrides)
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, port: (app.server.address() as AddressInfo).port }
}

/** A raw connection: what was written to it, everything the server answered, and when it closed. */
function rawClient (port: number): { socket: Socket, answer: Promise<string> } {
  const socket = connect(port, '127.0.0.1')
  let received = ''
  socket.on('data', d => { received += d })
  socket.on('error', () => {})
  const answer = new Promise<string>(resolve => socket.on('close', () => resolve(received)))
  return { socket, answer }
}

/** Status and JSON body of a raw HTTP/1.1 answer. */
function parse (answer: string): { status: number, headers: string, body: { code?: string } } {
  const [head, body] = answer.split('\r\n\r\n', 2)
  return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]), headers: head.toLowerCase(), body: /content-type: application\/json/i.test(head) ? JSON.parse(body) : {} }
}

async function uploadBody (t: Test): Promise<{ head: Buffer, payload: Buffer }> {
  const paths = await twoSegments(t.testdir())
  const body = await multipart(await Promise.all(paths.map(async (p, i) => ({ name: `${i}.parquet`, data: await readFile(p) }))))
  const head = Buffer.from(`POST /compact HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: ${body.headers['content-type']}\r\ncontent-length: ${body.payload.length}\r\nconnection: close\r\n\r\n`)
  return { head, payload: body.payload }
}

async function released (t: Test, app: App): Promise<void> {
  await until('the request to end', () => app.service.state.compactionsInFlight === 0 && app.service.state.uploadsInProgress === 0)
  t.equal(app.service.state.compactionsInFlight, 0, 'nothing in flight')
  t.equal(app.service.state.uploadsInProgress, 0, 'no upload slot held')
  t.equal(app.service.temp.bytesInUse, 0, 'no temporary bytes held')
  await assertNoTempFiles(t, app)
}

t.test('an upload trickling under MIN_UPLOAD_BYTES_PER_S gets 408 CMP_ERR_REQUEST_TIMEOUT and its connection closed', async t => {
  const { app, port } = await listening(t, { minUploadBytesPerS: 1000, uploadRateWindowMs: 300 })
  const { head, payload } = await uploadBody(t)
  const { socket, answer } = rawClient(port)
  socket.write(Buffer.concat([head, payload.subarray(0, 200)]))
  // one byte every 50 ms: 20 bytes a second, against the 1000 required
  let sent = 200
  const trickle = setInterval(() => { if (!socket.destroyed && sent < payload.length) socket.write(payload.subarray(sent, ++sent)) }, 50)
  t.teardown(() => clearInterval(trickle))
  const started = Date.now()
  const { status, headers, body } = parse(await answer)
  clearInterval(trickle)
  t.equal(status, 408)
  t.equal(body.code, 'CMP_ERR_REQUEST_TIMEOUT')
  t.match(headers, /connection: close/)
  t.ok(Date.now() - started < 5000, 'within a few windows, not at the end of the body')
  await released(t, app)
})

t.test('an upload at a sane pace is not cut by MIN_UPLOAD_BYTES_PER_S, even across several windows', async t => {
  const { app, port } = await listening(t, { minUploadBytesPerS: 1000, uploadRateWindowMs: 200 })
  const { head, payload } = await uploadBody(t)
  const { socket, answer } = rawClient(port)
  socket.write(head)
  // 512 bytes every 100 ms (5 KB/s) over several windows
  for (let sent = 0; sent < payload.length; sent += 512) {
    socket.write(payload.subarray(sent, sent + 512))
    if (sent + 512 < payload.length) await sleep(100)
  }
  t.ok(payload.length > 5 * 512, 'the body spans several windows')
  const { status } = parse(await answer)
  t.equal(status, 200)
  await released(t, app)
})

t.test('headers not complete within HEADERS_TIMEOUT_MS: 408 in the catalog\'s shape', async t => {
  const { app, port } = await listening(t, { headersTimeoutMs: 300, requestTimeoutMs: 60_000 })
  const { socket, answer } = rawClient(port)
  socket.write('POST /compact HTTP/1.1\r\nhost: 127.0.0.1\r\n')
  const { status, body } = parse(await answer)
  t.equal(status, 408)
  t.equal(body.code, 'CMP_ERR_REQUEST_TIMEOUT')
  await released(t, app)
})

t.test('a body not complete within REQUEST_TIMEOUT_MS: 408, and the request it began releases everything', async t => {
  const { app, port } = await listening(t, { headersTimeoutMs: 500, requestTimeoutMs: 1000, minUploadBytesPerS: 0 })
  const { head, payload } = await uploadBody(t)
  const { socket, answer } = rawClient(port)
  socket.write(Buffer.concat([head, payload.subarray(0, payload.length >> 1)]))
  await until('the upload to begin', () => app.service.state.uploadsInProgress === 1, 5000)
  t.equal(app.service.state.compactionsInFlight, 1, 'the upload has begun')
  const { status, body } = parse(await answer)
  t.equal(status, 408)
  t.equal(body.code, 'CMP_ERR_REQUEST_TIMEOUT')
  await released(t, app)
  const failures = await app.inject({ url: '/metrics' })
  t.match(failures.body, /metric_compactor_compaction_errors_total\{code="CMP_ERR_REQUEST_TIMEOUT"\} 1/, 'counted as a timeout, not as a client that left')
})

t.test('past MAX_UPLOADS_IN_PROGRESS an upload is 503 CMP_ERR_OVERLOADED with Retry-After; the slot comes back', async t => {
  const { app, port } = await listening(t, { maxUploadsInProgress: 1, minUploadBytesPerS: 0 })
  const { head, payload } = await uploadBody(t)
  const first = rawClient(port)
  first.socket.write(Buffer.concat([head, payload.subarray(0, 100)]))
  await until('the upload to begin', () => app.service.state.uploadsInProgress === 1, 5000)

  const second = rawClient(port)
  second.socket.write(Buffer.concat([head, payload]))
  const refused = parse(await second.answer)
  t.equal(refused.status, 503)
  t.equal(refused.body.code, 'CMP_ERR_OVERLOADED')
  t.match(refused.headers, /retry-after: \d+/)
  t.match(refused.headers, /connection: close/, 'the unread body is not waited for')

  // a bundle manifest is not an upload: it is not counted against the slots
  const bundle = await app.inject({ method: 'POST', url: '/compact', payload: { organization_id: ORG, dateint: DATEINT, frequency_ms: 10000, instance_num: 0, segments: [] } })
  t.not(bundle.json().code, 'CMP_ERR_OVERLOADED')

  first.socket.destroy()
  await released(t, app)
  const third = rawClient(port)
  third.socket.write(Buffer.concat([head, payload]))
  t.equal(parse(await third.answer).status, 200, 'the slot is free again once the first client left')
  await released(t, app)
})

for (const scheme of ['http', 's3'] as const) {
  t.test(`a client that leaves while its ${scheme} segments are fetched stops the fetches`, async t => {
    // an upstream (for s3, an endpoint answering path-style GETs) that sends a few bytes, then
    // nothing: only the cancellation can end its transfers before their 10-minute time limit
    const closed: Promise<void>[] = []
    const upstream = createServer((req: IncomingMessage, res) => {
      closed.push(new Promise(resolve => res.on('close', () => resolve())))
      res.writeHead(200, { 'content-length': String(1 << 20), 'content-type': 'application/octet-stream' })
      res.write(Buffer.alloc(1024))
    })
    await new Promise<void>(resolve => upstream.listen(0, '127.0.0.1', resolve))
    t.teardown(() => {
      upstream.closeAllConnections()
      upstream.close()
    })
    const upstreamPort = (upstream.address() as AddressInfo).port
    const { app, port } = await listening(t, {
      http: { allowedHosts: ['127.0.0.1'], maxBytes: 1 << 30, timeoutMs: 600_000, maxRedirects: 0 },
      s3: { endpoint: `http://127.0.0.1:${upstreamPort}`, region: 'us-east-1', accessKeyId: 'key', secretAccessKey: 'secret', forcePathStyle: true, maxBytes: 1 << 30, timeoutMs: 600_000, allowedBuckets: ['bucket'] },
    })
    const url = (i: number): string => scheme === 'http' ? `http://127.0.0.1:${upstreamPort}/${i}.parquet` : `s3://bucket/${i}.parquet`
    const manifest = JSON.stringify({
      organization_id: ORG, dateint: DATEINT, frequency_ms: 10000, instance_num: 0,
      segments: [1, 2, 3].map(i => ({ segment_id: String(i), url: url(i) })),
    })
    const { socket, answer } = rawClient(port)
    socket.write(`POST /compact HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(manifest)}\r\n\r\n${manifest}`)
    await until('the fetches to begin', () => closed.length === 3, 5000)
    t.equal(closed.length, 3, 'the three fetches are running')
    socket.destroy()
    await answer
    const allClosed = Promise.all(closed).then(() => true)
    t.ok(await Promise.race([allClosed, sleep(5000).then(() => false)]), 'every upstream transfer is ended within 5 s of the client leaving')
    await released(t, app)
  })
}
