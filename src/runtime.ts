import type { Logger } from 'pino'
import { authMode, requireBrands, requireCache, type Config } from './config.js'
import { maxOpenSources, SourceRegistry } from './sources/index.js'
import { openStore } from './store/index.js'
import type { CacheStore } from './store/store.js'

/** The long-lived parts a serve or a fetch shares: one cache store, one pool per brand. */
export interface Runtime {
  config: Config
  store: CacheStore
  sources: SourceRegistry
  log: Logger
}

/**
 * Opens the store and the source registry for a configuration that `serve` or `fetch`
 * can run with, and logs what is in use. Throws ConfigError for a missing cache or
 * empty BRANDS.
 */
export function openRuntime (config: Config, log: Logger, store?: CacheStore): Runtime {
  const cache = requireCache(config)
  requireBrands(config)

  for (const warning of config.warnings) log.warn(warning)
  for (const brand of config.brands) {
    if (brand.problem !== undefined) log.warn({ brand: brand.id }, brand.problem)
  }
  log.info({
    brands: config.brands.map((brand) => brand.id),
    cache: cache.kind,
    auth: authMode(config)
  }, 'configuration loaded')

  return {
    config,
    store: store ?? openStore(cache),
    sources: new SourceRegistry({
      connectTimeoutMs: config.connectTimeoutMs,
      queryTimeoutMs: config.queryTimeoutMs,
      maxOpen: maxOpenSources(config.brands, config.concurrency, config.maxIdleConnections)
    }),
    log
  }
}

export async function closeRuntime (runtime: Runtime): Promise<void> {
  await Promise.all([runtime.store.close(), runtime.sources.closeAll()])
}
