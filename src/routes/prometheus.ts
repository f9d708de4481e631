import type { FastifyInstance } from 'fastify'
import type { AppMetrics } from '../prometheus.js'

/**
 * `GET /metrics` in Prometheus's text format, and the count of every `POST /qstash`
 * answer. The hook is on the whole app because refusals (401, 413, 489) end before
 * or outside the route's handler.
 */
export function prometheusRoutes (app: FastifyInstance, metrics: AppMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    if (request.method === 'POST' && request.routeOptions.url === '/qstash') {
      metrics.countWebhookAnswer(reply.statusCode)
    }
  })

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics()
    return await reply.header('Content-Type', metrics.registry.contentType).send(text)
  })
}
