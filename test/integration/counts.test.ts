import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { refreshBrands } from '../../src/refresh.js'
import { SourceRegistry } from '../../src/sources/index.js'
import { RedisStore } from '../../src/store/redis-store.js'
import { createPgDatabase, createShopDatabase, deletePrefix, needs, REDIS_URL, redisClient,
  silentLog, testConfig, uniquePrefix, type TestDatabase } from '../helper.js'

describe('default counts', { skip: await needs('postgres', 'redis') }, () => {
  const prefix = uniquePrefix()
  const redis = redisClient()
  const dbs: TestDatabase[] = []

  before(async () => {
    dbs.push(await createShopDatabase(10, 100, 7))
    dbs.push(await createShopDatabase(3, 0, 5))
    dbs.push(await createShopDatabase(4, 2, 1))
    await dbs[2]?.query('DROP TABLE customers')
  })

  after(async () => {
    await deletePrefix(redis, prefix)
    redis.disconnect()
    await Promise.all(dbs.map(async (db) => { await db.drop() }))
  })

  async function refreshAll (): Promise<Record<string, Record<string, unknown>>> {
    const config = testConfig({ BRANDS: 'acme,globex,initech', ACME_DATABASE_URL: dbs[0]?.url,
      GLOBEX_DATABASE_URL: dbs[1]?.url, INITECH_DATABASE_URL: dbs[2]?.url,
      UPSTASH_REDIS_URL: REDIS_URL, METRICS_KEY_PREFIX: prefix })
    const store = new RedisStore(REDIS_URL)
    const sources = new SourceRegistry({ connectTimeoutMs: 5000, queryTimeoutMs: 5000 })
    try {
      const report = await refreshBrands({ config, store, sources, log: silentLog() },
        { trigger: 'cli', runId: 'counts' })
      assert.equal(report.ok, true, JSON.stringify(report.results))
    } finally {
      await Promise.all([store.close(), sources.closeAll()])
    }

    const cached: Record<string, Record<string, unknown>> = {}
    for (const brand of ['acme', 'globex', 'initech']) {
      cached[brand] = JSON.parse(await redis.get(`${prefix}${brand}`) ?? 'null') as
        Record<string, unknown>
    }
    return cached
  }

  test('should cache exact counts per brand as JSON numbers', async () => {
    const cached = await refreshAll()

    assert.deepEqual(cached.acme?.counts, { products: 10, orders: 100, customers: 7 })
    assert.deepEqual(cached.globex?.counts, { products: 3, orders: 0, customers: 5 })
    assert.equal(cached.acme?.brand, 'acme')
    assert.equal(cached.acme?.count_errors, undefined)
    assert.match(String(cached.acme?.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    assert.deepEqual(Object.keys(cached.acme ?? {}), ['brand', 'timestamp', 'counts'])
  })

  test('should give null and a reason for a missing table while the others count', async () => {
    const cached = await refreshAll()

    assert.deepEqual(cached.initech?.counts, { products: 4, orders: 2, customers: null })
    const errors = cached.initech?.count_errors as Record<string, string>
    assert.deepEqual(Object.keys(errors), ['customers'])
    assert.match(errors.customers ?? '', /customers.*does not exist/)
  })

  test('should fail a brand none of whose tables count, keeping no three nulls', async () => {
    const empty = await createPgDatabase('empty')
    const store = new RedisStore(REDIS_URL)
    const sources = new SourceRegistry({ connectTimeoutMs: 5000, queryTimeoutMs: 5000 })
    try {
      const config = testConfig({ BRANDS: 'hollow', HOLLOW_DATABASE_URL: empty.url,
        UPSTASH_REDIS_URL: REDIS_URL, METRICS_KEY_PREFIX: prefix })
      const report = await refreshBrands({ config, store, sources, log: silentLog() },
        { trigger: 'cli', runId: 'empty' })

      assert.equal(report.results.hollow?.ok, false)
      assert.equal(report.results.hollow?.retryable, false)
      assert.match(report.results.hollow?.error ?? '', /None of the tables/)
      assert.equal(await redis.exists(`${prefix}hollow`), 0)
    } finally {
      await Promise.all([store.close(), sources.closeAll()])
      await empty.drop()
    }
  })
})
