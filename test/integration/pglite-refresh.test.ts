import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { loadConfig } from '../../src/config.js'
import { startDemoDatabases, type DemoDatabase } from '../../src/demo/databases.js'
import { refreshBrands } from '../../src/refresh.js'
import { SourceRegistry } from '../../src/sources/index.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { readBrandViews } from '../../src/store/read-model.js'
import { captureLogs } from '../helper.js'

const SHOP = `
  CREATE TABLE products (id serial PRIMARY KEY, name text);
  CREATE TABLE orders (id serial PRIMARY KEY, total numeric(10, 2), day date);
  CREATE TABLE customers (id serial PRIMARY KEY);
  INSERT INTO products (name) SELECT 'p' || g FROM generate_series(1, 17) g;
  INSERT INTO orders (total, day) SELECT g * 1.25, DATE '2026-12-01' + g % 3
    FROM generate_series(1, 40) g;
  INSERT INTO customers SELECT FROM generate_series(1, 9);`

/** The rows SHOP's orders give by day, worked out here from the same arithmetic. */
function expectedRevenue (): Array<{ day: string, orders: number, revenue: number }> {
  const days = ['2026-12-01', '2026-12-02', '2026-12-03']
  const rows = days.map((day) => ({ day, orders: 0, revenue: 0 }))
  for (let g = 1; g <= 40; g++) {
    const row = rows[g % 3] as { orders: number, revenue: number }
    row.orders += 1
    row.revenue += g * 1.25
  }
  return rows
}

// PGlite needs nothing but npm packages: this suite runs on every machine.
describe('a full refresh through the PGlite socket server', () => {
  let databases: DemoDatabase[] = []

  before(async () => { databases = await startDemoDatabases([SHOP, SHOP]) })
  after(async () => { await Promise.all(databases.map(async (d) => { await d.stop() })) })

  it('should cache the counts and custom rows read over node-postgres', async () => {
    const [counted, custom] = databases as [DemoDatabase, DemoDatabase]
    const config = loadConfig({
      BRANDS: 'shop,report',
      SHOP_DATABASE_URL: counted.url,
      REPORT_DATABASE_URL: custom.url,
      REPORT_METRICS_QUERY: 'SELECT day, COUNT(*)::int AS orders, SUM(total) AS revenue ' +
        'FROM orders GROUP BY day ORDER BY day',
      CACHE_STORE: 'memory'
    })
    const store = new MemoryStore()
    const sources = new SourceRegistry({ connectTimeoutMs: 5000, queryTimeoutMs: 10_000 })
    const { log } = captureLogs()

    try {
      const report = await refreshBrands({ config, store, sources, log },
        { trigger: 'demo', runId: randomUUID() })
      assert.equal(report.ok, true, JSON.stringify(report.results))

      const expected = await counted.db.query<{ p: number, o: number, c: number }>(
        'SELECT (SELECT COUNT(*)::int FROM products) p, (SELECT COUNT(*)::int FROM orders) o, ' +
        '(SELECT COUNT(*)::int FROM customers) c')
      const row = expected.rows[0]
      const [shop, report2] = await readBrandViews(store, config.keyPrefix, ['shop', 'report'])
      assert.deepEqual((shop?.metrics as { counts: unknown }).counts,
        { products: row?.p, orders: row?.o, customers: row?.c })
      assert.deepEqual((report2?.metrics as { custom_rows: unknown }).custom_rows,
        expectedRevenue())
    } finally {
      await sources.closeAll()
    }
  })

  it('should serve the three connections a brand pool opens at once, right after another pool closed', async () => {
    const database = databases[0] as DemoDatabase
    const config = loadConfig({ BRANDS: 'shop', SHOP_DATABASE_URL: database.url })
    const sources = new SourceRegistry({ connectTimeoutMs: 5000, queryTimeoutMs: 10_000 })
    const source = sources.get(config.brands[0] as never)

    try {
      const counts = await Promise.all(['products', 'orders', 'customers', 'products']
        .map(async (table) => await source.countRows(table)))
      assert.deepEqual(counts, [17, 40, 9, 17])
    } finally {
      await sources.closeAll()
    }
  })
})
