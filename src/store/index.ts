import type { CacheConfig } from '../config.js'
import { MemoryStore } from './memory-store.js'
import { RedisStore } from './redis-store.js'
import type { CacheStore } from './store.js'

/** Opens the cache store the configuration names. */
export function openStore (cache: CacheConfig): CacheStore {
  switch (cache.kind) {
    case 'redis':
      return new RedisStore(cache.url)
    case 'memory':
      return new MemoryStore()
    case 'upstash-rest':
      throw new Error('The Upstash REST store is not available in this build.')
  }
}
