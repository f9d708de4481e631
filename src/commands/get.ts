import { requireCache, type Config } from '../config.js'
import { BrandUnknownError, ConfigError, StoreError } from '../errors.js'
import { readBrandViews, type BrandView } from '../store/read-model.js'
import { openStore } from '../store/index.js'

/**
 * `metrics-cache get BRAND`: prints what is cached for one brand, its age and the
 * status of its latest refresh. Returns 0 when metrics are cached, 1 when none are or
 * the store cannot be read; an unknown brand or a missing cache store throws
 * ConfigError (exit 2).
 */
export async function runGet (config: Config, brand: string | undefined, asJson: boolean):
Promise<number> {
  const ids = config.brands.map((b) => b.id)
  if (brand === undefined) {
    throw new ConfigError('BRAND', 'get needs a brand id: metrics-cache get BRAND.')
  }
  if (!ids.includes(brand)) {
    throw new ConfigError('BRAND', new BrandUnknownError(brand, ids).message)
  }

  const cache = requireCache(config)
  if (cache.kind === 'memory') {
    throw new ConfigError('CACHE_STORE', 'get reads the cache store, and CACHE_STORE=memory ' +
      'keeps one only inside the process that runs serve or demo: ask that process with ' +
      `GET /api/metrics/${brand}, or point get at the Redis the service uses.`)
  }
  const store = openStore(cache)
  let view: BrandView | undefined
  try {
    [view] = await readBrandViews(store, config.keyPrefix, [brand])
  } catch (error) {
    if (!(error instanceof StoreError)) throw error
    process.stderr.write(`metrics-cache: cannot read the cache store: ${error.message}\n`)
    return 1
  } finally {
    await store.close()
  }

  const found = view ?? { brand, metrics: null, status: null, age_seconds: null }
  process.stdout.write(asJson ? `${JSON.stringify(found, null, 2)}\n` : formatView(found))
  return found.metrics === null ? 1 : 0
}

function formatView (view: BrandView): string {
  const lines: string[] = []
  const timestamp = (view.metrics as { timestamp?: string } | null)?.timestamp
  if (view.metrics === null) {
    lines.push(`${view.brand}: nothing cached (it has never been refreshed successfully, ` +
      `or its value expired): run metrics-cache fetch --brand ${view.brand}`)
  } else {
    lines.push(`${view.brand}: cached ${view.age_seconds ?? '?'} s ago` +
      (timestamp === undefined ? '' : ` (read from its database at ${timestamp})`))
  }

  const status = view.status
  if (status === null) lines.push('last refresh: none recorded')
  else if (status.ok) {
    lines.push(`last refresh: ok at ${status.checked_at} in ${status.duration_ms} ms`)
  } else {
    lines.push(`last refresh: FAILED at ${status.checked_at} (${status.error_code ?? 'error'}): ` +
      `${status.error ?? 'no reason recorded'}`)
    if (view.metrics !== null) lines.push('the metrics below are from the last success')
  }

  if (view.metrics !== null) lines.push(JSON.stringify(view.metrics, null, 2))
  return `${lines.join('\n')}\n`
}
