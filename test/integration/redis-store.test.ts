import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { StoreError } from '../../src/errors.js'
import { RedisStore } from '../../src/store/redis-store.js'

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
