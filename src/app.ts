import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from
  'fastify'
import type { Logger } from 'pino'
import type { Config } from './config.js'
import { AppError } from './errors.js'
import { createAppMetrics } from './prometheus.js'
import { ReadCache } from './read-cache.js'
import type { BrandResult } from './refresh.js'
import { healthRoutes } from './routes/health.js'
import { metricsApiRoutes } from './routes/metrics-api.js'
import { prometheusRoutes } from './routes/prometheus.js'
import { qstashRoutes } from './routes/qstash.js'
import { statusPageRoutes } from './routes/status-page.js'
import type { SourceRegistry } from './sources/index.js'
import type { CacheStore } from './store/store.js'

/** QStash bodies are small events; anything larger is refused before it is read. */
export const BODY_LIMIT = 1024 * 1024

export interface AppContext {
  config: Config
  store: CacheStore
  sources: SourceRegistry
  log: Logger
  onBrandResult?: (brand: string, result: BrandResult) => void
}

/**
 * Builds the HTTP app without listening, so tests drive it with `inject()`. Closing the
 * app closes the store and every brand's pool. Every brand result also drops the read
 * API's cached answers for that brand and feeds the app's Prometheus series, before any
 * `onBrandResult` the caller gave.
 */
export async function buildApp (appCtx: AppContext): Promise<FastifyInstance> {
  const brandIds = appCtx.config.brands.map((brand) => brand.id)
  const metrics = createAppMetrics(brandIds)
  const readCache = new ReadCache({ brands: brandIds, ttlMs: appCtx.config.apiCacheMs })
  const ctx: AppContext = {
    ...appCtx,
    onBrandResult: (brand, result) => {
      readCache.invalidate(brand)
      metrics.observeBrand(brand, result)
      appCtx.onBrandResult?.(brand, result)
    }
  }
  const app = Fastify({
    loggerInstance: ctx.log as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true
  })

  // Keep every body as its exact bytes: a QStash signature covers them, and a parsed
  // and re-serialized JSON would no longer match.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => {
    done(null, body)
  })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error instanceof AppError ? error.statusCode : (error.statusCode ?? 500)
    const code = error instanceof AppError ? error.code : (error.code ?? 'INTERNAL')
    if (status >= 500) request.log.error({ code, err: error.message }, 'request failed')
    else request.log.warn({ code, err: error.message }, 'request refused')
    // Which check refused a caller is for our log: the answer does not help a prober.
    const publicCode = status === 401 ? 'UNAUTHORIZED' : code
    void reply.code(status).send({ status: 'error', error: publicCode,
      message: publicMessage(status) })
  })

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ status: 'error', error: 'NOT_FOUND',
      message: `There is no ${request.method} ${request.url.split('?')[0]}: see the README's ` +
        'HTTP endpoints.' })
  })

  app.addHook('onClose', async () => {
    await Promise.all([ctx.store.close(), ctx.sources.closeAll()])
  })

  healthRoutes(app, ctx)
  qstashRoutes(app, ctx)
  metricsApiRoutes(app, ctx, readCache)
  prometheusRoutes(app, metrics)
  statusPageRoutes(app, ctx)
  return app
}

/** What a refused request is told: the reason stays in the log, never in the answer. */
function publicMessage (status: number): string {
  if (status === 401) return 'Authentication failed.'
  if (status === 404) return 'Not found.'
  if (status === 413) return `The body is larger than ${BODY_LIMIT} bytes.`
  if (status >= 500) return 'The service failed to handle the request; see its logs.'
  return 'The request was refused.'
}
