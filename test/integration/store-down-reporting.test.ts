import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import type { BrandResult } from '../../src/refresh.js'
import { SourceRegistry } from '../../src/sources/index.js'
import { RedisStore } from '../../src/store/redis-store.js'
import { freePort } from '../faults.js'
import { captureLogs, uniquePrefix } from '../helper.js'

/** The value of one sample line of the Prometheus text; undefined if absent. */
function sample (text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

// No service needed: the store is a real RedisStore aimed at a port nothing listens on,
// and the brands' databases are never reached because their locks cannot be taken.
describe('brand results while the cache store is down', () => {
  const { log, lines } = captureLogs('info')
  const seen: Array<[string, BrandResult]> = []
  let app: FastifyInstance

  before(async () => {
    const url = `redis://127.0.0.1:${await freePort()}`
    const config = loadConfig({
      BRANDS: 'acme,globex',
      ACME_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/acme',
      GLOBEX_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/globex',
      UPSTASH_REDIS_URL: url,
      METRICS_KEY_PREFIX: uniquePrefix()
    })
    app = await buildApp({
      config,
      store: new RedisStore(url),
      sources: new SourceRegistry({ connectTimeoutMs: 1000, queryTimeoutMs: 1000 }),
      log,
      onBrandResult: (brand, result) => { seen.push([brand, result]) }
    })
  })
  after(async () => { await app.close() })

  it('should log, count and time every brand once when the store refuses the lock',
    async () => {
      const response = await app.inject({ method: 'POST', url: '/qstash' })
      assert.equal(response.statusCode, 503, response.body)

      assert.deepEqual(seen.map(([brand, result]) => [brand, result.error_code]).sort(),
        [['acme', 'STORE_UNAVAILABLE'], ['globex', 'STORE_UNAVAILABLE']])
      const failed = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line.msg === 'brand failed')
      assert.deepEqual(failed.map((line) => line.brand).sort(), ['acme', 'globex'])
      for (const line of failed) {
        assert.equal(line.level, 'warn')
        assert.equal(line.code, 'STORE_UNAVAILABLE')
        assert.equal(typeof line.duration_ms, 'number')
      }

      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
      for (const brand of ['acme', 'globex']) {
        assert.equal(sample(text, 'metrics_cache_refresh_failures_total' +
          `{brand="${brand}",code="STORE_UNAVAILABLE"}`), 1, brand)
        assert.equal(sample(text,
          `metrics_cache_refresh_duration_seconds_count{brand="${brand}"}`), 1, brand)
      }
    })
})
