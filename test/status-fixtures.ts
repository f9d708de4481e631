import { loadConfig, type Config } from '../src/config.js'
import type { BrandStatus } from '../src/refresh.js'
import { SourceRegistry } from '../src/sources/index.js'
import { brandKeys } from '../src/store/keys.js'
import { MemoryStore } from '../src/store/memory-store.js'
import type { AppContext } from '../src/app.js'
import { captureLogs } from './helper.js'

/** The TTL the status page fixtures run with: one hour. */
export const FIXTURE_TTL_SECONDS = 3600

/** A failing brand's error, as untrusted text that would run if it were not escaped. */
export const HOSTILE_ERROR = 'relation "orders" does not exist <script>window.__xss = 1' +
  '</script><img src=x onerror="window.__xss = 2">'

/**
 * An app context whose store holds a fresh brand (2 minutes old), a stale one (3 hours
 * old, past the one-hour TTL), a failing one (good metrics from 1 day ago, then a
 * failed refresh) and one never refreshed.
 */
export async function seededContext (): Promise<AppContext & { store: MemoryStore }> {
  const config: Config = loadConfig({
    BRANDS: 'fresh-shop,stale-shop,failing-shop,new-shop',
    METRICS_TTL_SECONDS: String(FIXTURE_TTL_SECONDS),
    CACHE_STORE: 'memory'
  })
  const store = new MemoryStore()
  const now = Date.now()

  await seed(store, config, 'fresh-shop', now - 120_000,
    { counts: { products: 12, orders: 3400, customers: 210 } }, true)
  await seed(store, config, 'stale-shop', now - 3 * 3600_000,
    { custom_rows: [{ day: '2026-12-01', revenue: 1520.5 }, { day: '2026-11-30', revenue: null }] },
    true)
  await seed(store, config, 'failing-shop', now - 86_400_000,
    { counts: { products: 5, orders: 9, customers: 1 } }, false)

  const sources = new SourceRegistry({ connectTimeoutMs: 1000, queryTimeoutMs: 1000 })
  return { config, store, sources, log: captureLogs('silent').log }
}

async function seed (store: MemoryStore, config: Config, brand: string, cachedAt: number,
  body: object, lastOk: boolean): Promise<void> {
  const keys = brandKeys(config.keyPrefix, brand)
  const timestamp = new Date(cachedAt).toISOString()
  const good: BrandStatus = { brand, ok: true, checked_at: timestamp, last_success_at: timestamp,
    duration_ms: 41 }
  await store.writeMetrics({ keys, metrics: JSON.stringify({ brand, timestamp, ...body }),
    status: JSON.stringify(good), ttlSeconds: 7 * 86400, preserveOldSeconds: 3600 })
  if (lastOk) return

  const failed: BrandStatus = { ...good, ok: false, checked_at: new Date().toISOString(),
    duration_ms: 12, error: HOSTILE_ERROR, error_code: 'SOURCE_QUERY_FAILED' }
  await store.writeStatus(keys.status, JSON.stringify(failed))
}
