import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Env } from '../../src/config.js'
import type { BrandResult, BrandStatus } from '../../src/refresh.js'
import { openRuntime, type Runtime } from '../../src/runtime.js'
import { brandKeys } from '../../src/store/keys.js'
import { eventually, freePort, ourSessions, sleep, startSilentServer, type SilentServer } from
  '../faults.js'
import { adminQuery, captureLogs, createPgDatabase, createShopDatabase, deletePrefix, needs,
  PG_ADMIN_URL, REDIS_URL, redisClient, uniqueName, uniquePrefix, type TestDatabase } from
  '../helper.js'

/** What each faulty brand must report, next to a healthy brand that must still be cached. */
const EXPECTED: Record<string, { code: string, retryable: boolean, says: RegExp }> = {
  hang: { code: 'SOURCE_CONNECT_FAILED', retryable: true, says: /timeout/i },
  closed: { code: 'SOURCE_CONNECT_FAILED', retryable: true, says: /ECONNREFUSED/ },
  badrole: { code: 'SOURCE_CONNECT_FAILED', retryable: true, says: /role .* does not exist/ },
  nodb: { code: 'SOURCE_CONNECT_FAILED', retryable: true, says: /database .* does not exist/ },
  slow: { code: 'SOURCE_QUERY_TIMEOUT', retryable: true, says: /METRICS_QUERY_TIMEOUT_MS/ },
  writer: { code: 'SOURCE_QUERY_FAILED', retryable: false, says: /read-only transaction/ },
  badsql: { code: 'SOURCE_QUERY_FAILED', retryable: false, says: /syntax error/ }
}
/** Passes the leak check runs, each with every fault. */
const PASSES = 100
const PREVIOUS = '{"brand":"previous","timestamp":"2026-01-01T00:00:00.000Z","counts":{}}'

function dbUrl (database: string, user = 'postgres', password = ''): string {
  const url = new URL(PG_ADMIN_URL)
  url.username = user
  url.password = password
  url.pathname = `/${database}`
  return url.toString()
}

describe('brand database faults', { skip: await needs('postgres', 'redis') }, () => {
  let healthy: TestDatabase
  let shared: TestDatabase
  let silent: SilentServer
  let runtime: Runtime
  let app: FastifyInstance
  const prefix = uniquePrefix()
  const redis = redisClient()
  const { log, lines } = captureLogs()
  const brands = ['healthy', ...Object.keys(EXPECTED)]

  before(async () => {
    healthy = await createShopDatabase(5, 6, 7)
    shared = await createShopDatabase(1, 1, 1)
    silent = await startSilentServer()
    const closedPort = await freePort()
    const env: Env = {
      BRANDS: brands.join(','),
      HEALTHY_DATABASE_URL: healthy.url,
      HANG_DATABASE_URL: `postgres://postgres@127.0.0.1:${silent.port}/shop`,
      CLOSED_DATABASE_URL: `postgres://postgres@127.0.0.1:${closedPort}/shop`,
      // pg_hba trusts 127.0.0.1, so a wrong password is never checked: a role that does
      // not exist is the authentication failure this server can produce.
      BADROLE_DATABASE_URL: dbUrl(shared.name, uniqueName('nobody'), 'wrong-password'),
      NODB_DATABASE_URL: dbUrl(uniqueName('missing')),
      SLOW_DATABASE_URL: shared.url,
      SLOW_METRICS_QUERY: 'SELECT pg_sleep(5)::text AS slept',
      WRITER_DATABASE_URL: shared.url,
      WRITER_METRICS_QUERY: 'INSERT INTO products (name) VALUES (\'x\') RETURNING id',
      BADSQL_DATABASE_URL: shared.url,
      BADSQL_METRICS_QUERY: 'SELEC count(*) FROM orders',
      UPSTASH_REDIS_URL: REDIS_URL,
      METRICS_KEY_PREFIX: prefix,
      METRICS_CONNECT_TIMEOUT_MS: '150',
      METRICS_QUERY_TIMEOUT_MS: '200'
    }
    runtime = openRuntime(loadConfig(env), log)
    app = await buildApp(runtime)

    // Each brand starts with a good value from an earlier pass, which a fault must keep.
    for (const brand of brands) {
      const keys = brandKeys(prefix, brand)
      await runtime.store.writeMetrics({ keys, metrics: PREVIOUS, ttlSeconds: 600,
        preserveOldSeconds: 600,
        status: JSON.stringify({ brand, ok: true, checked_at: '2026-01-01T00:00:00.000Z',
          last_success_at: '2026-01-01T00:00:00.000Z', duration_ms: 1 }) })
    }
  })

  after(async () => {
    await app.close()
    await silent.close()
    await deletePrefix(redis, prefix)
    redis.disconnect()
    await Promise.all([healthy.drop(), shared.drop()])
  })

  const trigger = async (): Promise<{ status: number, results: Record<string, BrandResult> }> => {
    const response = await app.inject({ method: 'POST', url: '/qstash' })
    return { status: response.statusCode, results: response.json<{
      results: Record<string, BrandResult> }>().results }
  }

  it('should report each fault per brand and keep its previous value while the healthy ' +
    'brand is cached on time', async (t) => {
    const started = Date.now()
    const { status, results } = await trigger()
    const tookMs = Date.now() - started

    assert.equal(status, 500, 'retryable faults ask QStash to retry')
    assert.equal(results.healthy?.ok, true)
    assert.ok((results.healthy?.duration_ms ?? Infinity) < 1000)
    assert.ok(tookMs < 3000, `the pass took ${tookMs} ms`)
    t.diagnostic(`pass with 7 faults: ${tookMs} ms, healthy brand ${results.healthy?.duration_ms} ms`)

    const keys = brands.map((brand) => brandKeys(prefix, brand))
    const values = await redis.mget(...keys.flatMap((k) => [k.metrics, k.status]))
    assert.match(values[0] ?? '', /"products":5/)
    for (const [i, brand] of brands.entries()) {
      const expected = EXPECTED[brand]
      if (expected === undefined) continue
      const result = results[brand]
      assert.equal(result?.error_code, expected.code, `${brand}: ${result?.error}`)
      assert.equal(result.retryable, expected.retryable, brand)
      assert.match(result.error ?? '', expected.says, brand)

      assert.equal(values[2 * i], PREVIOUS, `${brand} keeps its previous value`)
      const saved = JSON.parse(values[2 * i + 1] ?? '{}') as BrandStatus
      assert.equal(saved.ok, false)
      assert.equal(saved.error_code, expected.code)
      assert.equal(saved.error, result.error)
      assert.equal(saved.last_success_at, '2026-01-01T00:00:00.000Z')

      assert.ok(lines.some((line) => line.includes(`"brand":"${brand}"`) &&
        line.includes('brand failed') && line.includes(`"code":"${expected.code}"`)),
      `${brand}'s failure is logged with its code`)
    }
  })

  it('should stay ready while brand databases fail, since only the store decides', async () => {
    const response = await app.inject({ method: 'GET', url: '/ready' })
    assert.equal(response.statusCode, 200)
    assert.deepEqual(response.json(), { ready: true })
  })

  it(`should leave no connection behind after ${PASSES} passes with faults`, async (t) => {
    const databases = [healthy.name, shared.name]
    const warm = await ourSessions(databases)

    for (let pass = 0; pass < PASSES; pass++) {
      const { results } = await trigger()
      assert.equal(results.healthy?.ok, true, `pass ${pass}: ${results.healthy?.error}`)
    }

    assert.ok(await eventually(async () => await ourSessions(databases) <= warm, true),
      `sessions grew from ${warm} to ${await ourSessions(databases)}`)
    assert.equal(await eventually(async () => silent.open(), 0), 0,
      'no socket to the silent host stays open')
    t.diagnostic(`sessions: ${warm} warm, ${await ourSessions(databases)} after ${PASSES} passes`)
  })
})

describe('a backend killed mid-query', { skip: await needs('postgres', 'redis') }, () => {
  it('should fail only that brand, keep its value and leave no session', async () => {
    const db = await createPgDatabase('killed')
    const prefix = uniquePrefix()
    const redis = redisClient()
    const { log } = captureLogs()
    const runtime = openRuntime(loadConfig({
      BRANDS: 'victim',
      VICTIM_DATABASE_URL: db.url,
      VICTIM_METRICS_QUERY: 'SELECT pg_sleep(5)::text AS slept',
      UPSTASH_REDIS_URL: REDIS_URL,
      METRICS_KEY_PREFIX: prefix
    }), log)
    const app = await buildApp(runtime)
    try {
      const keys = brandKeys(prefix, 'victim')
      await redis.set(keys.metrics, PREVIOUS)

      const pending = app.inject({ method: 'POST', url: '/qstash' })
      const killed = await eventually(async () => await terminate(db.name), true)
      assert.equal(killed, true, 'the running query was found and terminated')
      const response = await pending

      const result = response.json<{ results: Record<string, BrandResult> }>().results.victim
      assert.equal(response.statusCode, 500)
      assert.equal(result?.error_code, 'SOURCE_QUERY_FAILED')
      assert.match(result.error ?? '', /terminat/)
      assert.equal(await redis.get(keys.metrics), PREVIOUS)
      assert.equal(await eventually(async () => await ourSessions([db.name]), 0), 0)
    } finally {
      await app.close()
      await deletePrefix(redis, prefix)
      redis.disconnect()
      await db.drop()
    }
  })
})

async function terminate (database: string): Promise<boolean> {
  await sleep(50)
  const result = await adminQuery(`SELECT pg_terminate_backend(pid) AS done
    FROM pg_stat_activity WHERE datname = '${database}'
    AND application_name = 'metrics-cache' AND query LIKE '%pg_sleep%'`)
  return result.rows.length > 0
}
