import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loadConfig, requireCache } from '../../src/config.js'
import { ConfigError } from '../../src/errors.js'

const BASE = { BRANDS: 'acme', ACME_DATABASE_URL: 'postgres://u@127.0.0.1:5432/acme' }

describe('CACHE_STORE', () => {
  it('should refuse to run without a cache store when CACHE_STORE is unset', () => {
    const config = loadConfig(BASE)

    assert.throws(() => requireCache(config),
      (error: unknown) => error instanceof ConfigError && error.variable === 'UPSTASH_REDIS_URL')
  })

  it('should select the in-process store when CACHE_STORE=memory, with a warning', () => {
    const config = loadConfig({ ...BASE, CACHE_STORE: 'memory' })

    assert.deepEqual(requireCache(config), { kind: 'memory' })
    assert.ok(config.warnings.some((w) => w.includes('nothing survives a restart')))
  })

  it('should prefer CACHE_STORE=memory over a Redis URL and say the URL is ignored', () => {
    const config = loadConfig({ ...BASE, CACHE_STORE: 'Memory',
      UPSTASH_REDIS_URL: 'redis://127.0.0.1:6379' })

    assert.equal(config.cache?.kind, 'memory')
    assert.ok(config.warnings.some((w) => w.includes('UPSTASH_REDIS_URL, which is ignored')))
  })

  it('should name CACHE_STORE when it asks for a store that does not exist', () => {
    assert.throws(() => loadConfig({ ...BASE, CACHE_STORE: 'redis' }),
      (error: unknown) => error instanceof ConfigError && error.variable === 'CACHE_STORE' &&
        error.message.includes('"memory"'))
  })
})
