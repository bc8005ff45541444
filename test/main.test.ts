// The service as it runs: its own process on a real socket. A large multipart upload streamed by a
// real HTTP client, the tar read as it streams, a failure after the first byte aborting the
// connection, and the graceful shutdown on SIGTERM.
import t from 'tap'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parquetMetadata } from 'hyparquet'
import { readTar, until } from './support/http.ts'
import { start, stopsCleanly } from './support/server.ts'
import { writeSegment, type RowSpec } from './support/segments.ts'

const ROOT = join(import.meta.dirname, '..')
const T0 = 1_756_339_200_000

interface Streamed {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
  /** ms from the first response byte to the end (or the abort). */
  streamedMs: number
  aborted: boolean
}

/** POSTs a multipart body generated on the fly (files streamed from disk); reads the response as it streams. */
function postStreaming (base: string, parts: AsyncIterable<Buffer | string>, headers: Record<string, string> = {}): Promise<Streamed> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/compact`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, ...headers } }, res => {
      const chunks: Buffer[] = []
      let first = 0
      let aborted = false
      res.on('data', (c: Buffer) => {
        first ||= performance.now()
        chunks.push(c)
      })
      res.on('aborted', () => { aborted = true })
      res.on('error', () => { aborted = true })
      res.on('close', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), streamedMs: first ? performance.now() - first : 0, aborted: aborted || !res.complete }))
    })
    req.on('error', reject)
    pipeline(Readable.from(parts), req).catch(reject)
  })
}

const BOUNDARY = 'metric-compactor-test-boundary'

async function * multipartParts (files: string[], fields: Record<string, string> = {}, gate?: Promise<void>): AsyncGenerator<Buffer | string> {
  for (const [name, value] of Object.entries(fields)) yield `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
  for (const [i, file] of files.entries()) {
    if (i === 1 && gate) await gate
    yield `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="part${i}.parquet"\r\nContent-Type: application/vnd.apache.parquet\r\n\r\n`
    for await (const chunk of createReadStream(file)) yield chunk as Buffer
    yield '\r\n'
  }
  yield `--${BOUNDARY}--\r\n`
}

/** A segment of about 8.6 MB: 60,000 rows, uncompressed, with an incompressible attribute. */
async function bigSegment (path: string): Promise<void> {
  const rows: RowSpec[] = []
  for (let i = 0; i < 60_000; i++) {
    rows.push({ name: `metric_${String(i % 50).padStart(2, '0')}`, tid: BigInt(i % 1200) * 7919n, ts: T0 + Math.floor(i / 1200) * 10_000, values: [(i % 97) + 1], attrs: { attr_blob: createHash('sha512').update(String(i)).digest('hex') } })
  }
  rows.sort((a, b) => (a.name! < b.name! ? -1 : a.name! > b.name! ? 1 : Number(BigInt(a.tid!) - BigInt(b.tid!)) || Number(a.ts) - Number(b.ts)))
  await writeSegment(path, rows, { codec: 'UNCOMPRESSED' })
}

t.test('a large multipart upload streams in over a real socket and the tar streams out, entry by entry', async t => {
  const server = await start(t)
  const big = join(t.testdir(), 'big.parquet')
  await bigSegment(big)
  const { size } = await stat(big)
  t.ok(size > 8_000_000, `the segment is ${size} bytes`)
  const res = await postStreaming(server.base, multipartParts([big, big, big], { records_per_file: '20000' }))
  t.equal(res.status, 200, res.body.subarray(0, 200).toString())
  t.equal(res.headers['content-type'], 'application/x-tar')
  t.equal(res.headers['transfer-encoding'], 'chunked', 'streamed, not sized in advance')
  t.notOk(res.aborted, 'the tar is complete', { serviceErrors: server.logs.filter(l => Number(l.level) >= 40) })
  const entries = await readTar(res.body)
  const manifest = JSON.parse(entries.at(-1)!.data.toString())
  t.equal(entries.at(-1)!.name, 'manifest.json')
  t.equal(manifest.report.rows_in, 180_000)
  t.equal(manifest.report.rows_out, 60_000, 'three copies of each row merge into one')
  t.equal(manifest.report.sketch_merges, 120_000)
  t.equal(manifest.files.length, 3, 'split at records_per_file')
  await stopsCleanly(t, server)
})

t.test('a failure after the first byte aborts the connection: the client never gets a well-formed partial tar', async t => {
  const server = await start(t)
  const dir = t.testdir()
  const path = join(dir, 'later-rowgroup-corrupt.parquet')
  // 20 series in two row groups; the second row group's attribute pages are corrupt, and with one
  // series per file the first files are streamed before the engine reaches them
  const rows: RowSpec[] = Array.from({ length: 20 }, (_, i) => ({ name: 'cpu', tid: BigInt(i + 1), ts: T0, values: [i + 1], attrs: { attr_host: `host-${i}-`.repeat(20) } }))
  await writeSegment(path, rows, { rowGroupSize: 10 })
  const bytes = await readFile(path)
  const footer = bytes.readUInt32LE(bytes.length - 8)
  const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset + bytes.length - 8 - footer, bytes.byteOffset + bytes.length) as ArrayBuffer)
  const chunk = metadata.row_groups[1].columns.find(c => c.meta_data!.path_in_schema[0] === 'attr_host')!.meta_data!
  const chunkStart = Number(chunk.dictionary_page_offset ?? chunk.data_page_offset)
  const chunkLength = Number(chunk.total_compressed_size)
  for (let i = chunkStart + Math.floor(chunkLength / 2); i < chunkStart + chunkLength; i++) bytes[i] = 0xff - bytes[i]
  await writeFile(path, bytes)

  const res = await postStreaming(server.base, multipartParts([path], { records_per_file: '1' }))
  t.equal(res.status, 200, 'the response had started')
  t.ok(res.aborted, 'and the transfer was cut, not ended')
  t.ok(res.body.length > 512, 'some entries had arrived')
  t.notOk(res.body.includes(Buffer.from('manifest.json')), 'no manifest.json: the tar is incomplete by definition')
  // the log line comes through the service's stdout: it may arrive after the client saw the cut
  const logged = (): boolean => server.logs.some(l => l.level === 50 && String(l.msg).includes('aborting the connection') && typeof l.request_id === 'string')
  await until('the abort to be logged', logged, 5_000).catch(() => {})
  t.ok(logged(), 'logged, with the request id')
  const health = await fetch(`${server.base}/healthz`)
  t.equal(health.status, 200, 'the service is still up')
  await stopsCleanly(t, server)
})

t.test('SIGTERM: no new connections, the compaction in flight finishes, temporary files go, exit 0', async t => {
  const server = await start(t)
  const dir = t.testdir()
  const segment = join(dir, 's.parquet')
  await writeSegment(segment, [{ name: 'cpu', tid: 1n, ts: T0, values: [1] }, { name: 'cpu', tid: 2n, ts: T0, values: [2] }])
  let release!: () => void
  const gate = new Promise<void>(resolve => { release = resolve })
  const inFlight = postStreaming(server.base, multipartParts([segment, segment], {}, gate))
  await new Promise(resolve => setTimeout(resolve, 300))
  server.child.kill('SIGTERM')
  await new Promise(resolve => setTimeout(resolve, 300))
  await t.rejects(fetch(`${server.base}/healthz`), 'new connections are refused while draining')
  t.equal(server.child.exitCode, null, 'still running: a compaction is in flight')
  release()
  const res = await inFlight
  t.equal(res.status, 200)
  const entries = await readTar(res.body)
  t.equal(entries.at(-1)!.name, 'manifest.json', 'the request in flight got its whole answer')
  t.equal(await server.exited, 0)
  t.same(await readdir(server.tempDir), [], 'the temporary directory is gone')
  t.ok(server.logs.some(l => l.msg === 'closed' && l.clean === true))
})

t.test('S3_ALLOWED_BUCKETS unset: a warning at start; set: none', async t => {
  const open = await start(t)
  t.ok(open.logs.some(l => l.level === 40 && /S3_ALLOWED_BUCKETS is unset/.test(String(l.msg))), 'warned that any bucket may be used')
  const limited = await start(t, undefined, { S3_ALLOWED_BUCKETS: 'lake' })
  t.notOk(limited.logs.some(l => /S3_ALLOWED_BUCKETS/.test(String(l.msg))), 'no warning with a list')
})

t.test('SIGTERM with a request that does not finish in SHUTDOWN_TIMEOUT_MS: its connection is closed, exit 1', async t => {
  const server = await start(t, undefined, { SHUTDOWN_TIMEOUT_MS: '300' })
  const dir = t.testdir()
  const segment = join(dir, 's.parquet')
  await writeSegment(segment, [{ name: 'cpu', tid: 1n, ts: T0, values: [1] }])
  const never = new Promise<void>(() => {})
  const stuck = postStreaming(server.base, multipartParts([segment, segment], {}, never)).catch(err => err)
  await new Promise(resolve => setTimeout(resolve, 300))
  server.child.kill('SIGTERM')
  t.equal(await server.exited, 1)
  t.same(await readdir(server.tempDir), [], 'the temporary directory is gone')
  t.ok(await stuck, 'the stuck client was cut off')
})

t.test('`metric-compactor serve` starts the same service, with options over the environment', async t => {
  const lake = t.testdir()
  const server = await start(t, [join(ROOT, 'bin', 'metric-compactor.js'), 'serve', '--port', '0', '--storage-root', lake], { PORT: '1' })
  const res = await fetch(`${server.base}/readyz`)
  t.equal(res.status, 200)
  t.equal((await res.json()).status, 'ready')
  server.child.kill('SIGINT')
  t.equal(await server.exited, 0)
})

t.test('a bad setting stops the start with a message naming it', async t => {
  const child = spawn(process.execPath, [join(ROOT, 'src', 'main.ts')], { env: { PATH: process.env.PATH ?? '', PORT: 'eighty' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', d => { stderr += d })
  const code = await new Promise(resolve => child.on('exit', resolve))
  t.equal(code, 1)
  t.match(stderr, /CMP_ERR_CONFIG: .*PORT/)
})

t.test('npm start runs src/main.ts through the compile cache, whose defaults are port 8080 and ./data', async t => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
  t.equal(pkg.scripts.start, 'node --import ./src/compile-cache.js src/main.ts')
})
