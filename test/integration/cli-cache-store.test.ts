import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { startDemoDatabases, type DemoDatabase } from '../../src/demo/databases.js'
import { startCli, waitForHttp } from '../cli-process.js'
import { freePort } from '../faults.js'

const SHOP = `CREATE TABLE products (id int); CREATE TABLE orders (id int);
  CREATE TABLE customers (id int); INSERT INTO orders SELECT generate_series(1, 5);`

// No Redis anywhere: the brand database is PGlite, so this runs on every machine.
describe('serve and fetch without a real cache store', () => {
  let database: DemoDatabase
  let brandEnv: Record<string, string>

  before(async () => {
    [database] = await startDemoDatabases([SHOP]) as [DemoDatabase]
    brandEnv = { BRANDS: 'shop', SHOP_DATABASE_URL: database.url, LOG_LEVEL: 'warn' }
  })
  after(async () => { await database?.stop() })

  for (const command of ['fetch', 'serve']) {
    it(`should refuse to ${command} with exit 2 when no cache store is configured`, async () => {
      const { done } = await startCli([command], brandEnv)
      const { code, stderr } = await done

      assert.equal(code, 2)
      assert.match(stderr, /No cache store is configured: set UPSTASH_REDIS_URL/)
    })
  }

  it('should fetch into the in-process store when CACHE_STORE=memory, with a warning',
    async () => {
      const { done } = await startCli(['fetch', '--json'], { ...brandEnv, CACHE_STORE: 'memory' })
      const { code, stdout, stderr } = await done

      assert.equal(code, 0, stderr)
      assert.equal((JSON.parse(stdout) as { results: { shop: { ok: boolean } } }).results.shop.ok,
        true)
      assert.match(stderr, /CACHE_STORE=memory keeps metrics inside this process/)
    })

  it('should refuse get with CACHE_STORE=memory, where no other process holds a cache',
    async () => {
      const { code, stderr } = await (await startCli(['get', 'shop'],
        { ...brandEnv, CACHE_STORE: 'memory' })).done

      assert.equal(code, 2)
      assert.match(stderr, /CACHE_STORE=memory keeps one only inside the process/)
    })

  it('should serve with CACHE_STORE=memory and stop with exit 0 on SIGTERM', async () => {
    const port = await freePort()
    const { child, done } = await startCli(['serve'],
      { ...brandEnv, CACHE_STORE: 'memory', PORT: String(port) })
    try {
      const health = await waitForHttp(`http://127.0.0.1:${port}/health`)
      assert.equal((await health.json() as { cache: string }).cache, 'memory')
    } finally {
      child.kill('SIGTERM')
    }
    const { code, stderr } = await done

    assert.equal(code, 0, stderr)
    assert.match(stderr, /nothing survives a restart/)
  })

  it('should exit 2 naming PORT when the port is taken, and HOST when it is no address',
    async () => {
      const blocker = createServer()
      const port = await freePort()
      await new Promise<void>((resolve) => { blocker.listen(port, '0.0.0.0', resolve) })
      try {
        const taken = await (await startCli(['serve'],
          { ...brandEnv, CACHE_STORE: 'memory', PORT: String(port) })).done
        assert.equal(taken.code, 2, taken.stderr)
        assert.match(taken.stderr, new RegExp(`Port ${port} on 0.0.0.0 is already in use.*PORT`))
      } finally {
        blocker.close()
      }

      const wrongHost = await (await startCli(['serve'], { ...brandEnv, CACHE_STORE: 'memory',
        PORT: String(await freePort()), HOST: '192.0.2.1' })).done
      assert.equal(wrongHost.code, 2, wrongHost.stderr)
      assert.match(wrongHost.stderr, /HOST "192.0.2.1" is not an address of this machine/)
    })
})
