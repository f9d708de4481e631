import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Env } from '../../src/config.js'
import { openRuntime } from '../../src/runtime.js'
import { freePort, startRedis, startSilentServer } from '../faults.js'
import { signQstash } from '../qstash-signer.js'
import { adminQuery, captureLogs, createShopDatabase, needs, PG_ADMIN_URL, uniqueName,
  uniquePrefix } from '../helper.js'

const mark = (label: string): string => `${label}-${randomBytes(6).toString('hex')}`
const SECRETS = {
  dbPassword: mark('DbPw'),
  token: mark('BearerTok'),
  current: mark('sig_current'),
  next: mark('sig_next'),
  redisPassword: mark('RedisPw'),
  wrongRedisPassword: mark('WrongRedisPw')
}

function withUser (database: string, user: string, password: string, port?: number): string {
  const url = new URL(PG_ADMIN_URL)
  url.username = user
  url.password = password
  url.pathname = `/${database}`
  if (port !== undefined) url.port = String(port)
  return url.toString()
}

/** Runs the CLI as an operator would; resolves with everything it wrote and its exit code. */
async function cli (args: string[], env: Env): Promise<{ code: number | null, out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString('utf8') })
  child.stderr.on('data', (chunk: Buffer) => { out += chunk.toString('utf8') })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, 30_000)
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  clearTimeout(timer)
  return { code, out }
}

describe('secrets under faults', { skip: await needs('postgres', 'redis-server') }, () => {
  it('should keep every password, token and key out of logs, answers, cached values and ' +
    'CLI output', async () => {
    const db = await createShopDatabase(2, 2, 2)
    const role = uniqueName('secret_role')
    await adminQuery(`CREATE ROLE ${role} LOGIN PASSWORD '${SECRETS.dbPassword}'`)
    await adminQuery(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`)
      .catch(() => {})
    const redis = await startRedis({ password: SECRETS.redisPassword })
    const silent = await startSilentServer()
    const prefix = uniquePrefix()
    const { log, lines } = captureLogs('trace')
    const seen: string[] = []

    const env: Env = {
      BRANDS: 'good,hang,closed,nodb,badsql',
      GOOD_DATABASE_URL: withUser(db.name, role, SECRETS.dbPassword),
      HANG_DATABASE_URL: withUser(db.name, role, SECRETS.dbPassword, silent.port),
      CLOSED_DATABASE_URL: withUser(db.name, role, SECRETS.dbPassword, await freePort()),
      NODB_DATABASE_URL: withUser(uniqueName('missing'), role, SECRETS.dbPassword),
      BADSQL_DATABASE_URL: withUser(db.name, role, SECRETS.dbPassword),
      BADSQL_METRICS_QUERY: `SELECT '${SECRETS.dbPassword}' FROM nowhere`,
      UPSTASH_REDIS_URL: redis.url,
      METRICS_KEY_PREFIX: prefix,
      QSTASH_AUTH_TOKEN: SECRETS.token,
      QSTASH_CURRENT_SIGNING_KEY: SECRETS.current,
      QSTASH_NEXT_SIGNING_KEY: SECRETS.next,
      METRICS_CONNECT_TIMEOUT_MS: '300',
      METRICS_QUERY_TIMEOUT_MS: '1000',
      LOG_LEVEL: 'trace'
    }
    const runtime = openRuntime(loadConfig(env), log)
    const app = await buildApp(runtime)
    const call = async (method: 'GET' | 'POST', url: string, authorization?: string):
      Promise<number> => {
      // Both checks are configured, so a webhook call carries the signature as well.
      const headers = authorization === undefined ? {} : { authorization,
        'upstash-signature': signQstash('', SECRETS.current) }
      const response = await app.inject({ method, url, headers })
      seen.push(JSON.stringify(response.headers), response.body)
      return response.statusCode
    }

    try {
      assert.equal(await call('POST', '/qstash', `Bearer ${SECRETS.token}x`), 401)
      assert.equal(await call('POST', '/qstash', `Bearer ${SECRETS.token}`), 500)
      await call('GET', '/health')
      await call('GET', '/ready')

      await redis.kill()
      assert.equal(await call('POST', '/qstash', `Bearer ${SECRETS.token}`), 503)
      assert.equal(await call('GET', '/ready'), 503)
      await redis.start()

      // What the run left in the cache store, every key of our prefix.
      const reader = new Redis(redis.url, { maxRetriesPerRequest: 1 })
      assert.equal(await call('POST', '/qstash', `Bearer ${SECRETS.token}`), 500)
      const keys = await reader.keys(`${prefix}*`)
      assert.ok(keys.length >= 5, `cached keys: ${keys.join(', ')}`)
      seen.push(...(await reader.mget(...keys)).map((value) => value ?? ''))
      reader.disconnect()

      // The CLI, against the same faults, then with a wrong cache password and a bad URL.
      const fetched = await cli(['fetch', '--json'], env)
      assert.equal(fetched.code, 1)
      assert.match(fetched.out, /"good"/)
      const wrongRedis = redis.url.replace(encodeURIComponent(SECRETS.redisPassword),
        SECRETS.wrongRedisPassword)
      const refused = await cli(['fetch'], { ...env, UPSTASH_REDIS_URL: wrongRedis })
      assert.equal(refused.code, 1)
      const badUrl = await cli(['fetch'], { ...env,
        UPSTASH_REDIS_URL: `http://:${SECRETS.redisPassword}@127.0.0.1:${redis.port}` })
      assert.equal(badUrl.code, 2)
      seen.push(fetched.out, refused.out, badUrl.out)
    } finally {
      await app.close()
      await redis.kill()
      await silent.close()
      await db.drop()
      await adminQuery(`DROP ROLE IF EXISTS ${role}`)
    }

    assert.ok(lines.length > 20, `only ${lines.length} log lines were captured`)
    const everything = [...lines, ...seen].join('\n')
    for (const [name, secret] of Object.entries(SECRETS)) {
      assert.ok(!everything.includes(secret), `${name} leaked:\n` +
        [...lines, ...seen].filter((text) => text.includes(secret)).join('\n').slice(0, 2000))
    }
  })
})
