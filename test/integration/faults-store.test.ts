import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import type { BrandResult } from '../../src/refresh.js'
import { openRuntime, type Runtime } from '../../src/runtime.js'
import { brandKeys } from '../../src/store/keys.js'
import type { CacheStore, MetricsWrite } from '../../src/store/store.js'
import { freePort, RedisProcess, startRedis } from '../faults.js'
import { captureLogs, createShopDatabase, needs, uniquePrefix, type TestDatabase } from
  '../helper.js'

/** Longest a webhook may take to give up on a dead cache store. */
const BOUND_MS = 10_000

describe('cache store outages', { skip: await needs('postgres', 'redis-server') }, () => {
  let fast: TestDatabase
  let slow: TestDatabase
  let redis: RedisProcess
  let dir: string
  let runtime: Runtime
  let app: FastifyInstance
  let hook: ((brand: string, result: BrandResult) => void) | undefined
  const prefix = uniquePrefix()
  const { log, lines } = captureLogs()

  before(async () => {
    fast = await createShopDatabase(2, 3, 4)
    slow = await createShopDatabase(1, 1, 1)
    dir = await mkdtemp(join(tmpdir(), 'mc-redis-'))
    redis = await startRedis({ dir })
    const config = loadConfig({
      BRANDS: 'fast,slow',
      FAST_DATABASE_URL: fast.url,
      SLOW_DATABASE_URL: slow.url,
      // Long enough for a test to act between the two brands' writes.
      SLOW_METRICS_QUERY: 'SELECT pg_sleep(0.8)::text AS slept, count(*) AS n FROM orders',
      UPSTASH_REDIS_URL: redis.url,
      METRICS_KEY_PREFIX: prefix,
      QSTASH_AUTH_TOKEN: 'store-fault-token'
    })
    runtime = openRuntime(config, log)
    app = await buildApp({ ...runtime, onBrandResult: (brand, result) => hook?.(brand, result) })
  })

  after(async () => {
    await app.close()
    await redis.kill()
    await Promise.all([fast.drop(), slow.drop(), rm(dir, { recursive: true, force: true })])
  })

  const trigger = async (): Promise<{ status: number, ms: number, body: Body }> => {
    const started = Date.now()
    const response = await app.inject({ method: 'POST', url: '/qstash',
      headers: { authorization: 'Bearer store-fault-token' } })
    return { status: response.statusCode, ms: Date.now() - started, body: response.json() }
  }
  const ready = async (): Promise<{ status: number, ms: number }> => {
    const started = Date.now()
    const response = await app.inject({ method: 'GET', url: '/ready' })
    return { status: response.statusCode, ms: Date.now() - started }
  }
  const snapshot = async (): Promise<Record<string, Stored>> => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 })
    try {
      const out: Record<string, Stored> = {}
      for (const brand of ['fast', 'slow']) {
        const keys = brandKeys(prefix, brand)
        const [metrics, status] = await client.mget(keys.metrics, keys.status)
        out[brand] = { metrics: parse(metrics ?? null), status: parse(status ?? null) }
      }
      return out
    } finally {
      client.disconnect()
    }
  }

  it('should answer /ready 200 and cache every brand while the store is up', async () => {
    assert.equal((await ready()).status, 200)
    const first = await trigger()
    assert.equal(first.status, 200, JSON.stringify(first.body))
    const stored = await snapshot()
    assertConsistent(stored)
    assert.equal(stored.fast?.status?.ok, true)
  })

  it('should answer 503 within the bound when the store is down before a pass, then recover ' +
    'without a restart', async (t) => {
    await redis.kill()

    const down = await trigger()
    assert.equal(down.status, 503)
    assert.ok(down.ms < BOUND_MS, `took ${down.ms} ms`)
    for (const brand of ['fast', 'slow']) {
      assert.equal(down.body.results[brand]?.error_code, 'STORE_UNAVAILABLE')
    }
    const notReady = await ready()
    assert.equal(notReady.status, 503)
    assert.ok(notReady.ms < 3000, `/ready took ${notReady.ms} ms`)
    t.diagnostic(`store down: webhook 503 in ${down.ms} ms, /ready 503 in ${notReady.ms} ms`)
    assert.ok(lines.some((line) => line.includes('"code":"STORE_UNAVAILABLE"') &&
      line.includes('brand failed')), 'the log names the store failure per brand')

    await redis.start()
    const back = await trigger()
    assert.equal(back.status, 200, JSON.stringify(back.body))
    assert.equal((await ready()).status, 200)
  })

  it('should leave no brand half-written when the store dies between two brands\' writes',
    async () => {
      const good = await trigger()
      assert.equal(good.status, 200)
      const before = await snapshot()

      hook = (brand) => { if (brand === 'fast') void redis.kill() }
      const cut = await trigger()
      hook = undefined
      assert.equal(cut.status, 503)
      assert.ok(cut.ms < BOUND_MS, `took ${cut.ms} ms`)
      assert.equal(cut.body.results.fast?.ok, true)
      assert.equal(cut.body.results.slow?.error_code, 'STORE_UNAVAILABLE')

      await redis.start()
      const after = await snapshot()
      assertConsistent(after)
      assert.notEqual(after.fast?.metrics?.timestamp, before.fast?.metrics?.timestamp,
        'the brand written before the outage keeps its new value')
      assert.deepEqual(after.slow, before.slow, 'the brand after the outage keeps its old one')

      assert.equal((await trigger()).status, 200)
    })

  it('should write all of a brand or none of it when the store dies during the write',
    async (t) => {
      const outcomes: number[] = []
      for (let round = 0; round < 3; round++) {
        const killing = killingStore(runtime.store, redis)
        const cutApp = await buildApp({ ...runtime, store: killing })
        const started = Date.now()
        const response = await cutApp.inject({ method: 'POST', url: '/qstash',
          headers: { authorization: 'Bearer store-fault-token' },
          body: { brands: ['fast'] } })
        outcomes.push(response.statusCode)
        assert.ok(Date.now() - started < BOUND_MS)
        assert.ok([200, 503].includes(response.statusCode))

        await redis.start()
        assertConsistent(await snapshot())
      }
      assert.ok(outcomes.includes(503), `outcomes ${outcomes.join(',')}`)
      t.diagnostic(`killed mid-write: answers ${outcomes.join(', ')}`)
      assert.equal((await trigger()).status, 200)
    })

  it('should start while the store is down, answer 503, and work once it comes up', async () => {
    const late = new RedisProcess(await freePort())
    const lateRuntime = openRuntime(loadConfig({ BRANDS: 'fast', FAST_DATABASE_URL: fast.url,
      UPSTASH_REDIS_URL: late.url, METRICS_KEY_PREFIX: prefix }), log)
    const lateApp = await buildApp(lateRuntime)
    try {
      const started = Date.now()
      const down = await lateApp.inject({ method: 'POST', url: '/qstash' })
      assert.equal(down.statusCode, 503)
      assert.ok(Date.now() - started < BOUND_MS)
      assert.equal((await lateApp.inject({ method: 'GET', url: '/ready' })).statusCode, 503)

      await late.start()
      assert.equal((await lateApp.inject({ method: 'POST', url: '/qstash' })).statusCode, 200)
      assert.equal((await lateApp.inject({ method: 'GET', url: '/ready' })).statusCode, 200)
    } finally {
      await lateApp.close()
      await late.kill()
    }
  })

  it('should answer 503 within the bound when the store hangs without closing, then recover',
    async (t) => {
      redis.freeze(true)
      try {
        const hung = await trigger()
        assert.equal(hung.status, 503)
        assert.ok(hung.ms < BOUND_MS, `took ${hung.ms} ms`)
        const notReady = await ready()
        assert.equal(notReady.status, 503)
        assert.ok(notReady.ms < 3000, `/ready took ${notReady.ms} ms`)
        t.diagnostic(`store hung: webhook 503 in ${hung.ms} ms, /ready 503 in ${notReady.ms} ms`)
      } finally {
        redis.freeze(false)
      }
      const thawed = await trigger()
      assert.equal(thawed.status, 200, JSON.stringify(thawed.body))
      assertConsistent(await snapshot())
    })
})

interface Body { results: Record<string, BrandResult> }
interface Stored {
  metrics: { timestamp?: string } | null
  status: { ok?: boolean, last_success_at?: string | null } | null
}

function parse (text: string | null): Record<string, unknown> | null {
  return text === null ? null : JSON.parse(text) as Record<string, unknown>
}

/**
 * A brand is whole when its status and its value agree: a status saying "cached at T"
 * has a value stamped T, and a value never lacks a status.
 */
function assertConsistent (stored: Record<string, Stored>): void {
  for (const [brand, { metrics, status }] of Object.entries(stored)) {
    if (metrics !== null) assert.notEqual(status, null, `${brand} has a value without status`)
    if (status?.ok === true) {
      assert.equal(status.last_success_at, metrics?.timestamp,
        `${brand}'s status claims a value that is not there`)
    }
  }
}

/** The real store, whose Redis is killed the moment a metrics write has been sent. */
function killingStore (store: CacheStore, redis: RedisProcess): CacheStore {
  return {
    kind: store.kind,
    writeMetrics: async (write: MetricsWrite) => {
      const sent = store.writeMetrics(write)
      void redis.kill()
      await sent
    },
    writeStatus: async (key, status) => { await store.writeStatus(key, status) },
    getMany: async (keys) => await store.getMany(keys),
    tryLock: async (key, token, ttl) => await store.tryLock(key, token, ttl),
    unlock: async (key, token) => { await store.unlock(key, token) },
    addMember: async (key, member, ttl) => { await store.addMember(key, member, ttl) },
    members: async (key) => await store.members(key),
    ping: async () => { await store.ping() },
    // The shared store outlives this app; the suite closes it.
    close: async () => {}
  }
}
