import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { hasBearerToken } from '../auth.js'
import type { AppContext } from '../app.js'
import { AuthError } from '../errors.js'
import { readBrandViews, type BrandView } from '../store/read-model.js'

/**
 * `private`: with API_READ_TOKEN the answer belongs to one caller, so no shared proxy may
 * keep it. `max-age=0, must-revalidate`: a refresh can land at any second, and asking
 * again with If-None-Match costs one store round trip and an empty 304, so a dashboard
 * sees a new value as soon as it is cached instead of after a guessed lifetime.
 */
export const CACHE_CONTROL = 'private, max-age=0, must-revalidate'

interface BrandParams { brand: string }

/** `GET /api/metrics` and `GET /api/metrics/:brand`: the cached metrics, read-only. */
export function metricsApiRoutes (app: FastifyInstance, ctx: AppContext): void {
  const brandIds = ctx.config.brands.map((brand) => brand.id)

  app.get('/api/metrics', async (request, reply) => {
    authorize(request, reply, ctx)

    const views = await readBrandViews(ctx.store, ctx.config.keyPrefix, brandIds)
    const brands: Record<string, BrandView> = {}
    for (const view of views) brands[view.brand] = view
    return send(request, reply, etagOf(views), { brands })
  })

  app.get<{ Params: BrandParams }>('/api/metrics/:brand', async (request, reply) => {
    authorize(request, reply, ctx)

    const { brand } = request.params
    if (!brandIds.includes(brand)) {
      return await notFound(reply, 'BRAND_UNKNOWN', 'No brand of this id is configured.')
    }
    const [view] = await readBrandViews(ctx.store, ctx.config.keyPrefix, [brand])
    if (view === undefined || view.metrics === null) {
      return await notFound(reply, 'METRICS_NOT_CACHED',
        'Nothing is cached for this brand yet: it has not been refreshed successfully.')
    }
    return send(request, reply, etagOf([view]), view)
  })
}

/** Checked before the brand id, so that a caller without the token learns no brand ids. */
function authorize (request: FastifyRequest, reply: FastifyReply, ctx: AppContext): void {
  const token = ctx.config.apiReadToken
  if (token === undefined) return
  const header = request.headers.authorization
  if (!hasBearerToken(Array.isArray(header) ? header[0] : header, token)) {
    void reply.header('WWW-Authenticate', 'Bearer realm="metrics-cache"')
    throw new AuthError('TOKEN_INVALID', 'The Authorization header does not carry the ' +
      'bearer token API_READ_TOKEN names.')
  }
}

/**
 * A weak validator over the cached values and statuses: the body also carries
 * `age_seconds`, which changes every second while the data it describes does not.
 */
export function etagOf (views: readonly BrandView[]): string {
  const hash = createHash('sha256')
  for (const view of views) {
    hash.update(JSON.stringify([view.brand, view.metrics, view.status])).update('\n')
  }
  return `W/"${hash.digest('base64url').slice(0, 32)}"`
}

function send (request: FastifyRequest, reply: FastifyReply, etag: string, body: object):
FastifyReply | object {
  void reply.header('ETag', etag).header('Cache-Control', CACHE_CONTROL)
  if (matches(request.headers['if-none-match'], etag)) return reply.code(304).send()
  return body
}

/** If-None-Match uses the weak comparison: `W/` prefixes are ignored on both sides. */
function matches (header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  const bare = (tag: string): string => tag.trim().replace(/^W\//, '')
  return header.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag))
}

async function notFound (reply: FastifyReply, code: string, message: string):
Promise<FastifyReply> {
  return await reply.code(404).send({ status: 'error', error: code, message })
}
