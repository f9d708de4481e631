import { ConfigError } from './errors.js'

export type Env = Record<string, string | undefined>

export type CacheConfig =
  | { kind: 'redis', url: string, variable: string }
  | { kind: 'upstash-rest', url: string, token: string }
  | { kind: 'memory' }

export type AuthMode = 'none' | 'bearer' | 'signature' | 'bearer+signature'

export interface BrandConfig {
  /** The id exactly as written in BRANDS; it is also the Redis key suffix. */
  id: string
  /** Connection URL; non-enumerable so that it never reaches a log or JSON by accident. */
  databaseUrl?: string
  /** The variable the URL came from, for `check` and error messages. */
  urlVariable?: string
  /** Custom SQL whose rows are cached instead of the default counts. */
  customQuery?: string
  queryVariable?: string
  /** Why this brand cannot run (no URL, unknown scheme), when it cannot. */
  problem?: string
}

export interface Config {
  brands: BrandConfig[]
  /** Undefined when no cache store is configured; `serve` and `fetch` refuse to start. */
  cache?: CacheConfig
  /** @default 86400 */
  ttlSeconds: number
  /** @default 3600 */
  preserveOldSeconds: number
  /** @default 'metrics:' */
  keyPrefix: string
  /** @default 16 */
  concurrency: number
  /**
   * Connections idle brand pools may keep between passes, over all brands; past it only
   * `concurrency` pools stay open. @default 64
   */
  maxIdleConnections: number
  /** @default 30000 */
  queryTimeoutMs: number
  /** @default 10000 */
  connectTimeoutMs: number
  /** @default 10000 */
  maxRows: number
  /** @default 8080 */
  port: number
  /** The address `serve` listens on: every interface unless told otherwise. @default '0.0.0.0' */
  host: string
  /** Bearer token `/qstash` requires, when set. */
  authToken?: string
  signingKeys: { current?: string, next?: string }
  /** When set, a signature's `sub` claim must equal it. */
  qstashUrl?: string
  /** Bearer token the read API requires, when set. */
  apiReadToken?: string
  /** @default 'info' */
  logLevel: string
  /** Cache the latest `overall_summary` row instead of counts when that table has rows. */
  overallSummary: boolean
  /** @default 10000 */
  shutdownTimeoutMs: number
  /**
   * How long the read API keeps a brand's rendered answer in this process; 0 reads the
   * store on every request. Writes by other instances show after at most this long.
   * @default 1000
   */
  apiCacheMs: number
  /** Start-up warnings worth a log line (legacy names, open endpoints). */
  warnings: string[]
}

/**
 * The longest wait a setting may ask for. Node's timers overflow past 2^31 - 1 ms and
 * fire at once, and a brand's deadline adds a connect and two query timeouts.
 */
const MAX_MS = 86_400_000

const URL_SCHEMES = ['postgres:', 'postgresql:', 'mysql:', 'mariadb:']
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/**
 * Reads the whole configuration from `env`. A bad global setting throws a ConfigError
 * naming its variable; a bad brand is recorded in that brand's `problem` so that the
 * other brands still run.
 */
export function loadConfig (env: Env): Config {
  const warnings: string[] = []
  const brands = readBrandIds(env).map((id) => readBrand(env, id))

  const legacyToken = nonEmpty(env.QSTASH_TOKEN)
  let authToken = nonEmpty(env.QSTASH_AUTH_TOKEN)
  if (authToken === undefined && legacyToken !== undefined) {
    authToken = legacyToken
    warnings.push('QSTASH_TOKEN is the legacy name of QSTASH_AUTH_TOKEN: it is honoured, ' +
      'rename it to QSTASH_AUTH_TOKEN')
  }

  const signingKeys = {
    current: nonEmpty(env.QSTASH_CURRENT_SIGNING_KEY),
    next: nonEmpty(env.QSTASH_NEXT_SIGNING_KEY)
  }
  const config: Config = {
    brands,
    cache: readCache(env, warnings),
    ttlSeconds: readPositiveInt(env, ['METRICS_TTL_SECONDS', 'CACHE_TTL_SECONDS'], 86400,
      'seconds'),
    preserveOldSeconds: readPositiveInt(env, ['CACHE_PRESERVE_OLD_SECONDS'], 3600, 'seconds'),
    keyPrefix: nonEmpty(env.METRICS_KEY_PREFIX) ?? 'metrics:',
    concurrency: readPositiveInt(env, ['METRICS_CONCURRENCY'], 16, 'brands'),
    maxIdleConnections: readPositiveInt(env, ['METRICS_MAX_IDLE_CONNECTIONS'], 64,
      'connections'),
    queryTimeoutMs: readPositiveInt(env, ['METRICS_QUERY_TIMEOUT_MS'], 30000, 'milliseconds'),
    connectTimeoutMs: readPositiveInt(env, ['METRICS_CONNECT_TIMEOUT_MS'], 10000,
      'milliseconds'),
    maxRows: readPositiveInt(env, ['METRICS_MAX_ROWS'], 10000, 'rows'),
    port: readPort(env),
    host: nonEmpty(env.HOST) ?? '0.0.0.0',
    authToken,
    signingKeys,
    qstashUrl: nonEmpty(env.QSTASH_URL),
    apiReadToken: nonEmpty(env.API_READ_TOKEN),
    logLevel: readLogLevel(env),
    overallSummary: readBoolean(env, 'METRICS_OVERALL_SUMMARY'),
    shutdownTimeoutMs: readPositiveInt(env, ['SHUTDOWN_TIMEOUT_MS'], 10000, 'milliseconds'),
    apiCacheMs: readPositiveInt(env, ['API_CACHE_MS'], 1000, 'milliseconds', true),
    warnings
  }

  hideSecrets(config)
  return config
}

/** The warning `serve` logs when POST /qstash would accept any caller, if it would. */
export function openEndpointWarning (config: Config): string | undefined {
  if (authMode(config) !== 'none') return undefined
  return 'POST /qstash accepts any caller: set QSTASH_CURRENT_SIGNING_KEY and ' +
    'QSTASH_NEXT_SIGNING_KEY (or QSTASH_AUTH_TOKEN) to require authentication'
}

/** How `/qstash` authenticates callers under this configuration. */
export function authMode (config: Config): AuthMode {
  const hasSignature = config.signingKeys.current !== undefined ||
    config.signingKeys.next !== undefined
  const hasBearer = config.authToken !== undefined
  if (hasSignature && hasBearer) return 'bearer+signature'
  if (hasSignature) return 'signature'
  return hasBearer ? 'bearer' : 'none'
}

/** Throws unless a cache store is configured: `serve` and `fetch` need one. */
export function requireCache (config: Config): CacheConfig {
  if (config.cache === undefined) {
    throw new ConfigError('UPSTASH_REDIS_URL', 'No cache store is configured: set ' +
      'UPSTASH_REDIS_URL (or REDIS_URL) to a redis:// or rediss:// URL, or set ' +
      'UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN (CACHE_STORE=memory keeps ' +
      'metrics inside the process, for trials only).')
  }
  return config.cache
}

/** Throws unless BRANDS names at least one brand. */
export function requireBrands (config: Config): void {
  if (config.brands.length === 0) {
    throw new ConfigError('BRANDS', 'BRANDS is empty: set it to comma-separated brand ids, ' +
      'for example BRANDS=acme,globex.')
  }
}

function readBrandIds (env: Env): string[] {
  const ids = (env.BRANDS ?? '').split(',').map((id) => id.trim()).filter((id) => id !== '')
  const seen = new Set<string>()

  for (const id of ids) {
    if (seen.has(id)) {
      throw new ConfigError('BRANDS', `BRANDS names "${id}" twice: each brand id must be unique.`)
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(id)) {
      throw new ConfigError('BRANDS', `BRANDS has the id "${id}": brand ids become Redis keys ` +
        'and URL paths, so use only letters, digits, "_", "-" and ".".')
    }
    seen.add(id)
  }
  return ids
}

/** Per-brand variable names in lookup order: the literal forms first, then `_`-replaced. */
export function brandVariableNames (id: string, suffix: string, withRaw: boolean): string[] {
  const forms = (name: string): string[] => {
    const upper = name.toUpperCase()
    const list = [`${upper}_${suffix}`, `BRAND_${upper}_${suffix}`]
    if (withRaw) list.push(`${name}_${suffix}`)
    return list
  }
  const names = forms(id)
  const replaced = id.replace(/[^A-Za-z0-9_]/g, '_')
  if (replaced !== id) names.push(...forms(replaced))
  return [...new Set(names)]
}

function readBrand (env: Env, id: string): BrandConfig {
  const brand: BrandConfig = { id }
  const urlNames = brandVariableNames(id, 'DATABASE_URL', true)
  const urlVariable = urlNames.find((name) => nonEmpty(env[name]) !== undefined)
  const queryVariable = brandVariableNames(id, 'METRICS_QUERY', false)
    .find((name) => nonEmpty(env[name]) !== undefined)

  if (queryVariable !== undefined) {
    brand.queryVariable = queryVariable
    brand.customQuery = env[queryVariable]?.trim()
  }
  if (urlVariable === undefined) {
    // Suggest a name a shell can export: ACME_EU_DATABASE_URL rather than ACME-EU_...
    const suggested = urlNames.find((name) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) ??
      urlNames[0]
    brand.problem = `Brand "${id}" has no database URL: set ${suggested} ` +
      '(a postgres://, postgresql://, mysql:// or mariadb:// URL).'
    return brand
  }

  brand.urlVariable = urlVariable
  Object.defineProperty(brand, 'databaseUrl', {
    value: env[urlVariable]?.trim(), enumerable: false, writable: true, configurable: true
  })
  brand.problem = checkDatabaseUrl(brand.databaseUrl ?? '', urlVariable)
  if (brand.problem === undefined) delete brand.problem
  return brand
}

function checkDatabaseUrl (url: string, variable: string): string | undefined {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return `${variable} is not a valid URL: expected postgres://user:password@host:5432/db ` +
      'or mysql://user:password@host:3306/db.'
  }
  if (!URL_SCHEMES.includes(parsed.protocol)) {
    return `${variable} has the scheme "${parsed.protocol}": expected postgres://, ` +
      'postgresql://, mysql:// or mariadb://.'
  }
  // No host means "postgres:user:pw@host" (no //); a "#" means a password with an
  // unencoded # or @, which cuts the URL short. Either would connect somewhere else.
  if (parsed.host === '' || parsed.hash !== '') {
    return `${variable} does not parse as user, password, host and database: write it as ` +
      'postgres://user:password@host:5432/db, with "@", "#", "/" and ":" in the password ' +
      'percent-encoded (%40, %23, %2F, %3A).'
  }
  return undefined
}

function readCache (env: Env, warnings: string[]): CacheConfig | undefined {
  const asked = readCacheStore(env, warnings)
  if (asked !== undefined) return asked

  const variable = nonEmpty(env.UPSTASH_REDIS_URL) !== undefined ? 'UPSTASH_REDIS_URL' : 'REDIS_URL'
  const url = nonEmpty(env[variable])
  const restUrl = nonEmpty(env.UPSTASH_REDIS_REST_URL)
  const restToken = nonEmpty(env.UPSTASH_REDIS_REST_TOKEN)

  if (url !== undefined) {
    if (!/^rediss?:\/\//i.test(url) || !URL.canParse(url)) {
      throw new ConfigError(variable, `${variable} must be a redis:// or rediss:// URL, ` +
        'for example redis://default:password@host:6379.')
    }
    if (!hasDatabaseNumber(url)) {
      throw new ConfigError(variable, `${variable} may end in a database number from 0 to 15 ` +
        '(redis://host:6379/2), or nothing for 0; Upstash has only database 0.')
    }
    if (restUrl !== undefined) {
      warnings.push(`${variable} and UPSTASH_REDIS_REST_URL are both set: using ${variable}`)
    }
    return { kind: 'redis', url, variable }
  }
  if (restUrl === undefined && restToken === undefined) return undefined
  if (restUrl === undefined || restToken === undefined) {
    const missing = restUrl === undefined ? 'UPSTASH_REDIS_REST_URL' : 'UPSTASH_REDIS_REST_TOKEN'
    throw new ConfigError(missing, `${missing} is not set: the Upstash REST store needs both ` +
      'UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN.')
  }
  if (!isSafeRestUrl(restUrl)) {
    throw new ConfigError('UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_URL must be an ' +
      'https:// URL (http:// only on this machine, as the token travels with every ' +
      'request), for example https://eu1-example-12345.upstash.io.')
  }
  return { kind: 'upstash-rest', url: restUrl, token: restToken }
}

/** A Redis URL's path: empty, or one of the 16 databases a Redis server has by default. */
function hasDatabaseNumber (url: string): boolean {
  const path = new URL(url).pathname.replace(/^\//, '')
  return path === '' || (/^\d{1,2}$/.test(path) && Number(path) <= 15)
}

/** https anywhere; plain http only to a loopback address, where no one can listen in. */
function isSafeRestUrl (url: string): boolean {
  if (!URL.canParse(url)) return false
  const { protocol, hostname } = new URL(url)
  if (protocol === 'https:') return true
  const loopback = hostname === 'localhost' || hostname === '[::1]' ||
    /^127\.\d+\.\d+\.\d+$/.test(hostname)
  return protocol === 'http:' && loopback
}

/**
 * The in-process store only when CACHE_STORE asks for it by name: a service that lost
 * its Redis settings must refuse to start rather than quietly keep metrics to itself.
 */
function readCacheStore (env: Env, warnings: string[]): CacheConfig | undefined {
  const asked = nonEmpty(env.CACHE_STORE)?.toLowerCase()
  if (asked === undefined) return undefined
  if (asked !== 'memory') {
    throw new ConfigError('CACHE_STORE', 'CACHE_STORE must be "memory" or unset (then ' +
      `UPSTASH_REDIS_URL or UPSTASH_REDIS_REST_URL names the store), got "${env.CACHE_STORE}".`)
  }

  warnings.push('CACHE_STORE=memory keeps metrics inside this process: nothing survives a ' +
    'restart and no other process can read them')
  const ignored = ['UPSTASH_REDIS_URL', 'REDIS_URL', 'UPSTASH_REDIS_REST_URL']
    .filter((name) => nonEmpty(env[name]) !== undefined)
  if (ignored.length > 0) {
    warnings.push(`CACHE_STORE=memory wins over ${ignored.join(', ')}, which is ignored`)
  }
  return { kind: 'memory' }
}

/** A whole number above 0, or from 0 when `zeroAllowed` (where 0 turns a feature off). */
function readPositiveInt (env: Env, names: string[], fallback: number, unit: string,
  zeroAllowed = false): number {
  const name = names.find((n) => nonEmpty(env[n]) !== undefined)
  if (name === undefined) return fallback

  const raw = (env[name] ?? '').trim()
  const value = Number(raw)
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || (value === 0 && !zeroAllowed)) {
    const kind = zeroAllowed ? 'whole number (0 or more)' : 'positive whole number'
    throw new ConfigError(name, `${name} must be a ${kind} of ${unit}, got "${raw}".`)
  }
  if (unit === 'milliseconds' && value > MAX_MS) {
    throw new ConfigError(name, `${name} must be at most ${MAX_MS} milliseconds (24 hours), ` +
      `got "${raw}".`)
  }
  return value
}

function readPort (env: Env): number {
  const raw = nonEmpty(env.PORT)
  const port = raw === undefined ? 8080 : Number(raw)
  if (raw !== undefined && (!/^\d+$/.test(raw) || port < 1 || port > 65535)) {
    throw new ConfigError('PORT', `PORT must be a whole number from 1 to 65535, got "${raw}".`)
  }
  return port
}

function readLogLevel (env: Env): string {
  const level = (nonEmpty(env.LOG_LEVEL) ?? 'info').toLowerCase()
  if (!LOG_LEVELS.includes(level)) {
    throw new ConfigError('LOG_LEVEL', `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, ` +
      `got "${env.LOG_LEVEL}".`)
  }
  return level
}

function readBoolean (env: Env, name: string): boolean {
  const raw = nonEmpty(env[name])?.toLowerCase()
  if (raw === undefined) return false
  if (['true', '1', 'yes', 'on'].includes(raw)) return true
  if (['false', '0', 'no', 'off'].includes(raw)) return false
  throw new ConfigError(name, `${name} must be true or false, got "${raw}".`)
}

/** Keeps tokens and keys out of enumeration, so a logged or serialized Config shows none. */
function hideSecrets (config: Config): void {
  for (const key of ['authToken', 'apiReadToken'] as const) {
    Object.defineProperty(config, key, { enumerable: false })
  }
  Object.defineProperty(config, 'signingKeys', { enumerable: false })
  if (config.cache?.kind === 'upstash-rest') {
    Object.defineProperty(config.cache, 'token', { enumerable: false })
  }
  if (config.cache?.kind === 'redis') {
    Object.defineProperty(config.cache, 'url', { enumerable: false })
  }
}

function nonEmpty (value: string | undefined): string | undefined {
  const trimmed = value?.trim()
  return trimmed === undefined || trimmed === '' ? undefined : trimmed
}
