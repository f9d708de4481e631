import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RedisStore } from '../../src/store/redis-store.js'
import { sleep, startRedis, startSilentServer } from '../faults.js'
import { needs } from '../helper.js'

/** How long `work` took to fail; it must fail. */
async function failsAfter (work: () => Promise<unknown>): Promise<number> {
  const started = Date.now()
  await assert.rejects(work(), { code: 'STORE_UNAVAILABLE' })
  return Date.now() - started
}

describe('RedisStore deadlines', { skip: await needs('redis') }, () => {
  it('should fail each command within one deadline on a store that never answers',
    async (t) => {
      const silent = await startSilentServer()
      const store = new RedisStore(`redis://127.0.0.1:${silent.port}`,
        { commandTimeoutMs: 1000 })
      try {
        // The first command also connects: ioredis alone took its connect timeout, then
        // the command's retry, twice the deadline.
        const first = await failsAfter(async () => await store.getMany(['a']))
        const second = await failsAfter(async () => await store.tryLock('a', 'b', 1000))
        t.diagnostic(`hung store: first command failed in ${first} ms, second in ${second} ms`)
        assert.ok(first >= 950 && first < 1400, `first: ${first} ms`)
        // The second may fail at once, when the connection has been given up meanwhile,
        // but never later than its own deadline.
        assert.ok(second < 1400, `second: ${second} ms`)
      } finally {
        await store.close()
        await silent.close()
      }
    })

  it('should fail a command within about a second during a long outage, then recover',
    async (t) => {
      const redis = await startRedis()
      const store = new RedisStore(redis.url)
      try {
        await store.ping()
        await redis.kill()
        // Long enough for the reconnect attempts to reach their longest interval.
        await sleep(6000)
        const waits: number[] = []
        for (let i = 0; i < 3; i++) waits.push(await failsAfter(async () => await store.ping()))
        t.diagnostic(`refused store: commands failed in ${waits.join(', ')} ms`)
        for (const ms of waits) assert.ok(ms < 1300, `${ms} ms`)

        await redis.start()
        const started = Date.now()
        await store.ping()
        t.diagnostic(`store back: first command answered in ${Date.now() - started} ms`)
      } finally {
        await store.close()
        await redis.kill()
      }
    })
})
