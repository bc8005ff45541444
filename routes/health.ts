// GET /healthz (the process is up) and GET /readyz (not draining, not under memory or event-loop pressure).
import type { FastifyInstance } from 'fastify'
import type { Service } from '../src/service/service.ts'

export default async function healthRoutes (app: FastifyInstance, { service }: { service: Service }): Promise<void> {
  app.get('/healthz', async (_request, reply) => reply.type('application/json').send({ status: 'ok' }))

  app.get('/readyz', async (_request, reply) => {
    const pressure = service.pressure()
    const status = service.state.draining ? 'draining' : pressure ? 'under_pressure' : 'ready'
    if (status !== 'ready') reply.code(503).header('retry-after', '5')
    return reply.type('application/json').send({
      status,
      ...(pressure && !service.state.draining ? { pressure } : {}),
      rss_bytes: process.memoryUsage.rss(),
      memory_limit_bytes: service.config.memoryLimitBytes,
      compactions_in_flight: service.state.compactionsInFlight,
    })
  })
}
