import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Env } from '../../src/config.js'
import type { BrandResult } from '../../src/refresh.js'
import { SourceRegistry } from '../../src/sources/index.js'
import { RedisStore } from '../../src/store/redis-store.js'
import { createShopDatabase, deletePrefix, needs, PG_ADMIN_URL, redisClient, REDIS_URL,
  uniquePrefix, type TestDatabase } from '../helper.js'

const SILENT = pino({ level: 'silent' })

/** The value of one sample line, e.g. `metrics_cache_x{brand="a"}`; undefined if absent. */
function sample (text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('Prometheus /metrics', { skip: await needs('postgres', 'redis') }, () => {
  const redis = redisClient()
  const prefix = uniquePrefix()
  let shop: TestDatabase
  let app: FastifyInstance
  const seen: Array<[string, BrandResult]> = []

  const build = async (env: Env): Promise<FastifyInstance> => {
    const missing = new URL(PG_ADMIN_URL)
    missing.pathname = '/mc_no_such_database'
    const config = loadConfig({
      BRANDS: 'shop,broken',
      SHOP_DATABASE_URL: shop.url,
      BROKEN_DATABASE_URL: missing.toString(),
      UPSTASH_REDIS_URL: REDIS_URL,
      METRICS_KEY_PREFIX: prefix,
      ...env
    })
    const sources = new SourceRegistry({ connectTimeoutMs: 5000, queryTimeoutMs: 5000 })
    return await buildApp({ config, store: new RedisStore(REDIS_URL), sources, log: SILENT,
      onBrandResult: (brand, result) => { seen.push([brand, result]) } })
  }

  before(async () => {
    shop = await createShopDatabase(3, 4, 5)
    app = await build({})
  })
  after(async () => {
    await app.close()
    await shop.drop()
    await deletePrefix(redis, prefix)
    await redis.quit()
  })

  test('should export per-brand series after a refresh with a failing brand', async () => {
    const before = Date.now() / 1000
    const refresh = await app.inject({ method: 'POST', url: '/qstash', body: '' })
    assert.equal(refresh.statusCode, 500, refresh.body)

    const response = await app.inject({ method: 'GET', url: '/metrics' })

    assert.equal(response.statusCode, 200)
    assert.match(response.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/)
    const text = response.body
    for (const brand of ['shop', 'broken']) {
      assert.equal(sample(text,
        `metrics_cache_refresh_duration_seconds_count{brand="${brand}"}`), 1, brand)
    }
    const lastSuccess = sample(text, 'metrics_cache_last_success_timestamp_seconds{brand="shop"}')
    assert.ok(lastSuccess !== undefined && lastSuccess >= before - 1, String(lastSuccess))
    assert.equal(sample(text,
      'metrics_cache_last_success_timestamp_seconds{brand="broken"}'), undefined)
    assert.equal(sample(text, 'metrics_cache_refresh_failures_total{brand="broken",' +
      'code="SOURCE_CONNECT_FAILED"}'), 1)
    assert.doesNotMatch(text, /refresh_failures_total\{brand="shop"/)
    assert.equal(sample(text, 'metrics_cache_webhook_responses_total{code="500"}'), 1)
  })

  test('should still call the onBrandResult the caller gave', () => {
    assert.deepEqual(seen.map(([brand, result]) => [brand, result.ok]).sort(),
      [['broken', false], ['shop', true]])
  })

  test('should export process metrics under the metrics_cache_ prefix', async () => {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body

    assert.ok(sample(text, 'metrics_cache_process_resident_memory_bytes') !== undefined)
    assert.match(text, /^metrics_cache_nodejs_heap_size_used_bytes \d+/m)
    const names = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))
    assert.ok(names.every((l) => l.startsWith('metrics_cache_')), 'unprefixed series')
  })

  test('should count every webhook answer, refusals included, by status code', async () => {
    const guarded = await build({ QSTASH_AUTH_TOKEN: 'hook-token-1' })
    try {
      const auth = { authorization: 'Bearer hook-token-1' }
      const answers = await Promise.all([
        guarded.inject({ method: 'POST', url: '/qstash' }),
        guarded.inject({ method: 'POST', url: '/qstash', headers: auth,
          body: Buffer.alloc(1024 * 1024 + 1, 'x') }),
        guarded.inject({ method: 'POST', url: '/qstash', headers: auth,
          body: '{"brands":["nobody"]}' })
      ])
      assert.deepEqual(answers.map((a) => a.statusCode), [401, 413, 489])

      const text = (await guarded.inject({ method: 'GET', url: '/metrics' })).body
      for (const code of ['401', '413', '489']) {
        assert.equal(sample(text, `metrics_cache_webhook_responses_total{code="${code}"}`), 1)
      }
      assert.doesNotMatch(text, /webhook_responses_total\{code="500"\}/,
        'each app keeps its own registry')
    } finally {
      await guarded.close()
    }
  })

  test('should list configured brands at zero before any refresh', async () => {
    const fresh = await build({})
    try {
      const text = (await fresh.inject({ method: 'GET', url: '/metrics' })).body
      assert.equal(sample(text,
        'metrics_cache_refresh_duration_seconds_count{brand="broken"}'), 0)
    } finally {
      await fresh.close()
    }
  })
})
