import type { FastifyInstance } from 'fastify'
import { authMode } from '../config.js'
import { withDeadline } from '../deadline.js'
import type { AppContext } from '../app.js'

/** How long `/ready` waits for the cache store before it says "not ready". */
export const READY_TIMEOUT_MS = 2000

export function healthRoutes (app: FastifyInstance, ctx: AppContext): void {
  app.get('/health', async () => ({
    ok: true,
    brands: ctx.config.brands.map((brand) => brand.id),
    auth: authMode(ctx.config),
    cache: ctx.store.kind
  }))

  // Only the cache store decides readiness: a broken brand database must not take the
  // service out of rotation, since the other brands still need refreshing.
  app.get('/ready', async (request, reply) => {
    const started = Date.now()
    try {
      await withDeadline(ctx.store.ping(), READY_TIMEOUT_MS, 'the cache store ping')
      return { ready: true }
    } catch (error) {
      request.log.warn({ duration_ms: Date.now() - started,
        err: error instanceof Error ? error.message : String(error) }, 'cache store not ready')
      return await reply.code(503).send({ ready: false, error: 'STORE_UNAVAILABLE' })
    }
  })
}
