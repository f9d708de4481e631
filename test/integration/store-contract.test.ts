import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { Redis } from 'ioredis'
import { brandKeys } from '../../src/store/keys.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { RedisStore } from '../../src/store/redis-store.js'
import type { CacheStore, MetricsWrite } from '../../src/store/store.js'
import { UpstashRestStore } from '../../src/store/upstash-rest-store.js'
import { deletePrefix, needs, REDIS_URL, redisClient, uniquePrefix } from '../helper.js'
import { startUpstashRestFixture, type UpstashRestFixture } from
  '../fixtures/upstash-rest-fixture.js'

/** One store under test, and a way to read a key's TTL behind its back. */
interface Harness {
  store: CacheStore
  /** Seconds to live: -1 without a TTL, -2 when the key is absent. */
  ttl: (key: string) => Promise<number>
  close: () => Promise<void>
}

/** Opens a store that writes under `prefix`. */
type Open = (prefix: string) => Promise<Harness>

const redisSkip = await needs('redis')

const openMemory: Open = async () => {
  const store = new MemoryStore()
  return {
    store,
    ttl: async (key) => store.ttlSeconds(key),
    close: async () => { await store.close() }
  }
}

const openRedis: Open = async (prefix) => {
  const redis = redisClient()
  const store = new RedisStore(REDIS_URL)
  return { store, ttl: async (key) => await redis.ttl(key), close: closing(redis, prefix, store) }
}

const openUpstash: Open = async (prefix) => {
  const redis = redisClient()
  const fixture = await startUpstashRestFixture(REDIS_URL, 'contract-token-123')
  const store = new UpstashRestStore(fixture.url, fixture.token)
  return {
    store,
    ttl: async (key) => await redis.ttl(key),
    close: async () => {
      await closing(redis, prefix, store)()
      await fixture.close()
    }
  }
}

function closing (redis: Redis, prefix: string, store: CacheStore): () => Promise<void> {
  return async () => {
    await store.close()
    await deletePrefix(redis, prefix)
    redis.disconnect()
  }
}

const STORES: Array<{ name: string, open: Open, skip: string | false }> = [
  { name: 'MemoryStore', open: openMemory, skip: false },
  { name: 'RedisStore', open: openRedis, skip: redisSkip },
  { name: 'UpstashRestStore', open: openUpstash, skip: redisSkip }
]

for (const { name, open, skip } of STORES) {
  describe(`CacheStore contract: ${name}`, { skip }, () => {
    const prefix = uniquePrefix()
    let h: Harness

    before(async () => { h = await open(prefix) })
    after(async () => { await h.close() })

    function write (brand: string, metrics: string, status = '{"ok":true}'): MetricsWrite {
      return { keys: brandKeys(prefix, brand), metrics, status, ttlSeconds: 600,
        preserveOldSeconds: 120 }
    }

    test('should write metrics with their TTL and a status without one', async () => {
      const keys = brandKeys(prefix, 'first')
      await h.store.writeMetrics(write('first', '{"v":1}', '{"ok":true,"n":1}'))

      assert.deepEqual(await h.store.getMany([keys.metrics, keys.status, keys.old]),
        ['{"v":1}', '{"ok":true,"n":1}', null])
      const ttl = await h.ttl(keys.metrics)
      assert.ok(ttl > 590 && ttl <= 600, `metrics TTL ${ttl}`)
      assert.equal(await h.ttl(keys.status), -1)
    })

    test('should keep the replaced value at :old with its own TTL', async () => {
      const keys = brandKeys(prefix, 'second')
      await h.store.writeMetrics(write('second', '{"v":1}'))
      await h.store.writeMetrics(write('second', '{"v":2}', '{"ok":true,"n":2}'))

      assert.deepEqual(await h.store.getMany([keys.metrics, keys.old, keys.status]),
        ['{"v":2}', '{"v":1}', '{"ok":true,"n":2}'])
      const oldTtl = await h.ttl(keys.old)
      assert.ok(oldTtl > 110 && oldTtl <= 120, `:old TTL ${oldTtl}`)
      assert.ok(await h.ttl(keys.metrics) > 590)
    })

    test('should write a status alone and leave the metrics untouched', async () => {
      const keys = brandKeys(prefix, 'status')
      await h.store.writeMetrics(write('status', '{"v":1}'))
      await h.store.writeStatus(keys.status, '{"ok":false}')

      assert.deepEqual(await h.store.getMany([keys.metrics, keys.status, keys.old]),
        ['{"v":1}', '{"ok":false}', null])
      assert.ok(await h.ttl(keys.metrics) > 590)
    })

    test('should read many keys in the order asked, with null for missing ones', async () => {
      const a = brandKeys(prefix, 'ga')
      const b = brandKeys(prefix, 'gb')
      await h.store.writeStatus(a.status, '"a"')
      await h.store.writeStatus(b.status, '"b"')

      assert.deepEqual(await h.store.getMany([b.status, `${prefix}none`, a.status]),
        ['"b"', null, '"a"'])
      assert.deepEqual(await h.store.getMany([]), [])
    })

    test('should give a lock to one token at a time and free it only for that token',
      async () => {
        const key = brandKeys(prefix, 'lock').lock
        assert.equal(await h.store.tryLock(key, 'one', 10_000), true)
        assert.equal(await h.store.tryLock(key, 'two', 10_000), false)

        await h.store.unlock(key, 'two')
        assert.equal(await h.store.tryLock(key, 'two', 10_000), false)

        await h.store.unlock(key, 'one')
        assert.equal(await h.store.tryLock(key, 'two', 10_000), true)
        await h.store.unlock(key, 'two')
      })

    test('should free a lock by itself once its TTL runs out', async () => {
      const key = brandKeys(prefix, 'expiry').lock
      assert.equal(await h.store.tryLock(key, 'one', 150), true)
      assert.equal(await h.store.tryLock(key, 'two', 150), false)

      await new Promise((resolve) => setTimeout(resolve, 300))
      assert.equal(await h.store.tryLock(key, 'two', 150), true)
    })

    test('should add members to a set and give the set a TTL', async () => {
      const key = `${prefix}qstash-message:m1`
      assert.deepEqual(await h.store.members(key), [])

      await h.store.addMember(key, 'acme', 300)
      await h.store.addMember(key, 'globex', 300)
      await h.store.addMember(key, 'acme', 300)

      assert.deepEqual((await h.store.members(key)).sort(), ['acme', 'globex'])
      const ttl = await h.ttl(key)
      assert.ok(ttl > 290 && ttl <= 300, `set TTL ${ttl}`)
    })

    test('should answer a ping', async () => {
      await h.store.ping()
    })

    test('should read back JSON text with quotes and unicode byte for byte', async () => {
      const values = [
        JSON.stringify({ name: 'Grüße "quoted" \\ back', emoji: '😀👍🏽', sep: '\u2028',
          nested: '{"a":1}', zero: 0, big: '9007199254740993' }),
        JSON.stringify('"a JSON string"'),
        '12345678901234567890',
        '{"a": 1,  "spaced": true}',
        'null'
      ]
      for (const [i, value] of values.entries()) {
        const keys = brandKeys(prefix, `json${i}`)
        await h.store.writeMetrics(write(`json${i}`, value, value))
        const [metrics, status] = await h.store.getMany([keys.metrics, keys.status])
        assert.equal(metrics, value)
        assert.equal(status, value)
        assert.equal(Buffer.compare(Buffer.from(metrics ?? ''), Buffer.from(value)), 0)
      }
    })
  })
}

describe('UpstashRestStore over the REST protocol', { skip: redisSkip }, () => {
  const prefix = uniquePrefix()
  let fixture: UpstashRestFixture
  let redis: Redis

  before(async () => {
    fixture = await startUpstashRestFixture(REDIS_URL, 'Secret-Rest-Token-9')
    redis = redisClient()
  })

  after(async () => {
    await deletePrefix(redis, prefix)
    redis.disconnect()
    await fixture.close()
  })

  test('should write metrics, :old and status in one multi-exec request, stored as is',
    async () => {
      const store = new UpstashRestStore(fixture.url, fixture.token)
      const keys = brandKeys(prefix, 'one')
      const value = '{"brand":"one","n":"é"}'
      fixture.requests.length = 0

      await store.writeMetrics({ keys, metrics: value, status: '{"ok":true}', ttlSeconds: 60,
        preserveOldSeconds: 30 })

      assert.deepEqual(fixture.requests, ['/multi-exec'])
      assert.equal(await redis.get(keys.metrics), value)
    })

  test('should fail with a StoreError that does not hold the token', async () => {
    const store = new UpstashRestStore(fixture.url, 'Wrong-Token-77')

    await assert.rejects(store.ping(), (error: unknown) => {
      assert.ok(error instanceof Error && error.name === 'StoreError')
      assert.match(error.message, /Unauthorized/)
      assert.ok(!error.message.includes('Wrong-Token-77'), error.message)
      assert.ok(!error.message.includes(fixture.token), error.message)
      return true
    })
  })

  test('should give up on a request after commandTimeoutMs', async () => {
    const store = new UpstashRestStore(fixture.url, fixture.token, { commandTimeoutMs: 200 })
    fixture.delayMs = 1500
    const started = Date.now()
    try {
      await assert.rejects(store.getMany([`${prefix}x`]), /no answer within 200 ms/)
      assert.ok(Date.now() - started < 1200, `took ${Date.now() - started} ms`)
    } finally {
      fixture.delayMs = 0
    }
  })

  test('should report an unreachable endpoint as a StoreError', async () => {
    const closed = await startUpstashRestFixture(REDIS_URL, 't-123')
    await closed.close()
    const store = new UpstashRestStore(closed.url, closed.token, { commandTimeoutMs: 1000 })

    await assert.rejects(store.ping(), (error: unknown) => {
      assert.ok(error instanceof Error && error.name === 'StoreError')
      assert.match(error.message, /ECONNREFUSED/)
      return true
    })
  })

  test('should send nothing once closed, so a late command cannot hold the process', async () => {
    const store = new UpstashRestStore(fixture.url, fixture.token)
    await store.close()
    fixture.requests.length = 0

    await assert.rejects(store.unlock(`${prefix}lock`, 't'), /is closed/)
    assert.deepEqual(fixture.requests, [])
  })
})
