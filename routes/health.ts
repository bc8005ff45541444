// GET /healthz (the process is up) and GET /readyz (not draining, memory under the limit).
import type { FastifyInstance } from 'fastify'
import type { Service } from '../src/app.ts'

export default async function healthRoutes (app: FastifyInstance, { service }: { service: Service }): Promise<void> {
  app.get('/healthz', async (_request, reply) => reply.type('application/json').send({ status: 'ok' }))

  app.get('/readyz', async (_request, reply) => {
    const rss = process.memoryUsage.rss()
    const limit = service.config.memoryLimitBytes
    const status = service.state.draining ? 'draining' : rss > limit ? 'memory_pressure' : 'ready'
    if (status !== 'ready') reply.code(503).header('retry-after', '5')
    return reply.type('application/json').send({
      status, rss_bytes: rss, memory_limit_bytes: limit, compactions_in_flight: service.state.compactionsInFlight,
    })
  })
}
