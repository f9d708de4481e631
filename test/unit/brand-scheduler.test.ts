import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { BrandScheduler, type RefreshOne } from '../../src/brand-scheduler.js'
import type { BrandConfig } from '../../src/config.js'
import type { BrandResult } from '../../src/refresh.js'
import { brandKeys } from '../../src/store/keys.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { StoreError } from '../../src/errors.js'

const log = pino({ level: 'silent' })
const ACME: BrandConfig = { id: 'acme' }
const PREFIX = 'metrics:'

/** A refresh that takes `ms`, recording when each run started and how many overlap. */
function timedRefresh (ms: number): { refreshOne: RefreshOne, starts: number[],
  maxOverlap: () => number } {
  const starts: number[] = []
  let running = 0
  let maxOverlap = 0
  const refreshOne: RefreshOne = async () => {
    starts.push(performance.now())
    running += 1
    maxOverlap = Math.max(maxOverlap, running)
    await sleep(ms)
    running -= 1
    return { ok: true, duration_ms: ms, run: starts.length } as BrandResult
  }
  return { refreshOne, starts, maxOverlap: () => maxOverlap }
}

describe('BrandScheduler', () => {
  test('should cover requests made during a refresh with exactly one later refresh',
    async () => {
      const { refreshOne, starts } = timedRefresh(100)
      const scheduler = new BrandScheduler(refreshOne,
        { store: new MemoryStore(), keyPrefix: PREFIX, lockTtlMs: 5000, pollMs: 10 })

      const first = scheduler.refresh(ACME, log)
      await sleep(20)
      const calls = Array.from({ length: 20 }, () => {
        const at = performance.now()
        return scheduler.refresh(ACME, log).then((result) => ({ at, result }))
      })
      await first
      const answers = await Promise.all(calls)

      assert.equal(starts.length, 2)
      for (const { at, result } of answers) {
        const run = (result as BrandResult & { run: number }).run
        assert.equal(run, 2)
        assert.ok((starts[run - 1] ?? 0) >= at, 'the shared refresh started after the request')
      }
    })

  test('should start a refresh at once when the brand is idle again', async () => {
    const { refreshOne, starts } = timedRefresh(10)
    const scheduler = new BrandScheduler(refreshOne,
      { store: new MemoryStore(), keyPrefix: PREFIX, lockTtlMs: 5000, pollMs: 10 })

    await scheduler.refresh(ACME, log)
    await scheduler.refresh(ACME, log)
    await Promise.all([scheduler.refresh(ACME, log), scheduler.refresh({ id: 'globex' }, log)])
    assert.equal(starts.length, 4)
  })

  test('should never let two schedulers sharing a store refresh a brand at once', async () => {
    const store = new MemoryStore()
    const { refreshOne, starts, maxOverlap } = timedRefresh(40)
    const options = { store, keyPrefix: PREFIX, lockTtlMs: 5000, pollMs: 5 }
    const a = new BrandScheduler(refreshOne, options)
    const b = new BrandScheduler(refreshOne, options)

    const results = await Promise.all(Array.from({ length: 6 }, async (_, i) =>
      await (i % 2 === 0 ? a : b).refresh(ACME, log)))
    assert.ok(results.every((result) => result.ok))
    assert.equal(maxOverlap(), 1)
    assert.ok(starts.length <= 4, `${starts.length} refreshes`)
  })

  test('should take over a lock left by a crashed holder once its TTL has passed',
    async () => {
      const store = new MemoryStore()
      await store.tryLock(brandKeys(PREFIX, 'acme').lock, 'crashed-instance', 150)
      const { refreshOne } = timedRefresh(1)
      const scheduler = new BrandScheduler(refreshOne,
        { store, keyPrefix: PREFIX, lockTtlMs: 150, pollMs: 10 })

      const started = performance.now()
      const result = await scheduler.refresh(ACME, log)
      assert.equal(result.ok, true)
      assert.ok(performance.now() - started >= 140)
    })

  test('should give up with a retryable BRAND_BUSY when the lock stays held too long',
    async () => {
      const store = new MemoryStore()
      await store.tryLock(brandKeys(PREFIX, 'acme').lock, 'other-instance', 10_000)
      const { refreshOne, starts } = timedRefresh(1)
      const scheduler = new BrandScheduler(refreshOne,
        { store, keyPrefix: PREFIX, lockTtlMs: 100, pollMs: 10 })

      const result = await scheduler.refresh(ACME, log)
      assert.equal(result.ok, false)
      assert.equal(result.error_code, 'BRAND_BUSY')
      assert.equal(result.retryable, true)
      assert.equal(starts.length, 0)
    })

  test('should release the lock and the slot even when the refresh throws', async () => {
    const store = new MemoryStore()
    let calls = 0
    const scheduler = new BrandScheduler(async () => {
      calls += 1
      throw new Error('driver exploded')
    }, { store, keyPrefix: PREFIX, lockTtlMs: 10_000, pollMs: 10 })

    const result = await scheduler.refresh(ACME, log)
    assert.equal(result.ok, false)
    assert.equal(result.retryable, true)
    assert.equal(await store.tryLock(brandKeys(PREFIX, 'acme').lock, 'probe', 1000), true)
    await store.unlock(brandKeys(PREFIX, 'acme').lock, 'probe')
    await scheduler.refresh(ACME, log)
    assert.equal(calls, 2)
  })

  test('should report each result it makes itself exactly once, and no other', async () => {
    const store = new MemoryStore()
    const reported: Array<string | undefined> = []
    const report = (_brand: BrandConfig, result: BrandResult): void => {
      reported.push(result.error_code)
    }
    const { refreshOne } = timedRefresh(1)
    const scheduler = new BrandScheduler(refreshOne,
      { store, keyPrefix: PREFIX, lockTtlMs: 50, pollMs: 10, report })

    await scheduler.refresh(ACME, log)
    assert.deepEqual(reported, [], 'RefreshOne reports its own results')

    await store.tryLock(brandKeys(PREFIX, 'acme').lock, 'other-instance', 10_000)
    await scheduler.refresh(ACME, log)
    const down = new BrandScheduler(refreshOne, { store: failingLockStore(), keyPrefix: PREFIX,
      lockTtlMs: 50, pollMs: 10, report })
    await down.refresh(ACME, log)
    const throwing = new BrandScheduler(async () => { throw new Error('driver exploded') },
      { store: new MemoryStore(), keyPrefix: PREFIX, lockTtlMs: 50, pollMs: 10, report })
    await throwing.refresh(ACME, log)

    assert.deepEqual(reported, ['BRAND_BUSY', 'STORE_UNAVAILABLE', 'REFRESH_FAILED'])
  })

  test('should take back at once a lock an earlier run of its own could not release',
    async () => {
      const store = new MemoryStore()
      const unlock = store.unlock.bind(store)
      let unlockFails = true
      store.unlock = async (key, token) => {
        if (unlockFails) throw new Error('Connection is closed.')
        await unlock(key, token)
      }
      const { refreshOne, starts } = timedRefresh(1)
      const scheduler = new BrandScheduler(refreshOne,
        { store, keyPrefix: PREFIX, lockTtlMs: 10_000, pollMs: 10 })

      await scheduler.refresh(ACME, log)
      unlockFails = false
      const started = performance.now()
      const second = await scheduler.refresh(ACME, log)

      assert.equal(second.ok, true, second.error)
      assert.equal(starts.length, 2)
      assert.ok(performance.now() - started < 1000, 'it did not wait for the lock TTL')
      assert.equal(await store.tryLock(brandKeys(PREFIX, 'acme').lock, 'probe', 1000), true,
        'the lock is free after the second run')
    })
})

/** A store whose lock command fails, as one that cannot be reached. */
function failingLockStore (): MemoryStore {
  const store = new MemoryStore()
  store.tryLock = async () => { throw new StoreError('Redis at 127.0.0.1:1 failed to lock.') }
  return store
}
