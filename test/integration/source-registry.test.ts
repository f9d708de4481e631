import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { BrandConfig, Config, Env } from '../../src/config.js'
import { refreshBrands } from '../../src/refresh.js'
import { closeRuntime, openRuntime } from '../../src/runtime.js'
import { SourceConnectError } from '../../src/errors.js'
import { startSilentServer } from '../faults.js'
import { maxOpenSources, SourceRegistry } from '../../src/sources/index.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { adminQuery, createPgDatabase, needs, REDIS_URL, silentLog, testConfig,
  type TestDatabase } from '../helper.js'

describe('source registry bounds', { skip: await needs('postgres') }, () => {
  let db: TestDatabase

  before(async () => { db = await createPgDatabase('registry') })
  after(async () => { await db.drop() })

  /** `count` brands r0, r1, ... that all query `db`. */
  function envOf (count: number, query: string, concurrency: number): Env {
    const ids = Array.from({ length: count }, (_, i) => `r${i}`)
    const env: Env = { BRANDS: ids.join(','), METRICS_CONCURRENCY: String(concurrency) }
    for (const id of ids) {
      env[`${id.toUpperCase()}_DATABASE_URL`] = db.url
      env[`${id.toUpperCase()}_METRICS_QUERY`] = query
    }
    return env
  }

  function config (count: number, query: string, concurrency: number): Config {
    return testConfig(envOf(count, query, concurrency))
  }

  async function openConnections (): Promise<number> {
    const result = await adminQuery(`SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = '${db.name}' AND application_name = 'metrics-cache'`)
    return (result.rows[0] as { n: number }).n
  }

  /** Closing is asynchronous: wait until the server has seen it, within a deadline. */
  async function settledConnections (expected: number): Promise<number> {
    const deadline = Date.now() + 5000
    let open = await openConnections()
    while (open > expected && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      open = await openConnections()
    }
    return open
  }

  test('should keep at most maxOpen idle pools after a pass, closing the least recent',
    async () => {
      const cfg = config(6, 'SELECT 1 AS value', 1)
      const sources = new SourceRegistry({ connectTimeoutMs: 3000, queryTimeoutMs: 3000,
        maxOpen: 2 })
      try {
        const report = await refreshBrands({ config: cfg, store: new MemoryStore(), sources,
          log: silentLog() }, { trigger: 'cli', runId: 'bounded' })

        assert.equal(report.ok, true)
        assert.equal(sources.size, 2)
        assert.equal(await settledConnections(2), 2)
      } finally {
        await sources.closeAll()
      }
    })

  test('should keep every pool, and reconnect nothing, when no maximum is set', async () => {
    const cfg = config(3, 'SELECT 1 AS value', 3)
    const sources = new SourceRegistry({ connectTimeoutMs: 3000, queryTimeoutMs: 3000 })
    const ctx = { config: cfg, store: new MemoryStore(), sources, log: silentLog() }
    try {
      await refreshBrands(ctx, { trigger: 'cli', runId: 'warm-1' })
      const started = (await adminQuery('SELECT clock_timestamp() AS t')).rows[0] as { t: Date }
      await refreshBrands(ctx, { trigger: 'cli', runId: 'warm-2' })

      const fresh = await adminQuery(`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = '${db.name}' AND backend_start >= '${started.t.toISOString()}'`)
      assert.equal(sources.size, 3)
      assert.equal((fresh.rows[0] as { n: number }).n, 0)
    } finally {
      await sources.closeAll()
    }
  })

  test('should keep only METRICS_CONCURRENCY pools when the brands exceed ' +
    'METRICS_MAX_IDLE_CONNECTIONS', async () => {
    const cfg = testConfig({ ...envOf(4, 'SELECT 1 AS value', 1), UPSTASH_REDIS_URL: REDIS_URL,
      METRICS_MAX_IDLE_CONNECTIONS: '3' })
    const runtime = openRuntime(cfg, silentLog(), new MemoryStore())
    try {
      const report = await refreshBrands(runtime, { trigger: 'cli', runId: 'budget' })

      assert.equal(report.ok, true)
      assert.equal(runtime.sources.size, 1)
      assert.equal(await settledConnections(1), 1)
    } finally {
      await closeRuntime(runtime)
    }
  })

  test('should never close a source while a refresh is using it', async () => {
    // Brand r0 is slow; r1 and r2 finish while it runs and push the registry over its
    // maximum of one: r0 must still finish on its own pool.
    const cfg = config(3, 'SELECT 1 AS value', 3)
    const sources = new SourceRegistry({ connectTimeoutMs: 3000, queryTimeoutMs: 3000,
      maxOpen: 1 })
    const [slow, ...quick] = cfg.brands
    try {
      const slowRun = sources.use(slow as BrandConfig, async (source) => {
        await source.runReadOnly('SELECT pg_sleep(0.3)', 1)
        return await source.runReadOnly(`SELECT '${randomBytes(2).toString('hex')}' AS v`, 1)
      })
      await Promise.all(quick.map(async (brand) => await sources.use(brand,
        async (source) => await source.runReadOnly('SELECT 1 AS value', 1))))

      const rows = await slowRun
      assert.equal(rows.rows.length, 1)
    } finally {
      await sources.closeAll()
    }
  })
})

describe('maxOpenSources', () => {
  const brands = (count: number, custom: boolean): BrandConfig[] => Array.from({ length: count },
    (_, i) => custom ? { id: `b${i}`, customQuery: 'SELECT 1' } : { id: `b${i}` })

  test('should keep every pool when their idle connections fit the budget', () => {
    assert.equal(maxOpenSources(brands(50, true), 16, 64), Number.POSITIVE_INFINITY)
    assert.equal(maxOpenSources(brands(21, false), 16, 64), Number.POSITIVE_INFINITY)
    assert.equal(maxOpenSources(brands(200, true), 16, 200), Number.POSITIVE_INFINITY)
  })

  test('should keep only as many pools as run at once beyond the budget', () => {
    assert.equal(maxOpenSources(brands(200, true), 16, 64), 16)
    assert.equal(maxOpenSources(brands(22, false), 4, 64), 4)
  })
})

describe('source registry after closeAll', () => {
  test('should refuse to open a pool once closed, as at shutdown', async () => {
    const registry = new SourceRegistry({ connectTimeoutMs: 1000, queryTimeoutMs: 1000 })
    await registry.closeAll()

    assert.throws(() => registry.get({ id: 'late', databaseUrl: 'postgres://u@127.0.0.1:1/x' }),
      (error: unknown) => error instanceof SourceConnectError && /shutting down/.test(error.message))
    assert.equal(registry.size, 0)
  })

  test('should end a use stuck in a connect at once when closed', async () => {
    const silent = await startSilentServer()
    const registry = new SourceRegistry({ connectTimeoutMs: 10_000, queryTimeoutMs: 1000 })
    const brand = { id: 'hung', databaseUrl: `postgres://u:pw@127.0.0.1:${silent.port}/x` }
    try {
      const using = registry.use(brand, async (source) => { await source.ping() })
      const outcome = using.then(() => 'settled', (error: unknown) => error)
      await new Promise((resolve) => setTimeout(resolve, 200))
      const closed = Date.now()
      void registry.closeAll()

      const error = await outcome
      assert.ok(error instanceof SourceConnectError, String(error))
      assert.match(error.message, /shutting down/)
      assert.ok(Date.now() - closed < 1000, `ended ${Date.now() - closed} ms after closeAll`)
    } finally {
      await silent.close()
    }
  })
})
