import type { CacheConfig } from '../config.js'
import { MemoryStore } from './memory-store.js'
import { RedisStore } from './redis-store.js'
import type { CacheStore } from './store.js'
import { UpstashRestStore } from './upstash-rest-store.js'

/** Opens the cache store the configuration names. */
export function openStore (cache: CacheConfig): CacheStore {
  switch (cache.kind) {
    case 'redis':
      return new RedisStore(cache.url)
    case 'memory':
      return new MemoryStore()
    case 'upstash-rest':
      return new UpstashRestStore(cache.url, cache.token)
  }
}
