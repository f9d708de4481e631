import type { FastifyInstance } from 'fastify'
import { authMode } from '../config.js'
import type { AppContext } from '../app.js'

export function healthRoutes (app: FastifyInstance, ctx: AppContext): void {
  app.get('/health', async () => ({
    ok: true,
    brands: ctx.config.brands.map((brand) => brand.id),
    auth: authMode(ctx.config),
    cache: ctx.store.kind
  }))
}
