import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Env } from '../../src/config.js'
import { createShopDatabase, deletePrefix, needs, REDIS_URL, redisClient, runCli, tempDir,
  uniquePrefix, unreachablePgUrl, withPassword, type CliRun, type TestDatabase } from
  '../helper.js'

const DB_PW = 'CliDbPw-31415926'

describe('metrics-cache fetch', { skip: await needs('postgres', 'redis') }, () => {
  const redis = redisClient()
  const prefixes: string[] = []
  let acme: TestDatabase
  let globex: TestDatabase
  let dir: Awaited<ReturnType<typeof tempDir>>

  before(async () => {
    [acme, globex, dir] = await Promise.all([createShopDatabase(4, 5, 6),
      createShopDatabase(1, 1, 1), tempDir()])
  })

  after(async () => {
    for (const prefix of prefixes) await deletePrefix(redis, prefix)
    redis.disconnect()
    await Promise.all([acme.drop(), globex.drop(), dir.remove()])
  })

  function env (extra: Env = {}): { env: Env, prefix: string } {
    const prefix = uniquePrefix()
    prefixes.push(prefix)
    return {
      prefix,
      env: { BRANDS: 'acme,globex', UPSTASH_REDIS_URL: REDIS_URL, METRICS_KEY_PREFIX: prefix,
        ACME_DATABASE_URL: withPassword(acme.url, 'postgres', DB_PW),
        GLOBEX_DATABASE_URL: globex.url, METRICS_CONNECT_TIMEOUT_MS: '3000', ...extra }
    }
  }

  async function fetch (args: string[], environment: Env, cwd = dir.path): Promise<CliRun> {
    return await runCli(['fetch', ...args], environment, cwd)
  }

  test('should exit 0 and print JSON on a pipe when every brand is cached', async () => {
    const { env: environment, prefix } = env({ QSTASH_TOKEN: 'legacy-tok-2718' })
    const run = await fetch([], environment)

    assert.equal(run.code, 0, run.stderr)
    const report = JSON.parse(run.stdout) as { status: string, results: Record<string, unknown> }
    assert.equal(report.status, 'ok')
    assert.deepEqual(Object.keys(report.results), ['acme', 'globex'])
    const cached = JSON.parse(await redis.get(`${prefix}acme`) ?? 'null') as { counts: unknown }
    assert.deepEqual(cached.counts, { products: 4, orders: 5, customers: 6 })

    const logs = run.stderr.trim().split('\n').map((line) => JSON.parse(line) as
      { msg: string })
    assert.ok(logs.some((line) => line.msg === 'brand cached'), 'logs go to stderr')
    assert.ok(logs.some((line) => /QSTASH_TOKEN is the legacy name/.test(line.msg)),
      'the legacy token name is warned about')
    assert.ok(!run.stderr.includes('legacy-tok-2718'))
  })

  test('should exit 1 when a brand failed and still cache the others', async () => {
    const { env: environment, prefix } = env({ GLOBEX_DATABASE_URL: unreachablePgUrl(DB_PW) })
    const run = await fetch(['--json'], environment)

    assert.equal(run.code, 1, run.stderr)
    const report = JSON.parse(run.stdout) as
      { status: string, results: Record<string, { ok: boolean }> }
    assert.equal(report.status, 'error')
    assert.equal(report.results.acme?.ok, true)
    assert.equal(report.results.globex?.ok, false)
    assert.equal(await redis.exists(`${prefix}acme`), 1)
  })

  test('should exit 2 naming the variable when a number is malformed', async () => {
    const run = await fetch([], env({ METRICS_TTL_SECONDS: 'abc' }).env)

    assert.equal(run.code, 2)
    assert.match(run.stderr, /METRICS_TTL_SECONDS must be a positive whole number/)
    assert.equal(run.stdout, '')
  })

  test('should exit 2 naming UPSTASH_REDIS_URL when no cache is configured', async () => {
    const environment = env().env
    delete environment.UPSTASH_REDIS_URL
    const run = await fetch([], environment)

    assert.equal(run.code, 2)
    assert.match(run.stderr, /UPSTASH_REDIS_URL/)
  })

  test('should refresh only the brands named by --brand', async () => {
    const { env: environment, prefix } = env()
    const run = await fetch(['--brand', 'globex'], environment)

    assert.equal(run.code, 0, run.stderr)
    assert.deepEqual(Object.keys((JSON.parse(run.stdout) as { results: object }).results),
      ['globex'])
    assert.equal(await redis.exists(`${prefix}acme`), 0)
    assert.equal(await redis.exists(`${prefix}globex`), 1)
  })

  test('should refresh a brand named twice by --brand only once', async () => {
    const run = await fetch(['--brand', 'globex', '--brand', 'globex'], env().env)

    assert.equal(run.code, 0, run.stderr)
    const cached = run.stderr.split('\n').filter((line) =>
      line.includes('"brand":"globex"') && line.includes('"msg":"brand cached"'))
    assert.equal(cached.length, 1)
  })

  test('should exit 2 when --brand names a brand not in BRANDS', async () => {
    const run = await fetch(['--brand', 'nope'], env().env)

    assert.equal(run.code, 2)
    assert.match(run.stderr, /Unknown brand "nope"/)
  })

  test('should exit 2 on a stray word instead of ignoring it', async () => {
    const run = await fetch(['acme'], env().env)

    assert.equal(run.code, 2)
    assert.match(run.stderr, /"fetch" takes no word after it, got "acme"/)
  })

  test('should read a .env file in the working directory', async () => {
    const { env: environment, prefix } = env()
    const own = await tempDir()
    try {
      const lines = Object.entries(environment).map(([name, value]) => `${name}=${value}`)
      await writeFile(join(own.path, '.env'), `${lines.join('\n')}\n`)
      const run = await fetch([], {}, own.path)

      assert.equal(run.code, 0, run.stderr)
      assert.equal(await redis.exists(`${prefix}acme`), 1)
    } finally {
      await own.remove()
    }
  })

  test('should let the environment win over the .env file', async () => {
    const { env: environment, prefix } = env()
    const own = await tempDir()
    try {
      await writeFile(join(own.path, '.env'), 'METRICS_TTL_SECONDS=abc\nBRANDS=nope\n')
      const run = await fetch([], { ...environment, METRICS_TTL_SECONDS: '60' }, own.path)

      assert.equal(run.code, 0, run.stderr)
      const ttl = await redis.ttl(`${prefix}acme`)
      assert.ok(ttl > 50 && ttl <= 60, `ttl ${ttl}`)
    } finally {
      await own.remove()
    }
  })

  test('should print no database password on stdout or stderr', async () => {
    const runs = await Promise.all([
      fetch([], env().env),
      fetch(['--json'], env({ GLOBEX_DATABASE_URL: unreachablePgUrl(DB_PW) }).env),
      fetch([], env({ GLOBEX_DATABASE_URL: 'sqlite://u:' + DB_PW + '@h/db' }).env)
    ])

    assert.deepEqual(runs.map((run) => run.code), [0, 1, 1])
    for (const run of runs) {
      assert.ok(!run.stdout.includes(DB_PW), 'password on stdout')
      assert.ok(!run.stderr.includes(DB_PW), 'password on stderr')
    }
  })
})
