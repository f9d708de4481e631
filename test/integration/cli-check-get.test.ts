import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createShopDatabase, deletePrefix, needs, PG_ADMIN_URL, redisClient, REDIS_URL,
  uniquePrefix, type TestDatabase } from '../helper.js'

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url))
const TSX = import.meta.resolve('tsx')
const PG_PASSWORD = 'pg-secret-pw-41'
const REDIS_PASSWORD = 'redis-secret-pw-42'

interface Run { code: number, stdout: string, stderr: string }

/** Runs the CLI in `cwd` with only `env` (and PATH), as a user's shell would. */
async function runCli (cwd: string, env: Record<string, string>, ...args: string[]):
Promise<Run> {
  return await new Promise((resolve) => {
    execFile(process.execPath, ['--import', TSX, CLI, ...args],
      { cwd, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1
        resolve({ code, stdout, stderr })
      })
  })
}

function withPassword (url: string, password: string): string {
  const parsed = new URL(url)
  if (parsed.username === '') parsed.username = 'default'
  parsed.password = password
  return parsed.toString()
}

function assertNoSecret (run: Run): void {
  for (const secret of [PG_PASSWORD, REDIS_PASSWORD]) {
    assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), `leaked ${secret}`)
  }
}

describe('metrics-cache check and get', { skip: await needs('postgres', 'redis') }, () => {
  const redis = redisClient()
  const prefix = uniquePrefix()
  let shop: TestDatabase
  let cwd: string
  let env: Record<string, string>

  before(async () => {
    shop = await createShopDatabase(3, 4, 5)
    cwd = await mkdtemp(join(tmpdir(), 'mc-cli-'))
    // Read from a .env file in the working directory, as serve does.
    await writeFile(join(cwd, '.env'), `SHOP_DATABASE_URL=${withPassword(shop.url, PG_PASSWORD)}\n`)
    env = {
      BRANDS: 'shop',
      UPSTASH_REDIS_URL: withPassword(REDIS_URL, REDIS_PASSWORD),
      METRICS_KEY_PREFIX: prefix,
      LOG_LEVEL: 'silent'
    }
  })
  after(async () => {
    await rm(cwd, { recursive: true, force: true })
    await shop.drop()
    await deletePrefix(redis, prefix)
    await redis.quit()
  })

  test('should pass check and exit 0 when every brand and the store answer', async () => {
    const run = await runCli(cwd, env, 'check')

    assert.equal(run.code, 0, run.stdout + run.stderr)
    const masked = new URL(shop.url)
    masked.password = '***'
    assert.ok(run.stdout.includes(`SHOP_DATABASE_URL -> ${masked.toString()}`), run.stdout)
    assert.match(run.stdout, /postgres, default counts, SELECT 1 in \d+ ms/)
    assert.match(run.stdout, /ok {6}redis {2}UPSTASH_REDIS_URL -> redis:\/\/default:\*\*\*@/)
    assert.match(run.stdout, /PING in \d+ ms/)
    assert.match(run.stdout, /POST \/qstash {7}open to anyone/)
    assertNoSecret(run)
  })

  test('should fail check with exit 1 and say what to fix for each broken brand', async () => {
    const refused = new URL(withPassword(PG_ADMIN_URL, PG_PASSWORD))
    refused.port = '1'
    const run = await runCli(cwd, { ...env, BRANDS: 'shop,globex,down,acme-eu',
      DOWN_DATABASE_URL: refused.toString(), ACME_EU_METRICS_QUERY: 'SELECT 1',
      API_READ_TOKEN: 'read-token-43' }, 'check')

    assert.equal(run.code, 1, run.stdout + run.stderr)
    assert.match(run.stdout, /FAILED {2}globex\n.*\n {10}error: no database URL\n {10}fix: set GLOBEX_DATABASE_URL \(or BRAND_GLOBEX_DATABASE_URL, globex_DATABASE_URL\) to the brand's database URL/)
    assert.match(run.stdout, /FAILED {2}down {5}DOWN_DATABASE_URL -> postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\//)
    assert.match(run.stdout, /fix: check the host, port, user, password and database name in DOWN_DATABASE_URL/)
    assert.match(run.stdout, /FAILED {2}acme-eu\n {10}no engine, custom query \(ACME_EU_METRICS_QUERY\)/)
    assert.match(run.stdout, /fix: set ACME_EU_DATABASE_URL \(or BRAND_ACME_EU_DATABASE_URL, /)
    assert.doesNotMatch(run.stdout, /ACME-EU_DATABASE_URL/, 'a name no shell can export')
    assert.match(run.stdout, /ok {4} {2}shop {5}SHOP_DATABASE_URL/)
    assert.match(run.stdout, /GET \/api\/metrics {3}bearer token \(API_READ_TOKEN\)/)
    assert.doesNotMatch(run.stdout, /read-token-43/)
    assertNoSecret(run)
  })

  test('should report check as JSON with --json', async () => {
    const run = await runCli(cwd, { ...env, BRANDS: 'shop,globex' }, 'check', '--json')

    assert.equal(run.code, 1)
    const report = JSON.parse(run.stdout)
    assert.equal(report.ok, false)
    assert.equal(report.brands[0].brand, 'shop')
    assert.equal(report.brands[0].ok, true)
    assert.equal(report.brands[0].url_variable, 'SHOP_DATABASE_URL')
    assert.equal(typeof report.brands[0].ping_ms, 'number')
    assert.equal(report.brands[1].ok, false)
    assert.match(report.brands[1].fix, /GLOBEX_DATABASE_URL/)
    assert.equal(report.cache.ok, true)
    assert.equal(report.cache.kind, 'redis')
    assertNoSecret(run)
  })

  test('should fail check with exit 1 when the cache store is down', async () => {
    const run = await runCli(cwd, { ...env, UPSTASH_REDIS_URL: 'redis://127.0.0.1:1' }, 'check')

    assert.equal(run.code, 1)
    assert.match(run.stdout, /FAILED {2}redis {2}UPSTASH_REDIS_URL -> redis:\/\/127\.0\.0\.1:1/)
    assert.match(run.stdout, /fix: check the host, port and password in UPSTASH_REDIS_URL/)
  })

  test('should flag a database without any of the default tables', async () => {
    const run = await runCli(cwd, { ...env, BRANDS: 'other', OTHER_DATABASE_URL: PG_ADMIN_URL },
      'check')

    assert.equal(run.code, 1)
    assert.match(run.stdout, /error: none of the tables products, orders, customers exists/)
    assert.match(run.stdout, /fix: point OTHER_DATABASE_URL at the brand's shop database, or set OTHER_METRICS_QUERY/)
  })

  test('should exit 2 for a configuration error or no cache store', async () => {
    const badTtl = await runCli(cwd, { ...env, METRICS_TTL_SECONDS: 'soon' }, 'check')
    const noCache = { ...env }
    delete noCache.UPSTASH_REDIS_URL
    const missing = await runCli(cwd, noCache, 'check')

    assert.equal(badTtl.code, 2)
    assert.match(badTtl.stderr, /METRICS_TTL_SECONDS must be a positive whole number/)
    assert.equal(missing.code, 2)
    assert.match(missing.stdout, /fix: set UPSTASH_REDIS_URL \(or REDIS_URL\)/)
  })

  test('should print the cached metrics with their age and status after a fetch', async () => {
    const before = await runCli(cwd, env, 'get', 'shop')
    const fetched = await runCli(cwd, env, 'fetch', '--json')
    const text = await runCli(cwd, env, 'get', 'shop')
    const json = await runCli(cwd, env, 'get', 'shop', '--json')

    assert.equal(before.code, 1)
    assert.match(before.stdout, /shop: nothing cached .*run metrics-cache fetch --brand shop/)
    assert.equal(fetched.code, 0, fetched.stdout + fetched.stderr)
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /^shop: cached \d+ s ago \(read from its database at 20/)
    assert.match(text.stdout, /last refresh: ok at .* in \d+ ms/)
    assert.match(text.stdout, /"products": 3,\n\s+"orders": 4,\n\s+"customers": 5/)
    const view = JSON.parse(json.stdout)
    assert.equal(json.code, 0)
    assert.deepEqual(Object.keys(view).sort(), ['age_seconds', 'brand', 'metrics', 'status'])
    assert.deepEqual(view.metrics.counts, { products: 3, orders: 4, customers: 5 })
    assert.equal(view.status.ok, true)
    assertNoSecret(text)
  })

  test('should show a failed latest refresh above the last good metrics', async () => {
    const own = { ...env, METRICS_KEY_PREFIX: `${prefix}failed:` }
    const refused = new URL(withPassword(shop.url, PG_PASSWORD))
    refused.port = '1'

    const good = await runCli(cwd, own, 'fetch', '--json')
    const bad = await runCli(cwd, { ...own, SHOP_DATABASE_URL: refused.toString() }, 'fetch')
    const run = await runCli(cwd, own, 'get', 'shop')

    assert.equal(good.code, 0)
    assert.equal(bad.code, 1)
    assert.equal(run.code, 0)
    assert.match(run.stdout, /last refresh: FAILED at .* \(SOURCE_CONNECT_FAILED\): Cannot connect/)
    assert.match(run.stdout, /the metrics below are from the last success\n\{/)
    assert.match(run.stdout, /"products": 3/)
    assertNoSecret(run)
  })

  test('should exit 1 from get when the cache store is down', async () => {
    const run = await runCli(cwd, { ...env, UPSTASH_REDIS_URL: 'redis://127.0.0.1:1' },
      'get', 'shop')

    assert.equal(run.code, 1)
    assert.match(run.stderr, /cannot read the cache store: Redis at 127\.0\.0\.1:1/)
  })

  test('should exit 2 from get for an unknown brand', async () => {
    const run = await runCli(cwd, env, 'get', 'nobody')

    assert.equal(run.code, 2)
    assert.match(run.stderr, /Unknown brand "nobody": expected one of shop/)
  })
})
