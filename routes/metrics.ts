// GET /metrics: the Prometheus text exposition, open to scrapers (no token). The plugin also counts
// every answered HTTP request by method, route pattern and status: it is not encapsulated (like
// fastify-plugin's plugins), so its onResponse hook sees every route of the app and the 404 handler.
import type { FastifyInstance } from 'fastify'
import type { Service } from '../src/service/service.ts'

async function metricsRoutes (app: FastifyInstance, { service }: { service: Service }): Promise<void> {
  const { metrics } = service
  app.addHook('onResponse', async (request, reply) => {
    // the route's pattern, never the raw URL: labels stay bounded whatever clients send
    metrics.requestEnded(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000)
  })

  app.get('/metrics', async (_request, reply) => {
    const { contentType, text } = await metrics.render()
    return reply.type(contentType).send(text)
  })
}

// hooks declared here apply to the app this plugin is registered in, not to this plugin alone
Object.assign(metricsRoutes, { [Symbol.for('skip-override')]: true })

export default metricsRoutes
