import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { deletePrefix, needs, REDIS_URL, redisClient, uniquePrefix, type TestDatabase } from
  '../helper.js'
import { createProbeDatabase, probeScans, slowProbeQuery, watchActiveQueries } from
  '../pg-probe.js'
import { signQstash, TEST_KEYS } from '../qstash-signer.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const BRANDS = ['t1', 't2', 't3']

interface Server {
  child: ChildProcess
  port: number
  output: () => string
}

async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  await once(server, 'close')
  return port
}

/** `metrics-cache serve` in its own process, answering /health within 30 s. */
async function startServer (env: Record<string, string>): Promise<Server> {
  const port = await freePort()
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let output = ''
  child.stderr?.on('data', (chunk: Buffer) => { output = (output + chunk.toString()).slice(-4000) })

  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early: ${output}`)
    const ok = await fetch(`http://127.0.0.1:${port}/health`)
      .then((res) => res.ok, () => false)
    if (ok) return { child, port, output: () => output }
    if (Date.now() > deadline) throw new Error(`server did not answer in 30 s: ${output}`)
    await sleep(100)
  }
}

/** SIGTERM to this child only, SIGKILL if it has not exited within 10 s. */
async function stopServer (server: Server): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return
  const exited = once(server.child, 'exit')
  server.child.kill('SIGTERM')
  const outcome = await Promise.race([exited, sleep(10_000, 'timeout')])
  if (outcome === 'timeout') {
    server.child.kill('SIGKILL')
    await exited
  }
}

async function trigger (port: number, n: number): Promise<number> {
  const body = JSON.stringify({ event: 'done', n })
  const response = await fetch(`http://127.0.0.1:${port}/qstash`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'upstash-message-id': `msg-two-${n}`,
      'upstash-signature': signQstash(body, TEST_KEYS.current) },
    signal: AbortSignal.timeout(30_000)
  })
  await response.arrayBuffer()
  return response.status
}

describe('two server processes sharing one Redis',
  { skip: await needs('postgres', 'redis') }, () => {
    let redis: Redis
    const prefix = uniquePrefix()
    const dbs: TestDatabase[] = []
    const servers: Server[] = []

    before(async () => {
      redis = redisClient()
      dbs.push(...await Promise.all(BRANDS.map(async (id) => await createProbeDatabase(id))))
      const env: Record<string, string> = {
        BRANDS: BRANDS.join(','),
        UPSTASH_REDIS_URL: REDIS_URL,
        METRICS_KEY_PREFIX: prefix,
        QSTASH_CURRENT_SIGNING_KEY: TEST_KEYS.current,
        QSTASH_NEXT_SIGNING_KEY: TEST_KEYS.next,
        LOG_LEVEL: 'warn'
      }
      BRANDS.forEach((id, i) => {
        env[`${id.toUpperCase()}_DATABASE_URL`] = (dbs[i] as TestDatabase).url
        env[`${id.toUpperCase()}_METRICS_QUERY`] = slowProbeQuery(500)
      })
      servers.push(...await Promise.all([startServer(env), startServer(env)]))
    })

    after(async () => {
      await Promise.all(servers.map(stopServer))
      await deletePrefix(redis, prefix)
      await Promise.all(dbs.map(async (db) => { await db.drop() }))
      redis.disconnect()
    })

    test('should never run two queries on the same brand at once', async () => {
      const watch = watchActiveQueries(dbs.map((db) => db.name))
      const statuses = await Promise.all(Array.from({ length: 16 }, async (_, n) =>
        await trigger((servers[n % 2] as Server).port, n)))
      const seen = await watch.stop()
      await Promise.all(servers.map(stopServer))

      assert.deepEqual(statuses, statuses.map(() => 200),
        servers.map((server) => server.output()).join('\n'))
      for (const db of dbs) {
        const stats = seen.get(db.name)
        assert.ok((stats?.seen ?? 0) > 0, `no query on ${db.name} was ever seen running`)
        assert.equal(stats?.max, 1, `${db.name} ran ${stats?.max} queries at once`)
        // Each process coalesces its own triggers into at most two refreshes.
        const scans = await probeScans(db)
        assert.ok(scans >= 2 && scans <= 4, `${db.name} was queried ${scans} times`)
      }
    })
  })
