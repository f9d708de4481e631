import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { hasBearerToken } from '../auth.js'
import type { BrandConfig } from '../config.js'
import { AuthError, BrandUnknownError } from '../errors.js'
import { refreshBrands, type RefreshReport } from '../refresh.js'
import { signatureCheck, type SignatureCheck } from '../signature.js'
import type { AppContext } from '../app.js'
import { loadProgress, recordProgress } from '../message-progress.js'

/** QStash treats this status, with the header below, as "never retry". */
const NON_RETRYABLE_STATUS = 489

/**
 * POST /qstash: authenticate, pick the brands the body asks for, skip those a previous
 * delivery of the same message already cached, refresh the rest and answer with the
 * status QStash acts on (see statusCodeOf).
 */
export function qstashRoutes (app: FastifyInstance, ctx: AppContext): void {
  const checkSignature = signatureCheck(ctx.config)

  app.post('/qstash', async (request, reply) => {
    await authenticate(request, ctx, checkSignature)

    const brands = selectBrands(request.body, ctx.config.brands)
    if (brands instanceof BrandUnknownError) {
      request.log.warn({ brand: brands.brand }, 'trigger names an unknown brand')
      return await reply.code(NON_RETRYABLE_STATUS)
        .header('Upstash-NonRetryable-Error', 'true')
        .send({ status: 'error', error: brands.code, message: brands.message })
    }

    const messageId = headerOf(request, 'upstash-message-id')
    const done = await loadProgress(ctx, messageId)
    const remaining = brands.filter((brand) => !done.has(brand.id))
    const alreadyDone = brands.filter((brand) => done.has(brand.id)).map((brand) => brand.id)
    if (remaining.length === 0) {
      request.log.info({ messageId, brands: alreadyDone.length }, 'message already done')
      return await reply.code(200).send({ status: 'ok', results: {}, already_done: alreadyDone })
    }

    const report = await refreshBrands(ctx, {
      brands: remaining,
      trigger: 'qstash',
      runId: messageId ?? randomUUID()
    })
    await recordProgress(ctx, messageId, report)
    return await reply.code(statusCodeOf(report)).send({
      status: report.ok ? 'ok' : 'error',
      results: report.results,
      ...(alreadyDone.length > 0 ? { already_done: alreadyDone } : {})
    })
  })
}

/** Both checks that are configured must pass: the bearer token and the signature. */
async function authenticate (request: FastifyRequest, ctx: AppContext,
  checkSignature: SignatureCheck | undefined): Promise<void> {
  const token = ctx.config.authToken
  if (token !== undefined && !hasBearerToken(headerOf(request, 'authorization'), token)) {
    throw new AuthError('TOKEN_INVALID', 'The Authorization header does not carry the ' +
      'bearer token QSTASH_AUTH_TOKEN names.')
  }

  if (checkSignature !== undefined) {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
    await checkSignature(headerOf(request, 'upstash-signature'), body)
  }
}

/**
 * The brands a body asks for. Only `{"brands": [...]}` of strings limits the refresh;
 * any other body is a plain trigger, as QStash may deliver any upstream payload.
 */
export function selectBrands (body: unknown, known: readonly BrandConfig[]):
readonly BrandConfig[] | BrandUnknownError {
  const asked = brandsAsked(body)
  if (asked === undefined) return known

  const byId = new Map(known.map((brand) => [brand.id, brand]))
  const unknown = asked.find((id) => !byId.has(id))
  if (unknown !== undefined) return new BrandUnknownError(unknown, known.map((b) => b.id))
  return [...new Set(asked)].map((id) => byId.get(id) as BrandConfig)
}

function brandsAsked (body: unknown): string[] | undefined {
  if (!Buffer.isBuffer(body) || body.length === 0) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    return undefined
  }

  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined
  const brands = (parsed as { brands?: unknown }).brands
  if (!Array.isArray(brands) || brands.length === 0) return undefined
  if (!brands.every((id) => typeof id === 'string')) return undefined
  return brands as string[]
}

/**
 * The answer QStash acts on: 503 when the cache store is down and 500 when a brand may
 * succeed later, so that it redelivers; 200 when retrying cannot change anything.
 */
export function statusCodeOf (report: RefreshReport): number {
  if (report.storeFailed) return 503
  const results = Object.values(report.results)
  return results.some((result) => !result.ok && result.retryable === true) ? 500 : 200
}

function headerOf (request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name]
  return Array.isArray(value) ? value[0] : value
}
