import { after, afterEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Env } from '../../src/config.js'
import { SourceRegistry } from '../../src/sources/index.js'
import { brandKeys } from '../../src/store/keys.js'
import { RedisStore } from '../../src/store/redis-store.js'
import type { CacheStore } from '../../src/store/store.js'
import { deletePrefix, needs, redisClient, REDIS_URL, uniquePrefix } from '../helper.js'

const SILENT = pino({ level: 'silent' })

interface Harness { app: FastifyInstance, store: CacheStore, prefix: string }

async function build (env: Env = {}, store?: CacheStore): Promise<Harness> {
  const prefix = uniquePrefix()
  const config = loadConfig({
    BRANDS: 'acme,globex,never',
    ACME_DATABASE_URL: 'postgres://reader:pw@127.0.0.1:5432/acme',
    GLOBEX_DATABASE_URL: 'postgres://reader:pw@127.0.0.1:5432/globex',
    NEVER_DATABASE_URL: 'postgres://reader:pw@127.0.0.1:5432/never',
    UPSTASH_REDIS_URL: REDIS_URL,
    METRICS_KEY_PREFIX: prefix,
    ...env
  })
  const cacheStore = store ?? new RedisStore(REDIS_URL)
  const sources = new SourceRegistry({ connectTimeoutMs: 1000, queryTimeoutMs: 1000 })
  const app = await buildApp({ config, store: cacheStore, sources, log: SILENT })
  return { app, store: cacheStore, prefix }
}

async function cache (h: Harness, brand: string, products: number, at: Date): Promise<void> {
  const metrics = { brand, timestamp: at.toISOString(),
    counts: { products, orders: 2 * products, customers: 1 } }
  const status = { brand, ok: true, checked_at: at.toISOString(),
    last_success_at: at.toISOString(), duration_ms: 12 }
  await h.store.writeMetrics({
    keys: brandKeys(h.prefix, brand),
    metrics: JSON.stringify(metrics),
    status: JSON.stringify(status),
    ttlSeconds: 60,
    preserveOldSeconds: 60
  })
}

describe('read API', { skip: await needs('redis') }, () => {
  const redis = redisClient()
  const opened: Harness[] = []
  const open = async (env?: Env, store?: CacheStore): Promise<Harness> => {
    const h = await build(env, store)
    opened.push(h)
    return h
  }

  afterEach(async () => {
    for (const h of opened.splice(0)) {
      await deletePrefix(redis, h.prefix)
      await h.app.close()
    }
  })
  after(async () => { await redis.quit() })

  test('should answer a cached brand with its metrics, status and age', async () => {
    const h = await open()
    await cache(h, 'acme', 10, new Date(Date.now() - 30_000))

    const response = await h.app.inject({ method: 'GET', url: '/api/metrics/acme' })

    assert.equal(response.statusCode, 200)
    const body = response.json()
    assert.deepEqual(Object.keys(body).sort(), ['age_seconds', 'brand', 'metrics', 'status'])
    assert.equal(body.brand, 'acme')
    assert.deepEqual(body.metrics.counts, { products: 10, orders: 20, customers: 1 })
    assert.equal(body.status.ok, true)
    assert.ok(body.age_seconds >= 29 && body.age_seconds <= 32, `age ${body.age_seconds}`)
    assert.match(response.headers.etag as string, /^W\/"[\w-]+"$/)
    assert.equal(response.headers['cache-control'], 'private, max-age=0, must-revalidate')
  })

  test('should answer every brand, never-cached ones with null metrics', async () => {
    const h = await open()
    await cache(h, 'acme', 10, new Date())
    await cache(h, 'globex', 5, new Date())

    const response = await h.app.inject({ method: 'GET', url: '/api/metrics' })

    assert.equal(response.statusCode, 200)
    const { brands } = response.json()
    assert.deepEqual(Object.keys(brands), ['acme', 'globex', 'never'])
    assert.equal(brands.globex.metrics.counts.products, 5)
    assert.equal(brands.acme.status.ok, true)
    assert.deepEqual(brands.never, { brand: 'never', metrics: null, status: null,
      age_seconds: null })
    assert.ok(response.headers.etag !== undefined)
  })

  test('should read every brand in one round trip to the store', async () => {
    const h = await open()
    await cache(h, 'acme', 10, new Date())
    const original = h.store.getMany.bind(h.store)
    const calls: number[] = []
    h.store.getMany = async (keys) => { calls.push(keys.length); return await original(keys) }

    const response = await h.app.inject({ method: 'GET', url: '/api/metrics' })

    assert.equal(response.statusCode, 200)
    assert.deepEqual(calls, [6])
  })

  test('should answer 304 to a matching If-None-Match, with no body', async () => {
    const h = await open()
    await cache(h, 'acme', 10, new Date())
    for (const url of ['/api/metrics/acme', '/api/metrics']) {
      const first = await h.app.inject({ method: 'GET', url })
      const etag = first.headers.etag as string

      const again = await h.app.inject({ method: 'GET', url,
        headers: { 'if-none-match': `"other", ${etag}` } })

      assert.equal(again.statusCode, 304, url)
      assert.equal(again.body, '')
      assert.equal(again.headers.etag, etag)
      assert.equal(again.headers['cache-control'], 'private, max-age=0, must-revalidate')
    }
  })

  // These write to the store behind the app's back, so they read it on every request.
  const uncached = { API_CACHE_MS: '0' }

  test('should keep the ETag while only time passes', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
    const h = await open(uncached)
    await cache(h, 'acme', 10, new Date())
    const first = await h.app.inject({ method: 'GET', url: '/api/metrics/acme' })

    t.mock.timers.tick(90_000)
    const later = await h.app.inject({ method: 'GET', url: '/api/metrics/acme' })

    assert.notEqual(later.json().age_seconds, first.json().age_seconds)
    assert.equal(later.headers.etag, first.headers.etag)
  })

  test('should change the ETag when the cached value changes', async () => {
    const h = await open(uncached)
    const at = new Date()
    await cache(h, 'acme', 10, at)
    const first = await h.app.inject({ method: 'GET', url: '/api/metrics/acme' })
    const all = await h.app.inject({ method: 'GET', url: '/api/metrics' })

    await cache(h, 'acme', 11, at)
    const changed = await h.app.inject({ method: 'GET', url: '/api/metrics/acme',
      headers: { 'if-none-match': first.headers.etag as string } })
    const allChanged = await h.app.inject({ method: 'GET', url: '/api/metrics',
      headers: { 'if-none-match': all.headers.etag as string } })

    assert.equal(changed.statusCode, 200)
    assert.equal(changed.json().metrics.counts.products, 11)
    assert.notEqual(changed.headers.etag, first.headers.etag)
    assert.equal(allChanged.statusCode, 200)
    assert.notEqual(allChanged.headers.etag, all.headers.etag)
  })

  test('should change the ETag when only the status changes', async () => {
    const h = await open(uncached)
    await cache(h, 'acme', 10, new Date())
    const first = await h.app.inject({ method: 'GET', url: '/api/metrics/acme' })

    await h.store.writeStatus(brandKeys(h.prefix, 'acme').status,
      JSON.stringify({ brand: 'acme', ok: false, error_code: 'SOURCE_CONNECT_FAILED' }))
    const after = await h.app.inject({ method: 'GET', url: '/api/metrics/acme' })

    assert.equal(after.json().status.ok, false)
    assert.notEqual(after.headers.etag, first.headers.etag)
  })

  test('should answer 404 for an unknown brand and for a never-cached one', async () => {
    const h = await open()

    const unknown = await h.app.inject({ method: 'GET', url: '/api/metrics/nobody' })
    const never = await h.app.inject({ method: 'GET', url: '/api/metrics/never' })

    assert.equal(unknown.statusCode, 404)
    assert.equal(unknown.json().error, 'BRAND_UNKNOWN')
    assert.doesNotMatch(unknown.body, /acme|globex/)
    assert.equal(never.statusCode, 404)
    assert.equal(never.json().error, 'METRICS_NOT_CACHED')
  })

  test('should require the API_READ_TOKEN bearer token when one is set', async () => {
    const h = await open({ API_READ_TOKEN: 'read-secret-123' })
    await cache(h, 'acme', 10, new Date())

    const without = await h.app.inject({ method: 'GET', url: '/api/metrics/acme' })
    const wrong = await h.app.inject({ method: 'GET', url: '/api/metrics',
      headers: { authorization: 'Bearer read-secret-12' } })
    const right = await h.app.inject({ method: 'GET', url: '/api/metrics/acme',
      headers: { authorization: 'Bearer read-secret-123' } })
    const rightAll = await h.app.inject({ method: 'GET', url: '/api/metrics',
      headers: { authorization: 'Bearer read-secret-123' } })

    assert.equal(without.statusCode, 401)
    assert.equal(without.headers['www-authenticate'], 'Bearer realm="metrics-cache"')
    assert.equal(without.json().error, 'UNAUTHORIZED')
    assert.equal(wrong.statusCode, 401)
    assert.doesNotMatch(wrong.body, /read-secret/)
    assert.equal(right.statusCode, 200)
    assert.equal(rightAll.statusCode, 200)
  })

  test('should refuse a token-less unknown brand with 401, not reveal it is unknown', async () => {
    const h = await open({ API_READ_TOKEN: 'read-secret-123' })

    const response = await h.app.inject({ method: 'GET', url: '/api/metrics/nobody' })

    assert.equal(response.statusCode, 401)
  })

  test('should answer 503 with a generic body when the cache store is down', async () => {
    const down = new RedisStore('redis://127.0.0.1:1', { commandTimeoutMs: 500 })
    const h = await open({}, down)

    for (const url of ['/api/metrics', '/api/metrics/acme']) {
      const response = await h.app.inject({ method: 'GET', url })

      assert.equal(response.statusCode, 503, url)
      assert.equal(response.json().message,
        'The service failed to handle the request; see its logs.')
      assert.doesNotMatch(response.body, /127\.0\.0\.1|ECONNREFUSED/)
    }
  })
})
