import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { StoreError } from '../../src/errors.js'
import { RedisStore } from '../../src/store/redis-store.js'
import { startRedis } from '../faults.js'
import { needs } from '../helper.js'

function timers (): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
}

describe('RedisStore', () => {
  test('should hold no timer soon after close, even when Redis never answered', async () => {
    const before = timers()
    const store = new RedisStore('redis://127.0.0.1:1')
    await assert.rejects(store.ping(), StoreError)
    await store.close()
    await sleep(300)

    assert.equal(timers(), before, 'a timer outlives close() and delays the exit')
  })
})

describe('RedisStore with a wrong password', { skip: await needs('redis-server') }, () => {
  test('should say the password was refused and let the process go soon after close',
    async () => {
      const redis = await startRedis({ password: 'the-right-one' })
      const wrong = new URL(redis.url)
      wrong.password = 'a-wrong-one'
      const before = timers()
      const store = new RedisStore(wrong.toString())
      try {
        await assert.rejects(store.tryLock('k', 't', 1000), (error: unknown) => {
          assert.ok(error instanceof StoreError)
          assert.match(error.message, /WRONGPASS/)
          assert.doesNotMatch(error.message, /a-wrong-one/)
          return true
        })
        await store.close()
        await sleep(300)

        assert.equal(timers(), before, 'a command of the refused connection outlives close()')
        await assert.rejects(store.ping(), /is closed/)
      } finally {
        await redis.kill()
      }
    })
})
