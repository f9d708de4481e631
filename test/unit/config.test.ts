import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { authMode, brandVariableNames, loadConfig, openEndpointWarning, requireBrands,
  requireCache, type Env } from '../../src/config.js'
import { ConfigError } from '../../src/errors.js'

const PG = 'postgres://reader:s3cret-pw@db.example.com:5432/shop'

/** A minimal valid environment, with `extra` on top. */
function env (extra: Env = {}): Env {
  return { BRANDS: 'acme', ACME_DATABASE_URL: PG, UPSTASH_REDIS_URL: 'redis://127.0.0.1:6379',
    ...extra }
}

function brand (config: ReturnType<typeof loadConfig>, id: string) {
  const found = config.brands.find((b) => b.id === id)
  assert.ok(found, `brand ${id} is configured`)
  return found
}

function throwsConfigError (environment: Env, variable: string): ConfigError {
  let caught: unknown
  try {
    loadConfig(environment)
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof ConfigError, `a ConfigError for ${variable}`)
  assert.equal(caught.variable, variable)
  assert.match(caught.message, new RegExp(variable))
  return caught
}

describe('database URL names', () => {
  const url = (n: number): string => `postgres://u@h${n}:5432/d`

  test('should prefer <BRAND>_DATABASE_URL over the other forms', () => {
    const config = loadConfig({ BRANDS: 'acme', ACME_DATABASE_URL: url(1),
      BRAND_ACME_DATABASE_URL: url(2), acme_DATABASE_URL: url(3) })
    assert.equal(brand(config, 'acme').databaseUrl, url(1))
    assert.equal(brand(config, 'acme').urlVariable, 'ACME_DATABASE_URL')
  })

  test('should fall back to BRAND_<BRAND>_DATABASE_URL, then <brand>_DATABASE_URL', () => {
    const second = loadConfig({ BRANDS: 'acme', BRAND_ACME_DATABASE_URL: url(2),
      acme_DATABASE_URL: url(3) })
    assert.equal(brand(second, 'acme').databaseUrl, url(2))
    assert.equal(brand(second, 'acme').urlVariable, 'BRAND_ACME_DATABASE_URL')

    const third = loadConfig({ BRANDS: 'acme', acme_DATABASE_URL: url(3) })
    assert.equal(brand(third, 'acme').databaseUrl, url(3))
    assert.equal(brand(third, 'acme').urlVariable, 'acme_DATABASE_URL')
  })

  test('should skip a variable that is set but blank', () => {
    const config = loadConfig({ BRANDS: 'acme', ACME_DATABASE_URL: '  ',
      BRAND_ACME_DATABASE_URL: url(2) })
    assert.equal(brand(config, 'acme').databaseUrl, url(2))
  })

  test('should look up an id like acme-eu literally first, then with "_"', () => {
    assert.deepEqual(brandVariableNames('acme-eu', 'DATABASE_URL', true), [
      'ACME-EU_DATABASE_URL', 'BRAND_ACME-EU_DATABASE_URL', 'acme-eu_DATABASE_URL',
      'ACME_EU_DATABASE_URL', 'BRAND_ACME_EU_DATABASE_URL', 'acme_eu_DATABASE_URL'])

    const literal = loadConfig({ BRANDS: 'acme-eu', 'ACME-EU_DATABASE_URL': url(1),
      ACME_EU_DATABASE_URL: url(2) })
    assert.equal(brand(literal, 'acme-eu').databaseUrl, url(1))

    for (const [name, n] of [['ACME_EU_DATABASE_URL', 4], ['BRAND_ACME_EU_DATABASE_URL', 5],
      ['acme_eu_DATABASE_URL', 6]] as const) {
      const config = loadConfig({ BRANDS: 'acme-eu', [name]: url(n) })
      assert.equal(brand(config, 'acme-eu').databaseUrl, url(n), name)
      assert.equal(brand(config, 'acme-eu').urlVariable, name)
    }
  })

  test('should keep the id exactly as written in BRANDS', () => {
    const config = loadConfig({ BRANDS: 'Acme-EU', ACME_EU_DATABASE_URL: url(1) })
    assert.equal(config.brands[0]?.id, 'Acme-EU')
    assert.equal(config.brands[0]?.databaseUrl, url(1))
  })
})

describe('custom query names', () => {
  test('should read <BRAND>_METRICS_QUERY before BRAND_<BRAND>_METRICS_QUERY', () => {
    const both = loadConfig(env({ ACME_METRICS_QUERY: ' SELECT 1 ',
      BRAND_ACME_METRICS_QUERY: 'SELECT 2' }))
    assert.equal(brand(both, 'acme').customQuery, 'SELECT 1')
    assert.equal(brand(both, 'acme').queryVariable, 'ACME_METRICS_QUERY')

    const second = loadConfig(env({ BRAND_ACME_METRICS_QUERY: 'SELECT 2' }))
    assert.equal(brand(second, 'acme').customQuery, 'SELECT 2')
    assert.equal(brand(second, 'acme').queryVariable, 'BRAND_ACME_METRICS_QUERY')
  })

  test('should use the default counts when no query is set', () => {
    assert.equal(brand(loadConfig(env()), 'acme').customQuery, undefined)
  })

  test('should read the "_"-replaced query names for an id like acme-eu', () => {
    const config = loadConfig({ BRANDS: 'acme-eu', ACME_EU_DATABASE_URL: PG,
      BRAND_ACME_EU_METRICS_QUERY: 'SELECT 3' })
    assert.equal(brand(config, 'acme-eu').customQuery, 'SELECT 3')
  })
})

describe('BRANDS', () => {
  test('should trim blanks and ignore empty items', () => {
    const config = loadConfig({ BRANDS: ' acme , ,globex,, ', ACME_DATABASE_URL: PG,
      GLOBEX_DATABASE_URL: PG })
    assert.deepEqual(config.brands.map((b) => b.id), ['acme', 'globex'])
  })

  test('should refuse a brand listed twice, naming BRANDS', () => {
    const error = throwsConfigError({ BRANDS: 'acme,globex, acme' }, 'BRANDS')
    assert.match(error.message, /acme/)
  })

  test('should refuse an id with a ":" that would break the key layout', () => {
    throwsConfigError({ BRANDS: 'a:b' }, 'BRANDS')
  })

  test('should refuse an id with characters other than letters, digits, "_", "-", "."', () => {
    for (const id of ['a<img>', 'a b', 'a/b', 'ä', 'a"b']) {
      const error = throwsConfigError({ BRANDS: id }, 'BRANDS')
      assert.match(error.message, /letters, digits/)
    }
    assert.deepEqual(loadConfig({ BRANDS: 'acme-eu,shop_2.b' }).brands.map((b) => b.id),
      ['acme-eu', 'shop_2.b'])
  })

  test('should need at least one brand to run', () => {
    const config = loadConfig({ BRANDS: ' , ' })
    assert.deepEqual(config.brands, [])
    assert.throws(() => { requireBrands(config) }, (error: unknown) =>
      error instanceof ConfigError && error.variable === 'BRANDS')
  })
})

describe('a bad brand', () => {
  test('should record a problem for a brand without a URL while the others are fine', () => {
    const config = loadConfig({ BRANDS: 'acme,globex', ACME_DATABASE_URL: PG })
    assert.equal(brand(config, 'acme').problem, undefined)
    assert.match(brand(config, 'globex').problem ?? '', /GLOBEX_DATABASE_URL/)
  })

  test('should record a problem for an unknown URL scheme while the others are fine', () => {
    const config = loadConfig({ BRANDS: 'acme,globex', ACME_DATABASE_URL: PG,
      GLOBEX_DATABASE_URL: 'sqlite://u:pw-in-url@h/x' })
    assert.equal(brand(config, 'acme').problem, undefined)
    const problem = brand(config, 'globex').problem ?? ''
    assert.match(problem, /GLOBEX_DATABASE_URL/)
    assert.match(problem, /sqlite:/)
    assert.doesNotMatch(problem, /pw-in-url/)
  })

  test('should suggest a variable name a shell can set for an id like acme-eu', () => {
    const config = loadConfig({ BRANDS: 'acme-eu' })
    assert.match(brand(config, 'acme-eu').problem ?? '', /set ACME_EU_DATABASE_URL /)
  })

  test('should refuse a URL without // or with an unencoded # in its password', () => {
    for (const url of ['postgres:u:PassWd9@127.0.0.1/x', 'postgres://u:Pa@ss#Wd9@127.0.0.1/x']) {
      const problem = brand(loadConfig({ BRANDS: 'acme', ACME_DATABASE_URL: url }), 'acme')
        .problem ?? ''
      assert.match(problem, /ACME_DATABASE_URL does not parse.*percent-encoded/)
      assert.doesNotMatch(problem, /PassWd9|Wd9/)
    }
  })

  test('should record a problem for a URL that does not parse', () => {
    const config = loadConfig({ BRANDS: 'acme', ACME_DATABASE_URL: 'not a url' })
    assert.match(brand(config, 'acme').problem ?? '', /ACME_DATABASE_URL is not a valid URL/)
  })
})

describe('cache store', () => {
  test('should read UPSTASH_REDIS_URL before its alias REDIS_URL', () => {
    const both = loadConfig({ UPSTASH_REDIS_URL: 'redis://a:6379',
      REDIS_URL: 'redis://b:6379' })
    assert.deepEqual({ ...both.cache, url: both.cache?.kind === 'redis' && both.cache.url },
      { kind: 'redis', variable: 'UPSTASH_REDIS_URL', url: 'redis://a:6379' })

    const alias = loadConfig({ REDIS_URL: 'rediss://b:6380' })
    assert.equal(alias.cache?.kind, 'redis')
    assert.equal(alias.cache?.kind === 'redis' && alias.cache.url, 'rediss://b:6380')
    assert.equal(alias.cache?.kind === 'redis' && alias.cache.variable, 'REDIS_URL')
  })

  test('should refuse a cache URL of another scheme, naming the variable', () => {
    throwsConfigError({ UPSTASH_REDIS_URL: 'http://a:6379' }, 'UPSTASH_REDIS_URL')
    throwsConfigError({ REDIS_URL: 'memcached://a' }, 'REDIS_URL')
  })

  test('should refuse a redis:// URL that does not parse, without echoing it', () => {
    const error = throwsConfigError({ UPSTASH_REDIS_URL: 'redis://:pw-x@host:99999' },
      'UPSTASH_REDIS_URL')
    assert.doesNotMatch(error.message, /pw-x/)
  })

  test('should refuse a database number Redis cannot select, naming the variable', () => {
    throwsConfigError({ UPSTASH_REDIS_URL: 'redis://127.0.0.1:6379/notanumber' },
      'UPSTASH_REDIS_URL')
    throwsConfigError({ UPSTASH_REDIS_URL: 'redis://127.0.0.1:6379/99' }, 'UPSTASH_REDIS_URL')
    assert.equal(loadConfig({ UPSTASH_REDIS_URL: 'redis://127.0.0.1:6379/2' }).cache?.kind,
      'redis')
    assert.equal(loadConfig({ UPSTASH_REDIS_URL: 'redis://127.0.0.1:6379/' }).cache?.kind,
      'redis')
  })

  test('should refuse a wait longer than a day, which Node timers cannot hold', () => {
    throwsConfigError(env({ METRICS_QUERY_TIMEOUT_MS: '99999999999999' }),
      'METRICS_QUERY_TIMEOUT_MS')
    throwsConfigError(env({ METRICS_CONNECT_TIMEOUT_MS: '86400001' }),
      'METRICS_CONNECT_TIMEOUT_MS')
    assert.equal(loadConfig(env({ SHUTDOWN_TIMEOUT_MS: '86400000' })).shutdownTimeoutMs,
      86400000)
  })

  test('should name PORT and its range when it is not a port', () => {
    const error = throwsConfigError(env({ PORT: 'http' }), 'PORT')
    assert.match(error.message, /1 to 65535, got "http"/)
  })

  test('should take an Upstash REST URL over https, or http only on this machine', () => {
    const rest = (url: string): Env => ({ UPSTASH_REDIS_REST_URL: url,
      UPSTASH_REDIS_REST_TOKEN: 'tok' })
    assert.equal(loadConfig(rest('https://eu1.upstash.io')).cache?.kind, 'upstash-rest')
    assert.equal(loadConfig(rest('http://127.0.0.1:8079')).cache?.kind, 'upstash-rest')
    assert.equal(loadConfig(rest('http://localhost:8079')).cache?.kind, 'upstash-rest')
    throwsConfigError(rest('http://eu1.upstash.io'), 'UPSTASH_REDIS_REST_URL')
    throwsConfigError(rest('notaurl'), 'UPSTASH_REDIS_REST_URL')
  })

  test('should require a cache store to run, naming UPSTASH_REDIS_URL', () => {
    const config = loadConfig({ BRANDS: 'acme', ACME_DATABASE_URL: PG })
    assert.equal(config.cache, undefined)
    assert.throws(() => requireCache(config), (error: unknown) =>
      error instanceof ConfigError && error.variable === 'UPSTASH_REDIS_URL')
  })
})

describe('numbers and defaults', () => {
  test('should use the documented defaults', () => {
    const config = loadConfig(env())
    assert.equal(config.ttlSeconds, 86400)
    assert.equal(config.preserveOldSeconds, 3600)
    assert.equal(config.keyPrefix, 'metrics:')
    assert.equal(config.concurrency, 16)
    assert.equal(config.queryTimeoutMs, 30000)
    assert.equal(config.connectTimeoutMs, 10000)
    assert.equal(config.maxRows, 10000)
    assert.equal(config.port, 8080)
    assert.equal(config.logLevel, 'info')
    assert.equal(config.shutdownTimeoutMs, 10000)
    assert.equal(config.apiCacheMs, 1000)
    assert.equal(config.overallSummary, false)
    assert.equal(config.authToken, undefined)
    assert.equal(authMode(config), 'none')
  })

  test('should listen on every interface unless HOST names one', () => {
    assert.equal(loadConfig(env()).host, '0.0.0.0')
    assert.equal(loadConfig(env({ HOST: '127.0.0.1' })).host, '127.0.0.1')
  })

  test('should take a blank METRICS_KEY_PREFIX as unset, like every other variable', () => {
    assert.equal(loadConfig(env({ METRICS_KEY_PREFIX: '  ' })).keyPrefix, 'metrics:')
    assert.equal(loadConfig(env({ METRICS_KEY_PREFIX: 'dash:' })).keyPrefix, 'dash:')
  })

  test('should read METRICS_TTL_SECONDS before its alias CACHE_TTL_SECONDS', () => {
    assert.equal(loadConfig(env({ CACHE_TTL_SECONDS: '120' })).ttlSeconds, 120)
    assert.equal(loadConfig(env({ METRICS_TTL_SECONDS: '60', CACHE_TTL_SECONDS: '120' }))
      .ttlSeconds, 60)
  })

  test('should read every numeric variable', () => {
    const config = loadConfig(env({ CACHE_PRESERVE_OLD_SECONDS: '7', METRICS_CONCURRENCY: '3',
      METRICS_QUERY_TIMEOUT_MS: '1500', METRICS_CONNECT_TIMEOUT_MS: '700',
      METRICS_MAX_ROWS: '25', PORT: '9090', SHUTDOWN_TIMEOUT_MS: '250',
      METRICS_MAX_IDLE_CONNECTIONS: '300' }))
    assert.deepEqual([config.preserveOldSeconds, config.concurrency, config.queryTimeoutMs,
      config.connectTimeoutMs, config.maxRows, config.port, config.shutdownTimeoutMs,
      config.maxIdleConnections], [7, 3, 1500, 700, 25, 9090, 250, 300])
  })

  const numeric = ['METRICS_TTL_SECONDS', 'CACHE_TTL_SECONDS', 'CACHE_PRESERVE_OLD_SECONDS',
    'METRICS_CONCURRENCY', 'METRICS_QUERY_TIMEOUT_MS', 'METRICS_CONNECT_TIMEOUT_MS',
    'METRICS_MAX_ROWS', 'PORT', 'SHUTDOWN_TIMEOUT_MS', 'METRICS_MAX_IDLE_CONNECTIONS']
  for (const variable of numeric) {
    test(`should name ${variable} when its value is not a positive whole number`, () => {
      for (const bad of ['abc', '0', '-5', '1.5', '12abc']) {
        const error = throwsConfigError(env({ [variable]: bad }), variable)
        assert.match(error.message, new RegExp(`"${bad.replace('.', '\\.')}"`))
      }
    })
  }

  test('should take API_CACHE_MS as milliseconds, 0 included to turn the cache off', () => {
    assert.equal(loadConfig(env({ API_CACHE_MS: '250' })).apiCacheMs, 250)
    assert.equal(loadConfig(env({ API_CACHE_MS: '0' })).apiCacheMs, 0)
    for (const bad of ['abc', '-5', '1.5', '12abc']) {
      const error = throwsConfigError(env({ API_CACHE_MS: bad }), 'API_CACHE_MS')
      assert.match(error.message, /whole number \(0 or more\) of milliseconds/)
    }
  })

  test('should refuse a PORT above 65535', () => {
    throwsConfigError(env({ PORT: '70000' }), 'PORT')
  })

  test('should name LOG_LEVEL and METRICS_OVERALL_SUMMARY when they are not understood', () => {
    throwsConfigError(env({ LOG_LEVEL: 'loud' }), 'LOG_LEVEL')
    throwsConfigError(env({ METRICS_OVERALL_SUMMARY: 'maybe' }), 'METRICS_OVERALL_SUMMARY')
  })
})

describe('QStash token', () => {
  test('should require the bearer token QSTASH_AUTH_TOKEN names', () => {
    const config = loadConfig(env({ QSTASH_AUTH_TOKEN: 'tok-1' }))
    assert.equal(config.authToken, 'tok-1')
    assert.equal(authMode(config), 'bearer')
    assert.equal(config.warnings.length, 0)
  })

  test('should honour the legacy QSTASH_TOKEN, with a warning naming both names', () => {
    const config = loadConfig(env({ QSTASH_TOKEN: 'legacy-tok' }))
    assert.equal(config.authToken, 'legacy-tok')
    assert.equal(authMode(config), 'bearer')
    const warning = config.warnings.find((w) => w.includes('QSTASH_TOKEN'))
    assert.ok(warning)
    assert.match(warning, /QSTASH_AUTH_TOKEN/)
    assert.doesNotMatch(warning, /legacy-tok/)
  })

  test('should prefer QSTASH_AUTH_TOKEN when both names are set', () => {
    const config = loadConfig(env({ QSTASH_AUTH_TOKEN: 'new', QSTASH_TOKEN: 'old' }))
    assert.equal(config.authToken, 'new')
  })

  test('should warn that /qstash is open when no authentication is set', () => {
    assert.match(openEndpointWarning(loadConfig(env())) ?? '', /accepts any caller/)
    assert.equal(openEndpointWarning(loadConfig(env({ QSTASH_AUTH_TOKEN: 't' }))), undefined)
  })

  test('should keep that warning out of the warnings every command logs', () => {
    assert.ok(!loadConfig(env()).warnings.some((w) => /accepts any caller/.test(w)))
  })
})

describe('secrets', () => {
  test('should keep database URLs, tokens and keys out of JSON.stringify(config)', () => {
    const config = loadConfig({ BRANDS: 'acme,globex', ACME_DATABASE_URL: PG,
      BRAND_GLOBEX_DATABASE_URL: 'postgresql://r:other-pw@h/g',
      UPSTASH_REDIS_URL: 'redis://default:redis-pw@cache:6379',
      QSTASH_AUTH_TOKEN: 'bearer-tok', QSTASH_CURRENT_SIGNING_KEY: 'sig-current',
      API_READ_TOKEN: 'read-tok' })
    const text = JSON.stringify(config)

    for (const secret of ['s3cret-pw', 'other-pw', 'redis-pw', 'bearer-tok', 'sig-current',
      'read-tok', 'db.example.com']) {
      assert.ok(!text.includes(secret), `${secret} is not in the JSON`)
    }
    assert.equal(brand(config, 'acme').databaseUrl, PG)
    assert.match(text, /ACME_DATABASE_URL/)
  })
})
