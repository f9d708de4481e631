import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Env } from '../../src/config.js'
import { SourceRegistry } from '../../src/sources/index.js'
import { RedisStore } from '../../src/store/redis-store.js'
import { messageKey } from '../../src/store/keys.js'
import { captureLogs, createPgDatabase, deletePrefix, needs, REDIS_URL, redisClient,
  uniquePrefix, type TestDatabase } from '../helper.js'
import { createProbeDatabase, probeScans, slowProbeQuery } from '../pg-probe.js'
import { signQstash, TEST_KEYS } from '../qstash-signer.js'

const BRANDS = ['b1', 'b2', 'b3', 'b4']

interface Answer {
  statusCode: number
  headers: Record<string, unknown>
  json: { status: string, results: Record<string, { ok: boolean, error_code?: string }>,
    already_done?: string[], message?: string }
}

async function buildTestApp (env: Env): Promise<FastifyInstance> {
  const config = loadConfig({ UPSTASH_REDIS_URL: REDIS_URL,
    QSTASH_CURRENT_SIGNING_KEY: TEST_KEYS.current, QSTASH_NEXT_SIGNING_KEY: TEST_KEYS.next,
    METRICS_QUERY_TIMEOUT_MS: '10000', METRICS_CONNECT_TIMEOUT_MS: '3000', ...env })
  const sources = new SourceRegistry({ connectTimeoutMs: config.connectTimeoutMs,
    queryTimeoutMs: config.queryTimeoutMs })
  const store = new RedisStore(config.cache?.kind === 'redis' ? config.cache.url : REDIS_URL,
    { commandTimeoutMs: 1000 })
  return await buildApp({ config, store, sources, log: captureLogs('warn').log })
}

async function trigger (app: FastifyInstance, body: string, messageId?: string):
Promise<Answer> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'upstash-signature': signQstash(body, TEST_KEYS.current)
  }
  if (messageId !== undefined) headers['upstash-message-id'] = messageId
  const response = await app.inject({ method: 'POST', url: '/qstash', payload: body, headers })
  return { statusCode: response.statusCode, headers: response.headers, json: response.json() }
}

function brandEnv (dbs: Record<string, TestDatabase>, query: string): Env {
  const env: Env = { BRANDS: Object.keys(dbs).join(',') }
  for (const [id, db] of Object.entries(dbs)) {
    env[`${id.toUpperCase()}_DATABASE_URL`] = db.url
    env[`${id.toUpperCase()}_METRICS_QUERY`] = query
  }
  return env
}

describe('POST /qstash against real databases and Redis',
  { skip: await needs('postgres', 'redis') }, () => {
    let redis: Redis
    const prefixes: string[] = []
    const databases: TestDatabase[] = []

    before(() => { redis = redisClient() })
    after(async () => {
      for (const prefix of prefixes) await deletePrefix(redis, prefix)
      await Promise.all(databases.map(async (db) => { await db.drop() }))
      redis.disconnect()
    })

    async function probes (ids: string[]): Promise<Record<string, TestDatabase>> {
      const made = await Promise.all(ids.map(async (id) => await createProbeDatabase(id)))
      databases.push(...made)
      return Object.fromEntries(ids.map((id, i) => [id, made[i] as TestDatabase]))
    }

    function prefix (): string {
      const value = uniquePrefix()
      prefixes.push(value)
      return value
    }

    test('should query each brand at most twice for a burst of 50 triggers', async () => {
      const dbs = await probes(BRANDS)
      const app = await buildTestApp({ ...brandEnv(dbs, slowProbeQuery(1000)),
        METRICS_KEY_PREFIX: prefix() })

      const answers = await Promise.all(Array.from({ length: 50 }, async (_, i) =>
        await trigger(app, `{"event":"done","n":${i}}`, `msg-burst-${i}`)))
      await app.close()

      assert.ok(answers.every((answer) => answer.statusCode === 200))
      assert.ok(answers.every((answer) =>
        BRANDS.every((id) => answer.json.results[id]?.ok === true)))
      for (const id of BRANDS) {
        const scans = await probeScans(dbs[id] as TestDatabase)
        assert.ok(scans >= 1 && scans <= 2, `brand ${id} was queried ${scans} times`)
      }
    })

    test('should redo only the failed brand when QStash redelivers, on another instance',
      async () => {
        const dbs = await probes(['good'])
        const late = await createPgDatabase('late')
        await late.drop()
        const keyPrefix = prefix()
        const env = { ...brandEnv({ ...dbs, late }, slowProbeQuery(1)),
          METRICS_KEY_PREFIX: keyPrefix }
        const messageId = `msg-${randomUUID()}`

        const first = await buildTestApp(env)
        const failed = await trigger(first, '{"event":"done"}', messageId)
        await first.close()
        assert.equal(failed.statusCode, 500)
        assert.equal(failed.json.results.good?.ok, true)
        assert.equal(failed.json.results.late?.error_code, 'SOURCE_CONNECT_FAILED')
        assert.deepEqual(await redis.smembers(messageKey(keyPrefix, messageId)), ['good'])
        const ttl = await redis.ttl(messageKey(keyPrefix, messageId))
        assert.ok(ttl > 86_000 && ttl <= 86_400, `progress TTL ${ttl}`)

        // The database comes back; QStash redelivers the same message to another instance.
        const revived = await createPgDatabase('late')
        databases.push(revived)
        await revived.query('CREATE TABLE probe (id int)')
        const second = await buildTestApp({ ...env, LATE_DATABASE_URL: revived.url })
        const redelivered = await trigger(second, '{"event":"done"}', messageId)
        const again = await trigger(second, '{"event":"done"}', messageId)
        await second.close()

        assert.equal(redelivered.statusCode, 200)
        assert.deepEqual(Object.keys(redelivered.json.results), ['late'])
        assert.deepEqual(redelivered.json.already_done, ['good'])
        assert.equal(again.statusCode, 200)
        assert.deepEqual(again.json.results, {})
        assert.deepEqual(again.json.already_done?.sort(), ['good', 'late'])
        assert.equal(await probeScans(dbs.good as TestDatabase), 1)
        assert.equal(await probeScans(revived), 1)
      })

    test('should refresh only the brands a body names', async () => {
      const dbs = await probes(['only', 'other'])
      const keyPrefix = prefix()
      const app = await buildTestApp({ ...brandEnv(dbs, slowProbeQuery(1)),
        METRICS_KEY_PREFIX: keyPrefix })
      const answer = await trigger(app, '{"brands": ["only"]}')
      await app.close()

      assert.equal(answer.statusCode, 200)
      assert.deepEqual(Object.keys(answer.json.results), ['only'])
      assert.equal(await probeScans(dbs.only as TestDatabase), 1)
      assert.equal(await probeScans(dbs.other as TestDatabase), 0)
      assert.equal(await redis.exists(`${keyPrefix}other`), 0)
    })

    test('should answer 489 naming an unknown brand and refresh nothing', async () => {
      const dbs = await probes(['known'])
      const keyPrefix = prefix()
      const app = await buildTestApp({ ...brandEnv(dbs, slowProbeQuery(1)),
        METRICS_KEY_PREFIX: keyPrefix })
      const answer = await trigger(app, '{"brands": ["known", "ghost"]}')
      await app.close()

      assert.equal(answer.statusCode, 489)
      assert.equal(answer.headers['upstash-nonretryable-error'], 'true')
      assert.match(answer.json.message ?? '', /"ghost"/)
      assert.equal(await probeScans(dbs.known as TestDatabase), 0)
      assert.deepEqual(await redis.keys(`${keyPrefix}*`), [])
    })

    test('should take any other body as a trigger for every brand', async () => {
      const dbs = await probes(['p1', 'p2'])
      const app = await buildTestApp({ ...brandEnv(dbs, slowProbeQuery(1)),
        METRICS_KEY_PREFIX: prefix() })
      const bodies = ['', 'pipeline finished', '{"brands": "p1"}', '[1, 2]', '{"brands": []}',
        JSON.stringify({ status: 200, sourceMessageId: 'msg_1', body: 'eyJicmFuZHMiOlsicDEiXX0=',
          url: 'http://localhost/qstash' })]

      for (const body of bodies) {
        const answer = await trigger(app, body)
        assert.equal(answer.statusCode, 200, `body ${JSON.stringify(body)}`)
        assert.deepEqual(Object.keys(answer.json.results).sort(), ['p1', 'p2'])
      }
      await app.close()
    })

    test('should answer 200 and record the status when a brand has no database URL',
      async () => {
        const dbs = await probes(['fine'])
        const keyPrefix = prefix()
        const app = await buildTestApp({ ...brandEnv(dbs, slowProbeQuery(1)),
          BRANDS: 'fine,nourl', METRICS_KEY_PREFIX: keyPrefix })
        const answer = await trigger(app, '{}', `msg-${randomUUID()}`)
        await app.close()

        assert.equal(answer.statusCode, 200)
        assert.equal(answer.json.status, 'error')
        assert.equal(answer.json.results.nourl?.error_code, 'BRAND_CONFIG_INVALID')
        const status = JSON.parse(await redis.get(`${keyPrefix}nourl:status`) ?? '{}')
        assert.equal(status.ok, false)
        assert.match(status.error, /NOURL_DATABASE_URL/)
      })

    test('should answer 503 when the cache store cannot be reached', async () => {
      const dbs = await probes(['cut'])
      const app = await buildTestApp({ ...brandEnv(dbs, slowProbeQuery(1)),
        UPSTASH_REDIS_URL: 'redis://127.0.0.1:1', METRICS_KEY_PREFIX: prefix() })
      const withId = await trigger(app, '{}', `msg-${randomUUID()}`)
      const withoutId = await trigger(app, '{}')
      await app.close()

      assert.equal(withId.statusCode, 503)
      assert.equal(withoutId.statusCode, 503)
      assert.equal(withoutId.json.results.cut?.error_code, 'STORE_UNAVAILABLE')
      assert.equal(await probeScans(dbs.cut as TestDatabase), 0)
    })
  })
