// GET /openapi.json: the contract (openapi.yaml) as JSON.
import type { FastifyInstance } from 'fastify'
import type { OpenApiDocument } from '../src/openapi.ts'

export default async function openapiRoutes (app: FastifyInstance, { openapi }: { openapi: OpenApiDocument }): Promise<void> {
  const body = JSON.stringify(openapi)
  app.get('/openapi.json', async (_request, reply) => reply.type('application/json').send(body))
}
