import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import type { Env } from '../../src/config.js'
import { openRuntime } from '../../src/runtime.js'
import { captureLogs, createShopDatabase, deletePrefix, needs, REDIS_URL, redisClient,
  testConfig, uniquePrefix, unreachablePgUrl, withPassword, type TestDatabase } from
  '../helper.js'

const TOKEN = 'qstash-tok-5e1f0c7a'
const DB_PW = 'DbPw-9a8b7c6d'

describe('HTTP app', { skip: await needs('postgres', 'redis') }, () => {
  const redis = redisClient()
  const prefixes: string[] = []
  const apps: FastifyInstance[] = []
  const logs: string[][] = []
  const warnings: Array<Error & { code?: string }> = []
  const onWarning = (warning: Error): void => { warnings.push(warning) }
  let acme: TestDatabase
  let globex: TestDatabase

  before(async () => {
    process.on('warning', onWarning)
    acme = await createShopDatabase(5, 6, 7)
    globex = await createShopDatabase(1, 2, 3)
  })

  after(async () => {
    await Promise.all(apps.map(async (app) => { await app.close() }))
    for (const prefix of prefixes) await deletePrefix(redis, prefix)
    redis.disconnect()
    await Promise.all([acme.drop(), globex.drop()])
    process.off('warning', onWarning)
  })

  /** The app over a real RedisStore and SourceRegistry, under its own key prefix. */
  async function app (extra: Env = {}): Promise<{ app: FastifyInstance, prefix: string }> {
    const prefix = uniquePrefix()
    prefixes.push(prefix)
    const config = testConfig({ BRANDS: 'acme,globex', UPSTASH_REDIS_URL: REDIS_URL,
      METRICS_KEY_PREFIX: prefix, ACME_DATABASE_URL: withPassword(acme.url, 'postgres', DB_PW),
      GLOBEX_DATABASE_URL: globex.url, QSTASH_AUTH_TOKEN: TOKEN,
      METRICS_CONNECT_TIMEOUT_MS: '3000', ...extra })
    const captured = captureLogs()
    const built = await buildApp(openRuntime(config, captured.log))
    apps.push(built)
    logs.push(captured.lines)
    return { app: built, prefix }
  }

  const bearer = { authorization: `Bearer ${TOKEN}` }

  test('should refuse POST /qstash without the bearer token, telling nothing', async () => {
    const { app: server, prefix } = await app()
    const headers = [{}, { authorization: 'Bearer wrong-token' },
      { authorization: `Basic ${TOKEN}` }, { authorization: `Bearer ${TOKEN}x` }]

    for (const header of headers) {
      const response = await server.inject({ method: 'POST', url: '/qstash', headers: header })
      assert.equal(response.statusCode, 401, JSON.stringify(header))
      assert.deepEqual(response.json(), { status: 'error', error: 'UNAUTHORIZED',
        message: 'Authentication failed.' })
      assert.ok(!response.body.includes(TOKEN))
    }
    assert.deepEqual(await redis.keys(`${prefix}*`), [], 'nothing refreshed')
  })

  test('should refresh and answer 200 with every result when all brands are cached',
    async () => {
      const { app: server, prefix } = await app()
      const response = await server.inject({ method: 'POST', url: '/qstash', headers: bearer,
        payload: '{"event":"pipeline finished"}' })

      assert.equal(response.statusCode, 200)
      const body = response.json() as { status: string, results: Record<string, unknown> }
      assert.equal(body.status, 'ok')
      assert.deepEqual(Object.keys(body.results), ['acme', 'globex'])
      for (const result of Object.values(body.results)) {
        assert.deepEqual(Object.keys(result as object), ['ok', 'duration_ms'])
        assert.equal((result as { ok: boolean }).ok, true)
      }
      const cached = JSON.parse(await redis.get(`${prefix}acme`) ?? 'null') as
        { counts: unknown }
      assert.deepEqual(cached.counts, { products: 5, orders: 6, customers: 7 })
    })

  test('should accept the token case-insensitively on "bearer" and an empty JSON body',
    async () => {
      const { app: server } = await app()
      const response = await server.inject({ method: 'POST', url: '/qstash',
        headers: { authorization: `bearer ${TOKEN}`, 'content-type': 'application/json' } })
      assert.equal(response.statusCode, 200)
    })

  test('should answer 500 with the same shape when a brand is unreachable', async () => {
    const { app: server, prefix } = await app({ GLOBEX_DATABASE_URL: unreachablePgUrl(DB_PW) })
    const response = await server.inject({ method: 'POST', url: '/qstash', headers: bearer })

    assert.equal(response.statusCode, 500)
    const body = response.json() as { status: string,
      results: Record<string, { ok: boolean, error_code?: string, retryable?: boolean }> }
    assert.equal(body.status, 'error')
    assert.equal(body.results.acme?.ok, true)
    assert.equal(body.results.globex?.ok, false)
    assert.equal(body.results.globex?.error_code, 'SOURCE_CONNECT_FAILED')
    assert.equal(body.results.globex?.retryable, true)
    assert.ok(!response.body.includes(DB_PW))
    assert.ok(await redis.get(`${prefix}acme`))
  })

  test('should answer 503 when the cache store cannot be reached, so QStash retries',
    async () => {
      const { app: server } = await app({ UPSTASH_REDIS_URL: 'redis://127.0.0.1:1' })
      const response = await server.inject({ method: 'POST', url: '/qstash', headers: bearer })

      assert.equal(response.statusCode, 503)
      const body = response.json() as { status: string,
        results: Record<string, { ok: boolean, error_code?: string }> }
      assert.equal(body.status, 'error')
      assert.equal(body.results.acme?.error_code, 'STORE_UNAVAILABLE')
    })

  test('should answer 413 to a body over 1 MiB without refreshing', async () => {
    const { app: server, prefix } = await app()
    const response = await server.inject({ method: 'POST', url: '/qstash', headers: {
      ...bearer, 'content-type': 'text/plain' }, payload: 'x'.repeat(1024 * 1024 + 1) })

    assert.equal(response.statusCode, 413)
    assert.deepEqual(await redis.keys(`${prefix}*`), [])
  })

  test('should answer an unknown route in the same error shape as every other', async () => {
    const { app: server } = await app()
    const response = await server.inject({ method: 'PUT', url: '/qstash?token=abc' })

    assert.equal(response.statusCode, 404)
    assert.deepEqual(response.json(), { status: 'error', error: 'NOT_FOUND',
      message: 'There is no PUT /qstash: see the README\'s HTTP endpoints.' })
  })

  test('should refresh only the brands a {"brands": [...]} body names', async () => {
    const { app: server, prefix } = await app()
    const response = await server.inject({ method: 'POST', url: '/qstash', headers: bearer,
      payload: { brands: ['globex'] } })

    assert.equal(response.statusCode, 200)
    assert.deepEqual(Object.keys((response.json() as { results: object }).results), ['globex'])
    assert.equal(await redis.exists(`${prefix}acme`), 0)
    assert.equal(await redis.exists(`${prefix}globex`), 1)
  })

  test('should answer 489, never to be retried, for an unknown brand', async () => {
    const { app: server, prefix } = await app()
    const response = await server.inject({ method: 'POST', url: '/qstash', headers: bearer,
      payload: { brands: ['acme', 'nope'] } })

    assert.equal(response.statusCode, 489)
    assert.equal(response.headers['upstash-nonretryable-error'], 'true')
    assert.deepEqual(await redis.keys(`${prefix}*`), [])
  })

  test('should describe brands, auth mode and cache kind on GET /health', async () => {
    const { app: server } = await app()
    const response = await server.inject({ method: 'GET', url: '/health' })

    assert.equal(response.statusCode, 200)
    assert.deepEqual(response.json(), { ok: true, brands: ['acme', 'globex'], auth: 'bearer',
      cache: 'redis' })

    const { app: open } = await app({ QSTASH_AUTH_TOKEN: '' })
    const openHealth = await open.inject({ method: 'GET', url: '/health' })
    assert.equal((openHealth.json() as { auth: string }).auth, 'none')
  })

  test('should log why a request was refused, but no token or database password', () => {
    const text = logs.flat().join('\n')
    assert.match(text, /"code":"TOKEN_INVALID"/)
    assert.ok(!text.includes(TOKEN), 'token logged')
    assert.ok(!text.includes(DB_PW), 'password logged')
  })

  test('should start without a framework deprecation warning', async () => {
    await app()
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(warnings.map((w) => `${w.code}: ${w.message}`), [])
  })
})
