// GET /healthz (the process is up) and GET /readyz (not draining, not under memory or event-loop
// pressure, and a compaction child alive or starting).
import type { FastifyInstance } from 'fastify'
import type { Service } from '../src/service/service.ts'

export default async function healthRoutes (app: FastifyInstance, { service }: { service: Service }): Promise<void> {
  app.get('/healthz', async (_request, reply) => reply.type('application/json').send({ status: 'ok' }))

  app.get('/readyz', async (_request, reply) => {
    const { pool, state } = service
    const pressure = service.pressure()
    const status = state.draining ? 'draining' : pressure ? 'under_pressure' : pool.workers === 0 && pool.consecutiveSpawnFailures > 0 ? 'no_children' : 'ready'
    if (status !== 'ready') reply.code(503).header('retry-after', '5')
    return reply.type('application/json').send({
      status,
      ...(pressure && !state.draining ? { pressure } : {}),
      rss_bytes: process.memoryUsage.rss(),
      memory_bytes: pool.treeBytes(),
      memory_limit_bytes: service.config.memoryLimitBytes,
      compactions_in_flight: state.compactionsInFlight,
      children: { size: pool.size, live: pool.workers, spawn_failures: pool.consecutiveSpawnFailures },
    })
  })
}
