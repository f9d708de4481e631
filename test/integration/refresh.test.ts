import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { Config } from '../../src/config.js'
import { refreshBrands, type BrandStatus, type RefreshReport } from '../../src/refresh.js'
import { SourceRegistry } from '../../src/sources/index.js'
import { RedisStore } from '../../src/store/redis-store.js'
import { captureLogs, createShopDatabase, deletePrefix, needs, REDIS_URL, redisClient,
  testConfig, uniquePrefix, unreachablePgUrl, withPassword, type TestDatabase } from
  '../helper.js'

const HEALTHY_PW = 'HealthyPw-7f3a91'
const BROKEN_PW = 'BrokenPw-c0ffee42'
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

describe('refresh into Redis', { skip: await needs('postgres', 'redis') }, () => {
  const redis = redisClient()
  const prefixes: string[] = []
  let acme: TestDatabase
  let globex: TestDatabase

  before(async () => {
    acme = await createShopDatabase(10, 100, 7)
    globex = await createShopDatabase(2, 3, 4)
  })

  after(async () => {
    for (const prefix of prefixes) await deletePrefix(redis, prefix)
    redis.disconnect()
    await Promise.all([acme.drop(), globex.drop()])
  })

  /** A configuration for acme, globex and umbrella; umbrella's URL is `umbrellaUrl`. */
  function config (prefix: string, umbrellaUrl: string, extra: Record<string, string> = {}):
  Config {
    return testConfig({ BRANDS: 'acme,globex,umbrella', UPSTASH_REDIS_URL: REDIS_URL,
      METRICS_KEY_PREFIX: prefix, ACME_DATABASE_URL: withPassword(acme.url, 'postgres',
        HEALTHY_PW), GLOBEX_DATABASE_URL: globex.url, UMBRELLA_DATABASE_URL: umbrellaUrl,
      METRICS_CONNECT_TIMEOUT_MS: '3000', METRICS_QUERY_TIMEOUT_MS: '3000', ...extra })
  }

  async function pass (cfg: Config, log = captureLogs().log): Promise<RefreshReport> {
    const store = new RedisStore(REDIS_URL)
    const sources = new SourceRegistry({ connectTimeoutMs: cfg.connectTimeoutMs,
      queryTimeoutMs: cfg.queryTimeoutMs })
    try {
      return await refreshBrands({ config: cfg, store, sources, log },
        { trigger: 'cli', runId: 'test' })
    } finally {
      await Promise.all([store.close(), sources.closeAll()])
    }
  }

  function newPrefix (): string {
    const prefix = uniquePrefix()
    prefixes.push(prefix)
    return prefix
  }

  async function status (prefix: string, brand: string): Promise<BrandStatus> {
    return JSON.parse(await redis.get(`${prefix}${brand}:status`) ?? 'null') as BrandStatus
  }

  test('should keep the previous metrics of a brand that fails and cache the others',
    async () => {
      const prefix = newPrefix()
      const good = withPassword(globex.url, 'postgres', HEALTHY_PW)
      const first = await pass(config(prefix, good))
      assert.equal(first.ok, true, JSON.stringify(first.results))
      const seeded = await redis.get(`${prefix}umbrella`)
      const seededStatus = await status(prefix, 'umbrella')
      assert.ok(seeded)
      assert.equal(seededStatus.ok, true)

      const captured = captureLogs()
      const second = await pass(config(prefix, unreachablePgUrl(BROKEN_PW)), captured.log)
      assert.equal(second.ok, false)
      assert.equal(second.results.acme?.ok, true)
      assert.equal(second.results.globex?.ok, true)
      assert.equal(second.results.umbrella?.ok, false)
      assert.equal(second.results.umbrella?.error_code, 'SOURCE_CONNECT_FAILED')
      assert.equal(second.results.umbrella?.retryable, true)

      assert.equal(await redis.get(`${prefix}umbrella`), seeded, 'previous value kept')
      const after = await status(prefix, 'umbrella')
      assert.equal(after.ok, false)
      assert.equal(after.last_success_at, seededStatus.last_success_at)
      assert.ok(after.checked_at > seededStatus.checked_at)
      assert.equal(after.error_code, 'SOURCE_CONNECT_FAILED')
      assert.match(after.error ?? '', /Cannot connect to PostgreSQL at 127\.0\.0\.1:1/)

      const acmeNow = JSON.parse(await redis.get(`${prefix}acme`) ?? 'null') as
        { counts: unknown }
      assert.deepEqual(acmeNow.counts, { products: 10, orders: 100, customers: 7 })
      assert.equal((await status(prefix, 'acme')).ok, true)

      const everything = [JSON.stringify(second), captured.lines.join('\n'),
        ...(await redis.mget(...(await redis.keys(`${prefix}*`))))].join('\n')
      assert.ok(captured.lines.some((line) => line.includes('"brand":"umbrella"')))
      for (const secret of [HEALTHY_PW, BROKEN_PW]) {
        assert.ok(!everything.includes(secret), `${secret} leaked`)
      }
    })

  test('should record a first failure with no last success', async () => {
    const prefix = newPrefix()
    const report = await pass(config(prefix, unreachablePgUrl(BROKEN_PW)))

    assert.equal(report.results.umbrella?.ok, false)
    assert.equal(await redis.get(`${prefix}umbrella`), null)
    const failed = await status(prefix, 'umbrella')
    assert.deepEqual(Object.keys(failed).sort(), ['brand', 'checked_at', 'duration_ms', 'error',
      'error_code', 'last_success_at', 'ok'])
    assert.equal(failed.brand, 'umbrella')
    assert.equal(failed.last_success_at, null)
    assert.match(failed.checked_at, ISO)
    assert.equal(typeof failed.duration_ms, 'number')
  })

  test('should fail only a brand without a URL, as not worth retrying', async () => {
    const prefix = newPrefix()
    const cfg = testConfig({ BRANDS: 'acme,nourl', UPSTASH_REDIS_URL: REDIS_URL,
      METRICS_KEY_PREFIX: prefix, ACME_DATABASE_URL: acme.url })
    const report = await pass(cfg)

    assert.equal(report.results.acme?.ok, true)
    assert.equal(report.results.nourl?.ok, false)
    assert.equal(report.results.nourl?.error_code, 'BRAND_CONFIG_INVALID')
    assert.equal(report.results.nourl?.retryable, false)
    assert.match((await status(prefix, 'nourl')).error ?? '', /NOURL_DATABASE_URL/)
  })

  test('should write a status of the documented shape on success', async () => {
    const prefix = newPrefix()
    await pass(config(prefix, globex.url))

    const ok = await status(prefix, 'acme')
    const metrics = JSON.parse(await redis.get(`${prefix}acme`) ?? 'null') as
      { timestamp: string }
    assert.deepEqual(Object.keys(ok).sort(), ['brand', 'checked_at', 'duration_ms',
      'last_success_at', 'ok'])
    assert.equal(ok.brand, 'acme')
    assert.equal(ok.ok, true)
    assert.match(ok.checked_at, ISO)
    assert.equal(ok.last_success_at, metrics.timestamp)
    assert.ok(Number.isInteger(ok.duration_ms) && ok.duration_ms >= 0)
  })

  test('should cache metrics with the default TTL and keep no :old on a first pass',
    async () => {
      const prefix = newPrefix()
      await pass(config(prefix, globex.url))

      const ttl = await redis.ttl(`${prefix}acme`)
      assert.ok(ttl > 86400 - 10 && ttl <= 86400, `ttl ${ttl}`)
      assert.equal(await redis.exists(`${prefix}acme:old`), 0)
      assert.equal(await redis.ttl(`${prefix}acme:status`), -1)
    })

  test('should use METRICS_TTL_SECONDS and keep the previous value at :old', async () => {
    const prefix = newPrefix()
    const cfg = config(prefix, globex.url, { METRICS_TTL_SECONDS: '120',
      CACHE_PRESERVE_OLD_SECONDS: '45' })
    await pass(cfg)
    const first = await redis.get(`${prefix}acme`)
    await acme.query("INSERT INTO products (name) VALUES ('new')")
    try {
      await pass(cfg)
    } finally {
      await acme.query("DELETE FROM products WHERE name = 'new'")
    }

    const second = await redis.get(`${prefix}acme`)
    assert.equal(await redis.get(`${prefix}acme:old`), first)
    assert.notEqual(second, first)
    assert.equal((JSON.parse(second ?? '{}') as { counts: { products: number } }).counts
      .products, 11)
    const ttl = await redis.ttl(`${prefix}acme`)
    assert.ok(ttl > 110 && ttl <= 120, `metrics ttl ${ttl}`)
    const oldTtl = await redis.ttl(`${prefix}acme:old`)
    assert.ok(oldTtl > 35 && oldTtl <= 45, `:old ttl ${oldTtl}`)
  })

  test('should honour the alias CACHE_TTL_SECONDS', async () => {
    const prefix = newPrefix()
    await pass(config(prefix, globex.url, { CACHE_TTL_SECONDS: '300' }))

    const ttl = await redis.ttl(`${prefix}globex`)
    assert.ok(ttl > 290 && ttl <= 300, `ttl ${ttl}`)
  })
})
