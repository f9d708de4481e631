import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { hasBearerToken } from '../auth.js'
import type { AppContext } from '../app.js'
import { AuthError } from '../errors.js'
import { ALL_BRANDS, type ReadCache, type RenderedAnswer } from '../read-cache.js'
import { readBrandViews, type BrandView } from '../store/read-model.js'

/**
 * `private`: with API_READ_TOKEN the answer belongs to one caller, so no shared proxy may
 * keep it. `max-age=0, must-revalidate`: a refresh can land at any second, and asking
 * again with If-None-Match costs at most one store round trip and an empty 304, so a dashboard
 * sees a new value as soon as it is cached instead of after a guessed lifetime.
 */
export const CACHE_CONTROL = 'private, max-age=0, must-revalidate'

interface BrandParams { brand: string }

const NOT_CACHED = JSON.stringify({ status: 'error', error: 'METRICS_NOT_CACHED',
  message: 'Nothing is cached for this brand yet: it has not been refreshed successfully.' })

/**
 * `GET /api/metrics` and `GET /api/metrics/:brand`: the cached metrics, read-only.
 * Answers are kept rendered in `cache` (see ReadCache for how fresh they are); the
 * token is checked before it is consulted.
 */
export function metricsApiRoutes (app: FastifyInstance, ctx: AppContext, cache: ReadCache):
void {
  const brandIds = ctx.config.brands.map((brand) => brand.id)

  app.get('/api/metrics', async (request, reply) => {
    authorize(request, reply, ctx)

    const answer = await cache.answer(ALL_BRANDS, async () => {
      const views = await readBrandViews(ctx.store, ctx.config.keyPrefix, brandIds)
      const brands: Record<string, BrandView> = {}
      for (const view of views) brands[view.brand] = view
      return { statusCode: 200, body: JSON.stringify({ brands }), etag: etagOf(views) }
    })
    return send(request, reply, answer)
  })

  app.get<{ Params: BrandParams }>('/api/metrics/:brand', async (request, reply) => {
    authorize(request, reply, ctx)

    const { brand } = request.params
    if (!brandIds.includes(brand)) {
      return await reply.code(404).send({ status: 'error', error: 'BRAND_UNKNOWN',
        message: 'No brand of this id is configured.' })
    }
    const answer = await cache.answer(brand, async () => {
      const [view] = await readBrandViews(ctx.store, ctx.config.keyPrefix, [brand])
      if (view === undefined || view.metrics === null) {
        return { statusCode: 404, body: NOT_CACHED }
      }
      return { statusCode: 200, body: JSON.stringify(view), etag: etagOf([view]) }
    })
    return send(request, reply, answer)
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

/** Sends a rendered answer: its body string as it is, or a 304 when the ETag matches. */
async function send (request: FastifyRequest, reply: FastifyReply, answer: RenderedAnswer):
Promise<FastifyReply> {
  if (answer.etag !== undefined) {
    void reply.header('ETag', answer.etag).header('Cache-Control', CACHE_CONTROL)
    if (matches(request.headers['if-none-match'], answer.etag)) {
      return await reply.code(304).send()
    }
  }
  return await reply.code(answer.statusCode).type('application/json; charset=utf-8')
    .send(answer.body)
}

/** If-None-Match uses the weak comparison: `W/` prefixes are ignored on both sides. */
function matches (header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  const bare = (tag: string): string => tag.trim().replace(/^W\//, '')
  return header.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag))
}
