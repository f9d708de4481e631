import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { Redis } from 'ioredis'
import { loadConfig } from '../../src/config.js'
import { refreshBrands } from '../../src/refresh.js'
import { SourceRegistry } from '../../src/sources/index.js'
import { RedisStore } from '../../src/store/redis-store.js'
import { captureLogs, createShopDatabase, deletePrefix, needs, REDIS_URL, redisClient,
  uniquePrefix, type TestDatabase } from '../helper.js'
import { createMysqlShop, type MysqlTestDatabase } from '../mysql-helper.js'

describe('refresh over PostgreSQL and MySQL brands together',
  { skip: await needs('postgres', 'mysql', 'redis') }, () => {
    let pgShop: TestDatabase
    let myShop: MysqlTestDatabase
    let redis: Redis
    const prefix = uniquePrefix()

    before(async () => {
      pgShop = await createShopDatabase(2, 3, 4)
      myShop = await createMysqlShop(5, 6)
      redis = redisClient()
    })

    after(async () => {
      await deletePrefix(redis, prefix)
      redis.disconnect()
      await pgShop.drop()
      await myShop.drop()
    })

    test('should cache every brand of either engine in one pass and fail only the bad one',
      async () => {
        const badUrl = new URL(myShop.url)
        badUrl.username = 'mc_nobody'
        badUrl.password = 'Very-Secret-Pw-42'
        const config = loadConfig({
          BRANDS: 'pgshop,myshop,mycustom,mybad',
          PGSHOP_DATABASE_URL: pgShop.url,
          MYSHOP_DATABASE_URL: myShop.url,
          MYCUSTOM_DATABASE_URL: myShop.url.replace(/^mysql:/, 'mariadb:'),
          MYCUSTOM_METRICS_QUERY: 'SELECT COUNT(*) AS n, SUM(total) AS revenue FROM orders',
          MYBAD_DATABASE_URL: badUrl.toString(),
          UPSTASH_REDIS_URL: REDIS_URL,
          METRICS_KEY_PREFIX: prefix,
          METRICS_TTL_SECONDS: '600',
          METRICS_CONNECT_TIMEOUT_MS: '3000',
          METRICS_QUERY_TIMEOUT_MS: '5000'
        })
        const store = new RedisStore(REDIS_URL)
        const sources = new SourceRegistry(config)
        const { log, lines } = captureLogs()

        try {
          const report = await refreshBrands({ config, store, sources, log },
            { trigger: 'cli', runId: 'mixed' })

          assert.equal(report.ok, false)
          assert.deepEqual(Object.entries(report.results).map(([id, r]) => [id, r.ok]),
            [['pgshop', true], ['myshop', true], ['mycustom', true], ['mybad', false]])
          assert.equal(report.results.mybad?.error_code, 'SOURCE_CONNECT_FAILED')

          const pg = JSON.parse(await redis.get(`${prefix}pgshop`) ?? 'null')
          assert.deepEqual(pg.counts, { products: 2, orders: 3, customers: 4 })

          const my = JSON.parse(await redis.get(`${prefix}myshop`) ?? 'null')
          assert.deepEqual(my.counts, { products: 5, orders: 6, customers: null })
          assert.match(my.count_errors.customers, /customers/)
          assert.ok((await redis.ttl(`${prefix}myshop`)) > 590)

          const custom = JSON.parse(await redis.get(`${prefix}mycustom`) ?? 'null')
          assert.deepEqual(custom.custom_rows, [{ n: 6, revenue: 31.5 }])

          assert.equal(await redis.get(`${prefix}mybad`), null)
          const status = JSON.parse(await redis.get(`${prefix}mybad:status`) ?? 'null')
          assert.equal(status.ok, false)
          for (const text of [...lines, JSON.stringify(report), JSON.stringify(status)]) {
            assert.ok(!text.includes('Very-Secret-Pw-42'), text)
          }
        } finally {
          await sources.closeAll()
          await store.close()
        }
      })
  })
