// Load test of the memory guards: starts the service with a small MEMORY_LIMIT_BYTES and fires many
// concurrent uploads at it. Every answer must be a correct 200 (a tar ending in manifest.json with
// the expected rows) or a 503 with Retry-After; /healthz must answer throughout; the process tree's
// peak memory (the service and its compaction children, PSS summed, sampled every 20 ms) must stay
// at or under the limit; no request may go unanswered. Prints the figures as JSON and exits 1 when
// a criterion fails.
//
//   node bench/load.ts [--requests 200] [--concurrency 32] [--memory-limit 536870912] [DIR]
//
// DIR holds the parquet files each request uploads (default: the compact-test-0001 fixtures).
import { spawn } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { treePssBytes } from '../src/worker/memory.ts'
import { request } from 'node:http'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

const MiB = 1024 * 1024
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    requests: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '32' },
    'memory-limit': { type: 'string', default: String(512 * MiB) },
  },
})
const requests = Number(values.requests)
const concurrency = Number(values.concurrency)
const memoryLimit = Number(values['memory-limit'])
const dir = positionals[0] ?? join(import.meta.dirname, '..', '..', 'shared', 'fixtures', 'lakerunner', 'compact-test-0001')
const files = readdirSync(dir).filter(f => f.endsWith('.parquet')).sort().map(name => ({ name, data: readFileSync(join(dir, name)) }))

/** The multipart body every request sends (the same files each time). */
async function body (): Promise<{ payload: Buffer, contentType: string }> {
  const form = new FormData()
  for (const f of files) form.append('file', new Blob([f.data]), f.name)
  const response = new Response(form)
  return { payload: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type')! }
}

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, body: Buffer, ms: number }

function send (port: number, method: string, path: string, payload?: Buffer, contentType?: string): Promise<Answer> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: payload ? { 'content-type': contentType, 'content-length': payload.length } : {} }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => res.complete ? resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), ms: performance.now() - started }) : reject(new Error('truncated')))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(payload)
  })
}

/** The last entry of a tar (ustar: 512-byte headers, data padded to 512). */
function lastTarEntry (tar: Buffer): { name: string, data: Buffer } | null {
  let offset = 0
  let last: { name: string, data: Buffer } | null = null
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512)
    if (header.every(b => b === 0)) break
    const name = header.subarray(0, 100).toString().replace(/\0.*$/s, '')
    const size = parseInt(header.subarray(124, 136).toString().replace(/\0.*$/s, '').trim(), 8)
    last = { name, data: tar.subarray(offset + 512, offset + 512 + size) }
    offset += 512 + Math.ceil(size / 512) * 512
  }
  return last
}

function vm (pid: number, field: string): number {
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024
}


const percentile = (sorted: number[], p: number): number => sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]

// started as `npm start` starts it: through the compile cache (src/compile-cache.js)
const src = join(import.meta.dirname, '..', 'src')
const server = spawn(process.execPath, ['--import', pathToFileURL(join(src, 'compile-cache.js')).href, join(src, 'main.ts')], {
  env: { ...process.env, PORT: '0', HOST: '127.0.0.1', MEMORY_LIMIT_BYTES: String(memoryLimit), LOG_LEVEL: 'info' },
  stdio: ['ignore', 'pipe', 'inherit'],
})
const port = await new Promise<number>((resolve, reject) => {
  let out = ''
  server.stdout!.on('data', (c: Buffer) => {
    out += c.toString()
    const m = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)
    if (m) resolve(Number(m[1]))
  })
  server.on('exit', code => reject(new Error(`server exited ${code}`)))
})
server.stdout!.resume()

const { payload, contentType } = await body()
let expectedRowsOut: number | null = null
const latencies: number[] = []
const counts = { requests, ok: 0, overloaded_503: 0, bad: 0, lost: 0 }
const codes: Record<string, number> = {}
const problems: string[] = []

let health = { checks: 0, failures: 0, max_ms: 0 }
let polling = true
const healthPoller = (async () => {
  while (polling) {
    try {
      const res = await send(port, 'GET', '/healthz')
      health.checks++
      health.max_ms = Math.max(health.max_ms, Math.round(res.ms))
      if (res.status !== 200) health.failures++
    } catch {
      health.failures++
    }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
})()

let treePeak = 0
const treeSampler = setInterval(() => { treePeak = Math.max(treePeak, treePssBytes(server.pid!)) }, 20)

const started = performance.now()
let next = 0
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < requests) {
    next++
    let res: Answer
    try {
      res = await send(port, 'POST', '/compact', payload, contentType)
    } catch (err) {
      counts.lost++
      problems.push(`lost: ${(err as Error).message}`)
      continue
    }
    latencies.push(res.ms)
    if (res.status === 200) {
      const manifest = lastTarEntry(res.body)
      const rowsOut = manifest?.name === 'manifest.json' ? JSON.parse(manifest.data.toString()).report.rows_out as number : -1
      expectedRowsOut ??= rowsOut
      if (rowsOut < 0 || rowsOut !== expectedRowsOut) { counts.bad++; problems.push(`200 with rows_out ${rowsOut}`) } else counts.ok++
    } else if (res.status === 503 && /^\d+$/.test(String(res.headers['retry-after']))) {
      counts.overloaded_503++
      const code = JSON.parse(res.body.toString()).code as string
      codes[code] = (codes[code] ?? 0) + 1
    } else {
      counts.bad++
      problems.push(`${res.status} ${res.body.toString().slice(0, 200)}`)
    }
  }
}))
const seconds = (performance.now() - started) / 1000
polling = false
await healthPoller
clearInterval(treeSampler)
const peak = vm(server.pid!, 'VmHWM')
server.kill('SIGTERM')
await new Promise(resolve => server.once('exit', resolve))

latencies.sort((a, b) => a - b)
const result = {
  memory_limit_mib: memoryLimit / MiB,
  files_per_request: files.length,
  bytes_per_request: payload.length,
  concurrency,
  ...counts,
  codes_503: codes,
  rows_out_per_200: expectedRowsOut,
  seconds: Number(seconds.toFixed(1)),
  p50_ms: Math.round(percentile(latencies, 0.5)),
  p99_ms: Math.round(percentile(latencies, 0.99)),
  peak_tree_mib: Number((treePeak / MiB).toFixed(1)),
  peak_tree_bound_mib: memoryLimit / MiB,
  peak_service_rss_mib: Number((peak / MiB).toFixed(1)),
  healthz: health,
  problems: problems.slice(0, 10),
}
console.log(JSON.stringify(result, null, 2))
const pass = counts.bad === 0 && counts.lost === 0 && counts.ok + counts.overloaded_503 === requests && treePeak <= memoryLimit && health.failures === 0
console.log(pass ? 'PASS' : 'FAIL')
process.exitCode = pass ? 0 : 1
