import type { BrandStatus } from '../refresh.js'
import { brandKeys } from './keys.js'
import type { CacheStore } from './store.js'

/** What the read API, the status page and `get` show of one brand. */
export interface BrandView {
  brand: string
  /** The cached metrics JSON, parsed; null when nothing is cached. */
  metrics: unknown
  status: BrandStatus | null
  /** Seconds since the cached metrics were read from the database; null without any. */
  age_seconds: number | null
}

/** Reads brands' metrics and status in one round trip to the store. */
export async function readBrandViews (store: CacheStore, prefix: string,
  brands: readonly string[], now = Date.now()): Promise<BrandView[]> {
  const keys = brands.flatMap((brand) => {
    const { metrics, status } = brandKeys(prefix, brand)
    return [metrics, status]
  })
  const values = await store.getMany(keys)

  return brands.map((brand, i) => {
    const metrics = parseJson(values[2 * i])
    const status = parseJson(values[2 * i + 1]) as BrandStatus | null
    return { brand, metrics, status, age_seconds: ageOf(metrics, now) }
  })
}

function ageOf (metrics: unknown, now: number): number | null {
  const timestamp = (metrics as { timestamp?: unknown } | null)?.timestamp
  if (typeof timestamp !== 'string') return null
  const time = Date.parse(timestamp)
  return Number.isNaN(time) ? null : Math.max(0, Math.round((now - time) / 1000))
}

function parseJson (text: string | null | undefined): unknown {
  if (text === null || text === undefined) return null
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}
