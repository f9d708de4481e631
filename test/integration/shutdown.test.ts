import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { describe, it } from 'node:test'
import type { BrandResult, BrandStatus } from '../../src/refresh.js'
import { brandKeys } from '../../src/store/keys.js'
import { eventually, freePort, ourSessions, waitForPort } from '../faults.js'
import { createShopDatabase, deletePrefix, needs, REDIS_URL, redisClient, uniquePrefix } from
  '../helper.js'

interface Served {
  child: ChildProcess
  port: number
  stderr: string[]
  exit: Promise<number | null>
}

/** The real server, as an operator starts it, with only the variables given. */
async function serve (env: Record<string, string>): Promise<Served> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  const stderr: string[] = []
  child.stderr?.on('data', (chunk: Buffer) => { stderr.push(chunk.toString('utf8')) })
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve))
  await waitForPort(port, 15_000)
  return { child, port, stderr, exit }
}

async function sleeping (database: string): Promise<boolean> {
  const { adminQuery } = await import('../helper.js')
  const result = await adminQuery(`SELECT 1 FROM pg_stat_activity WHERE datname = '${database}'
    AND application_name = 'metrics-cache' AND query LIKE '%pg_sleep%' AND state = 'active'`)
  return result.rows.length > 0
}

describe('shutdown on a signal', { skip: await needs('postgres', 'redis') }, () => {
  it('should finish the pass in flight, close everything and exit 0 on SIGTERM', async () => {
    const db = await createShopDatabase(3, 4, 5)
    const prefix = uniquePrefix()
    const redis = redisClient()
    const served = await serve({
      BRANDS: 'sleepy,quick',
      SLEEPY_DATABASE_URL: db.url,
      SLEEPY_METRICS_QUERY: 'SELECT pg_sleep(1.5)::text AS slept, count(*) AS n FROM orders',
      QUICK_DATABASE_URL: db.url,
      UPSTASH_REDIS_URL: REDIS_URL,
      METRICS_KEY_PREFIX: prefix,
      SHUTDOWN_TIMEOUT_MS: '8000'
    })
    try {
      const base = `http://127.0.0.1:${served.port}`
      const inFlight = fetch(`${base}/qstash`, { method: 'POST',
        signal: AbortSignal.timeout(10_000) })
      assert.equal(await eventually(async () => await sleeping(db.name), true), true)

      const signalled = Date.now()
      served.child.kill('SIGTERM')
      const response = await inFlight
      assert.equal(response.status, 200)
      assert.equal((await response.json() as { status: string }).status, 'ok')

      const late = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) })
        .then((answer) => answer.status, () => 'refused')
      assert.ok(late === 'refused' || late === 503, `a request after the signal got ${late}`)

      assert.equal(await served.exit, 0)
      assert.ok(Date.now() - signalled < 8000, served.stderr.join(''))
      assert.equal(await eventually(async () => await ourSessions([db.name]), 0, 2000), 0)
      assert.match(await redis.get(brandKeys(prefix, 'sleepy').metrics) ?? '', /"n":4/)
      const log = served.stderr.join('')
      assert.match(log, /"msg":"shutting down"/)
      assert.match(log, /"msg":"stopped"/)
    } finally {
      served.child.kill('SIGKILL')
      await deletePrefix(redis, prefix)
      redis.disconnect()
      await db.drop()
    }
  })

  it('should give up on a pass that outlives SHUTDOWN_TIMEOUT_MS, cancel its query and exit 0 ' +
    'on SIGINT', async () => {
    const db = await createShopDatabase(1, 1, 1)
    const prefix = uniquePrefix()
    const redis = redisClient()
    const keys = brandKeys(prefix, 'stuck')
    await redis.set(keys.metrics, '{"brand":"stuck","previous":true}')
    const served = await serve({
      BRANDS: 'stuck',
      STUCK_DATABASE_URL: db.url,
      STUCK_METRICS_QUERY: 'SELECT pg_sleep(60)::text AS slept',
      UPSTASH_REDIS_URL: REDIS_URL,
      METRICS_KEY_PREFIX: prefix,
      METRICS_QUERY_TIMEOUT_MS: '120000',
      SHUTDOWN_TIMEOUT_MS: '500'
    })
    try {
      const inFlight = fetch(`http://127.0.0.1:${served.port}/qstash`, { method: 'POST',
        signal: AbortSignal.timeout(10_000) }).then(async (answer) =>
        ({ status: answer.status, body: await answer.json() as unknown }), () => 'cut off')
      assert.equal(await eventually(async () => await sleeping(db.name), true), true)

      const signalled = Date.now()
      served.child.kill('SIGINT')
      assert.equal(await served.exit, 0)
      const tookMs = Date.now() - signalled
      assert.ok(tookMs < 4000, `exit took ${tookMs} ms`)
      const answer = await inFlight
      assert.ok(typeof answer !== 'string', 'the abandoned request is answered')
      assert.equal(answer.status, 500, 'retryable: QStash delivers it again')
      const result = (answer.body as { results: Record<string, BrandResult> }).results.stuck
      assert.equal(result?.retryable, true)
      assert.notEqual(result?.error_code, 'STORE_UNAVAILABLE', 'the store was still open')

      // Cancelled, not left running until a statement_timeout minutes away.
      assert.equal(await eventually(async () => await ourSessions([db.name]), 0, 2000), 0)
      assert.equal(await redis.get(keys.metrics), '{"brand":"stuck","previous":true}')
      // The refresh settled before the store closed: its failure is recorded and its lock
      // released, so the next instance need not wait the lock's TTL out.
      assert.equal(await redis.pttl(keys.lock), -2, 'the brand lock is gone')
      const status = JSON.parse(await redis.get(keys.status) ?? 'null') as BrandStatus | null
      assert.equal(status?.ok, false)
      assert.equal(status?.error_code, result?.error_code)
      const log = served.stderr.join('')
      assert.match(log, /"msg":"shutdown deadline passed, closing anyway"/)
      assert.doesNotMatch(log, /brand lock not released|status not recorded/)
    } finally {
      served.child.kill('SIGKILL')
      await deletePrefix(redis, prefix)
      redis.disconnect()
      await db.drop()
    }
  })
})
