import { after, afterEach, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Env } from '../../src/config.js'
import { SourceRegistry } from '../../src/sources/index.js'
import { RedisStore } from '../../src/store/redis-store.js'
import { startRedis, type RedisProcess } from '../faults.js'
import { createPgDatabase, deletePrefix, needs, REDIS_URL, redisClient, uniquePrefix,
  type TestDatabase } from '../helper.js'

const SILENT = pino({ level: 'silent' })
const BRAND_URL = '/api/metrics/acme'

interface Instance {
  app: FastifyInstance
  /** Calls of the store's getMany so far: one per read that reached the store. */
  reads: () => number
}

describe('read API cache', { skip: await needs('postgres', 'redis') }, () => {
  const redis = redisClient()
  const prefixes: string[] = []
  const apps: FastifyInstance[] = []
  let db: TestDatabase

  before(async () => {
    db = await createPgDatabase('readcache')
    await db.query('CREATE TABLE v (n int); INSERT INTO v VALUES (1)')
  })
  afterEach(async () => {
    await Promise.all(apps.splice(0).map(async (app) => { await app.close() }))
  })
  after(async () => {
    for (const prefix of prefixes) await deletePrefix(redis, prefix)
    await db.drop()
    await redis.quit()
  })

  /** An instance whose brands acme and later both read table v; `redisUrl` may differ. */
  async function instance (prefix: string, env: Env, redisUrl = REDIS_URL): Promise<Instance> {
    const config = loadConfig({
      BRANDS: 'acme,later',
      ACME_DATABASE_URL: db.url,
      ACME_METRICS_QUERY: 'SELECT n FROM v',
      LATER_DATABASE_URL: db.url,
      LATER_METRICS_QUERY: 'SELECT n FROM v',
      UPSTASH_REDIS_URL: redisUrl,
      METRICS_KEY_PREFIX: prefix,
      ...env
    })
    const store = new RedisStore(redisUrl, { commandTimeoutMs: 500 })
    let reads = 0
    const getMany = store.getMany.bind(store)
    store.getMany = async (keys) => { reads++; return await getMany(keys) }
    const sources = new SourceRegistry({ connectTimeoutMs: 2000, queryTimeoutMs: 2000 })
    const app = await buildApp({ config, store, sources, log: SILENT })
    apps.push(app)
    return { app, reads: () => reads }
  }

  function newPrefix (): string {
    const prefix = uniquePrefix()
    prefixes.push(prefix)
    return prefix
  }

  async function refresh (app: FastifyInstance, brands: string[]): Promise<void> {
    const response = await app.inject({ method: 'POST', url: '/qstash', body: { brands } })
    assert.equal(response.statusCode, 200, response.body)
  }

  async function valueOf (app: FastifyInstance, url = BRAND_URL): Promise<number | null> {
    const response = await app.inject({ method: 'GET', url })
    if (response.statusCode === 404) return null
    assert.equal(response.statusCode, 200, response.body)
    const body = response.json()
    const view = url === BRAND_URL ? body : body.brands.acme
    return view.metrics.custom_rows[0].n
  }

  async function setValue (n: number): Promise<void> {
    await db.query(`UPDATE v SET n = ${n}`)
  }

  test('should answer a second read within the window without touching the store',
    async () => {
      await setValue(1)
      const one = await instance(newPrefix(), { API_CACHE_MS: '60000' })
      await refresh(one.app, ['acme'])
      const before = one.reads()

      const first = await one.app.inject({ method: 'GET', url: BRAND_URL })
      const second = await one.app.inject({ method: 'GET', url: BRAND_URL })
      const all = await one.app.inject({ method: 'GET', url: '/api/metrics' })
      const allAgain = await one.app.inject({ method: 'GET', url: '/api/metrics' })

      assert.equal(one.reads() - before, 2, 'one store read per route')
      assert.equal(second.body, first.body)
      assert.equal(second.headers.etag, first.headers.etag)
      assert.equal(second.headers['content-type'], 'application/json; charset=utf-8')
      assert.equal(second.headers['cache-control'], 'private, max-age=0, must-revalidate')
      assert.equal(allAgain.body, all.body)
      assert.deepEqual(Object.keys(allAgain.json().brands), ['acme', 'later'])
    })

  test('should answer 304 from a kept answer when the ETag matches', async () => {
    await setValue(1)
    const one = await instance(newPrefix(), { API_CACHE_MS: '60000' })
    await refresh(one.app, ['acme'])
    const first = await one.app.inject({ method: 'GET', url: BRAND_URL })
    const before = one.reads()

    const again = await one.app.inject({ method: 'GET', url: BRAND_URL,
      headers: { 'if-none-match': first.headers.etag as string } })

    assert.equal(again.statusCode, 304)
    assert.equal(again.body, '')
    assert.equal(again.headers.etag, first.headers.etag)
    assert.equal(one.reads(), before)
  })

  test('should show this instance\'s refresh on the very next read', async () => {
    await setValue(1)
    const one = await instance(newPrefix(), { API_CACHE_MS: '60000' })
    assert.equal(await valueOf(one.app), null, 'nothing cached yet: a 404 is kept')
    await refresh(one.app, ['acme'])
    assert.equal(await valueOf(one.app), 1, 'the kept 404 was dropped by the refresh')
    assert.equal(await valueOf(one.app, '/api/metrics'), 1)

    await setValue(2)
    await refresh(one.app, ['acme'])

    assert.equal(await valueOf(one.app), 2)
    assert.equal(await valueOf(one.app, '/api/metrics'), 2)
  })

  test('should show another instance\'s write once the window has passed', async () => {
    const windowMs = 300
    const prefix = newPrefix()
    const reader = await instance(prefix, { API_CACHE_MS: String(windowMs) })
    const writer = await instance(prefix, { API_CACHE_MS: String(windowMs) })
    await setValue(1)
    await refresh(writer.app, ['acme'])
    assert.equal(await valueOf(reader.app), 1)
    const never = await reader.app.inject({ method: 'GET', url: '/api/metrics/later' })
    assert.equal(never.statusCode, 404)

    await setValue(2)
    const started = performance.now()
    await refresh(writer.app, ['acme', 'later'])
    const written = performance.now()
    const stale = await valueOf(reader.app)
    if (performance.now() - started < windowMs) assert.equal(stale, 1, 'still in the window')

    const shown = await firstTime(async () => await valueOf(reader.app) === 2)
    const laterShown = await firstTime(async () => (await reader.app.inject({ method: 'GET',
      url: '/api/metrics/later' })).statusCode === 200)
    // Measured from the end of the write, plus a margin for one read on a busy machine.
    assert.ok(shown - written <= windowMs + 250, `shown after ${shown - written} ms`)
    assert.ok(laterShown - written <= windowMs + 250, `404 kept ${laterShown - written} ms`)
  })

  test('should read the store on every request when API_CACHE_MS is 0', async () => {
    await setValue(1)
    const one = await instance(newPrefix(), { API_CACHE_MS: '0' })
    await refresh(one.app, ['acme'])
    const before = one.reads()

    for (let i = 0; i < 3; i++) {
      await one.app.inject({ method: 'GET', url: BRAND_URL })
      await one.app.inject({ method: 'GET', url: '/api/metrics' })
    }

    assert.equal(one.reads() - before, 6)
  })

  test('should refuse a caller without the token even with an answer kept', async () => {
    await setValue(1)
    const one = await instance(newPrefix(),
      { API_CACHE_MS: '60000', API_READ_TOKEN: 'read-secret-123' })
    await refresh(one.app, ['acme'])
    const authorization = 'Bearer read-secret-123'
    for (const url of [BRAND_URL, '/api/metrics']) {
      const kept = await one.app.inject({ method: 'GET', url, headers: { authorization } })
      assert.equal(kept.statusCode, 200)

      const without = await one.app.inject({ method: 'GET', url })
      const wrong = await one.app.inject({ method: 'GET', url,
        headers: { authorization: 'Bearer read-secret-12', 'if-none-match': '*' } })

      assert.equal(without.statusCode, 401, url)
      assert.equal(wrong.statusCode, 401, url)
      assert.doesNotMatch(without.body + wrong.body, /custom_rows/)
    }
  })

  describe('with a Redis that dies', () => {
    let ownRedis: RedisProcess

    before(async () => { ownRedis = await startRedis() })
    after(async () => { await ownRedis.kill() })

    test('should serve the kept answer within the window, then answer 503', async () => {
      const windowMs = 1500
      await setValue(1)
      const one = await instance(uniquePrefix(), { API_CACHE_MS: String(windowMs) },
        ownRedis.url)
      await refresh(one.app, ['acme'])
      const kept = await one.app.inject({ method: 'GET', url: BRAND_URL })
      const read = performance.now()

      await ownRedis.kill()
      const during = await one.app.inject({ method: 'GET', url: BRAND_URL })
      const inWindow = performance.now() - read < windowMs
      await sleep(Math.max(0, windowMs - (performance.now() - read)) + 50)
      const afterWindow = await one.app.inject({ method: 'GET', url: BRAND_URL })

      if (inWindow) assert.equal(during.body, kept.body)
      assert.equal(afterWindow.statusCode, 503)
      assert.doesNotMatch(afterWindow.body, /custom_rows/)
    })
  })
})

/** performance.now() when `check` first holds, polling every 10 ms for up to 5 s. */
async function firstTime (check: () => Promise<boolean>): Promise<number> {
  const deadline = performance.now() + 5000
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error('the condition never held within 5 s')
    await sleep(10)
  }
  return performance.now()
}
