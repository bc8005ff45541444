// GET /debug/pprof/ (an index, like Go's), /debug/pprof/profile?seconds=N (CPU) and
// /debug/pprof/heap (sampled live heap): gzipped pprof protobuf, for `go tool pprof`. The service
// and its compaction children are in each profile, told apart by a `thread` label. Behind the debug
// access rule: DEBUG_TOKEN as a bearer token when set, loopback connections only otherwise.
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { Service } from '../src/service/service.ts'
import { captureCpuProfile, captureHeapProfile } from '../src/debug/pprof.ts'
import { holdHeapSampling, releaseHeapSampling } from '../src/debug/thread-profile.ts'
import { CompactorError } from '../src/errors.ts'
import { checkDebugAccess } from '../src/service/auth.ts'

export const DEFAULT_SECONDS = 30
export const MAX_SECONDS = 300

export default async function pprofRoutes (app: FastifyInstance, { service }: { service: Service }): Promise<void> {
  const { config, pool } = service
  // sampled from the start, so a heap profile shows what was allocated before anyone asked
  holdHeapSampling()
  // a capture in progress ends at once when the app closes (its answer covers the time so far)
  const closing = new AbortController()
  app.addHook('preClose', async () => closing.abort())
  app.addHook('onClose', async () => releaseHeapSampling())

  app.addHook('onRequest', async request => {
    checkDebugAccess(request.headers.authorization, request.socket.remoteAddress, config.debugToken)
  })

  app.get('/debug/pprof/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(INDEX))

  app.get('/debug/pprof/profile', async (request, reply) => {
    const seconds = parseSeconds((request.query as { seconds?: unknown }).seconds)
    // a client that goes away ends the capture early
    const gone = new AbortController()
    const onClose = (): void => gone.abort()
    reply.raw.once('close', onClose)
    try {
      const profile = await captureCpuProfile(pool, seconds, AbortSignal.any([closing.signal, gone.signal]))
      return sendProfile(reply, profile, 'profile.pb.gz')
    } finally {
      reply.raw.off('close', onClose)
    }
  })

  app.get('/debug/pprof/heap', async (_request, reply) => sendProfile(reply, await captureHeapProfile(pool), 'heap.pb.gz'))
}

/** The `seconds` query parameter: an integer from 1 to MAX_SECONDS, DEFAULT_SECONDS when absent. */
export function parseSeconds (value: unknown): number {
  if (value === undefined) return DEFAULT_SECONDS
  const seconds = typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : NaN
  if (!(seconds >= 1 && seconds <= MAX_SECONDS)) {
    throw new CompactorError('CMP_ERR_BAD_REQUEST', `seconds must be an integer from 1 to ${MAX_SECONDS}`, { field: 'seconds', reason: `must be an integer from 1 to ${MAX_SECONDS}` })
  }
  return seconds
}

function sendProfile (reply: FastifyReply, profile: Buffer, filename: string): FastifyReply {
  return reply.type('application/octet-stream').header('content-disposition', `attachment; filename="${filename}"`).send(profile)
}

const INDEX = `<!DOCTYPE html>
<html>
<head><title>/debug/pprof/</title></head>
<body>
<h1>/debug/pprof/</h1>
<p>Profiles of the whole service: its main thread and every compaction child process, each sample
labelled <code>thread</code> (<code>main</code>, <code>worker-&lt;pid&gt;</code>). Gzipped pprof
protobuf, for <code>go tool pprof</code>.</p>
<table>
<thead><tr><th>Profile</th><th>What it is</th></tr></thead>
<tbody>
<tr><td><a href="profile?seconds=${DEFAULT_SECONDS}">profile</a></td><td>CPU profile: where the service and its children spent their time during <code>?seconds=N</code> (default ${DEFAULT_SECONDS}, at most ${MAX_SECONDS}), idle time left out. One capture at a time.</td></tr>
<tr><td><a href="heap">heap</a></td><td>Sampled live heap: the allocations still held now, by stack (one sample per 512 KiB allocated on average).</td></tr>
</tbody>
</table>
<p><code>go tool pprof -top http://127.0.0.1:8080/debug/pprof/profile?seconds=30</code></p>
</body>
</html>
`
