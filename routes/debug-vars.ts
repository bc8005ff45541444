// GET /debug/vars: the process's runtime figures and the service's queues, budget and children, as
// JSON. Guarded like every debug endpoint: the DEBUG_TOKEN bearer token, or loopback only without one.
import type { FastifyInstance } from 'fastify'
import type { Service } from '../src/service/service.ts'
import { RuntimeMonitor, serviceVersion } from '../src/observe/runtime.ts'
import { checkDebugAccess } from '../src/service/auth.ts'

export default async function debugVarsRoutes (app: FastifyInstance, { service }: { service: Service }): Promise<void> {
  const { config, state, budget, pool } = service
  // GC and event-loop delay are observed from the app's start to its close
  const runtime = new RuntimeMonitor()
  app.addHook('onClose', async () => runtime.close())
  app.addHook('onRequest', async request => {
    checkDebugAccess(request.headers.authorization, request.socket.remoteAddress, config.debugToken)
  })

  app.get('/debug/vars', async (_request, reply) => reply.type('application/json').send({
    ...runtime.stats(),
    compactions: { in_flight: state.compactionsInFlight, uploads_in_progress: state.uploadsInProgress, running: pool.busy, queued_for_budget: budget.queued, queued_for_worker: pool.queued },
    budget: { limit_bytes: budget.limitBytes, reserved_bytes: budget.reservedBytes, free_bytes: budget.limitBytes - budget.reservedBytes },
    pool: {
      size: pool.size,
      workers: pool.workers,
      busy: pool.busy,
      baseline_bytes: pool.baselineBytes,
      memory_bytes: pool.treeBytes(),
      spawn_failures: pool.consecutiveSpawnFailures,
      kills: Object.fromEntries(pool.kills),
    },
    pressure: service.pressure(),
    versions: { node: process.version, v8: process.versions.v8, service: serviceVersion() },
  }))
}
