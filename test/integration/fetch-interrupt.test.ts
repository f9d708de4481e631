import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startCli } from '../cli-process.js'
import { eventually, ourSessions, startSilentServer } from '../faults.js'
import { createPgDatabase, deletePrefix, needs, redisClient, REDIS_URL, uniquePrefix,
  type TestDatabase } from '../helper.js'

describe('fetch interrupted by a signal', { skip: await needs('postgres', 'redis') }, () => {
  const redis = redisClient()
  const prefix = uniquePrefix()
  let db: TestDatabase

  before(async () => { db = await createPgDatabase('interrupt') })
  after(async () => {
    await db.drop()
    await deletePrefix(redis, prefix)
    await redis.quit()
  })

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`should cancel the pass on ${signal}, record the failure and free the lock`,
      async () => {
        const { child, done } = await startCli(['fetch', '--json'], {
          BRANDS: 'slow',
          SLOW_DATABASE_URL: db.url,
          SLOW_METRICS_QUERY: 'SELECT pg_sleep(20) AS slept',
          UPSTASH_REDIS_URL: REDIS_URL,
          METRICS_KEY_PREFIX: prefix,
          LOG_LEVEL: 'warn'
        })
        assert.equal(await eventually(async () => await ourSessions([db.name]) > 0, true, 15_000),
          true, 'the slow query started')

        const sent = Date.now()
        child.kill(signal)
        const { code, stderr } = await done

        assert.equal(code, signal === 'SIGINT' ? 130 : 143, stderr)
        assert.ok(Date.now() - sent < 5000, `exited ${Date.now() - sent} ms after ${signal}`)
        assert.match(stderr, /interrupted: cancelling the refresh/)
        assert.equal(await redis.exists(`${prefix}slow:lock`), 0, 'the lock was freed')
        const status = JSON.parse(await redis.get(`${prefix}slow:status`) ?? '{}')
        assert.equal(status.ok, false)
        assert.equal(await eventually(async () => await ourSessions([db.name]), 0), 0,
          'no session left on the brand database')
      })
  }

  test('should stop at once on SIGTERM while a brand database never answers its connect',
    async () => {
      const silent = await startSilentServer()
      try {
        const { child, done } = await startCli(['fetch', '--json'], {
          BRANDS: 'hung',
          HUNG_DATABASE_URL: `postgres://u:pw@127.0.0.1:${silent.port}/x`,
          UPSTASH_REDIS_URL: REDIS_URL,
          METRICS_KEY_PREFIX: prefix,
          LOG_LEVEL: 'warn'
        })
        assert.equal(await eventually(async () => silent.open() > 0, true, 15_000), true,
          'the connect started')

        const sent = Date.now()
        child.kill('SIGTERM')
        const { code, stderr } = await done

        assert.equal(code, 143, stderr)
        assert.ok(Date.now() - sent < 4000, `exited ${Date.now() - sent} ms after SIGTERM`)
        assert.equal(await redis.exists(`${prefix}hung:lock`), 0, 'the lock was freed')
        assert.equal(JSON.parse(await redis.get(`${prefix}hung:status`) ?? '{}').ok, false)
      } finally {
        await silent.close()
      }
    })
})
