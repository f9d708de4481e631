import pLimit from 'p-limit'
import { authMode, brandVariableNames, type BrandConfig, type Config } from '../config.js'
import { withDeadline } from '../deadline.js'
import { AppError } from '../errors.js'
import { DEFAULT_TABLES } from '../metrics/collect.js'
import { SourceRegistry } from '../sources/index.js'
import type { Source } from '../sources/source.js'
import { openStore } from '../store/index.js'
import { formatCheck } from './check-format.js'

/** One brand's line in `check`: where its URL came from, what it runs, whether it answers. */
export interface BrandCheck {
  brand: string
  ok: boolean
  url_variable?: string
  /** The URL with its password (and secret query parameters) replaced by `***`. */
  url?: string
  engine?: string
  metrics: string
  query_variable?: string
  /** Whether `SELECT 1` answered; absent when it could not be tried. */
  ping_ok?: boolean
  ping_ms?: number
  /** Default tables the database lacks; their counts will be null. */
  missing_tables?: string[]
  error?: string
  /** What to change so that the brand works. */
  fix?: string
}

export interface CacheCheck {
  ok: boolean
  kind?: string
  variable?: string
  url?: string
  ping_ms?: number
  error?: string
  fix?: string
}

export interface CheckReport {
  ok: boolean
  brands: BrandCheck[]
  cache: CacheCheck
  auth: { qstash: string, read_api: string }
  warnings: string[]
}

const SECRET_PARAM = /pass|secret|token|key/i

/**
 * Checks a configuration the way `serve` would use it: each brand's URL, engine and
 * metrics, a live `SELECT 1` on each, then the cache store. Nothing is written.
 * Every failure carries a `fix` naming the variable to change.
 */
export async function checkConfig (config: Config): Promise<CheckReport> {
  const sources = new SourceRegistry({
    connectTimeoutMs: config.connectTimeoutMs,
    queryTimeoutMs: config.queryTimeoutMs
  })
  try {
    const limit = pLimit(config.concurrency)
    const [brands, cache] = await Promise.all([
      Promise.all(config.brands.map(async (brand) =>
        await limit(async () => await checkBrand(config, brand, sources)))),
      checkCache(config)
    ])
    return {
      ok: brands.length > 0 && brands.every((brand) => brand.ok) && cache.ok,
      brands,
      cache,
      auth: {
        qstash: authMode(config),
        read_api: config.apiReadToken === undefined ? 'none' : 'bearer'
      },
      warnings: config.warnings
    }
  } finally {
    await sources.closeAll()
  }
}

async function checkBrand (config: Config, brand: BrandConfig, sources: SourceRegistry):
Promise<BrandCheck> {
  const check = describeBrand(config, brand)
  if (brand.urlVariable === undefined) {
    // Only names a shell can export: ACME_EU_DATABASE_URL, never ACME-EU_DATABASE_URL.
    const names = brandVariableNames(brand.id, 'DATABASE_URL', true)
      .filter((name) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    const others = names.length > 1 ? ` (or ${names.slice(1).join(', ')})` : ''
    return { ...check, ok: false, error: 'no database URL',
      fix: `set ${names[0]}${others} to the brand's database URL, for example ` +
        'postgres://user:password@host:5432/db' }
  }
  if (brand.problem !== undefined) {
    return { ...check, ok: false, error: brand.problem, fix: `correct ${brand.urlVariable}` }
  }

  const started = Date.now()
  try {
    const source = sources.get(brand)
    check.engine = source.target.engine
    check.ping_ok = false
    await withDeadline(source.ping(), config.connectTimeoutMs + config.queryTimeoutMs,
      'SELECT 1')
    check.ping_ms = Date.now() - started
    check.ping_ok = true
    if (brand.customQuery === undefined && !config.overallSummary) {
      return await checkTables(check, source, brand.urlVariable)
    }
    return { ...check, ok: true }
  } catch (error) {
    return { ...check, ok: false, error: messageOf(error),
      fix: fixFor(error, brand.urlVariable) }
  }
}

function describeBrand (config: Config, brand: BrandConfig): BrandCheck {
  const check: BrandCheck = { brand: brand.id, ok: false, metrics: 'default counts' }
  if (brand.urlVariable !== undefined) {
    check.url_variable = brand.urlVariable
    check.url = maskUrl(brand.databaseUrl ?? '')
    check.engine = engineOf(brand.databaseUrl ?? '')
  }
  if (brand.queryVariable !== undefined) {
    check.metrics = 'custom query'
    check.query_variable = brand.queryVariable
  } else if (config.overallSummary) {
    check.metrics = 'overall_summary, else default counts'
  }
  return check
}

/** Counts need at least one default table: a database with none is the wrong one. */
async function checkTables (check: BrandCheck, source: Source, variable: string):
Promise<BrandCheck> {
  const found = await Promise.all(DEFAULT_TABLES.map(async (table) =>
    await source.hasTable(table)))
  const missing = DEFAULT_TABLES.filter((_table, i) => found[i] !== true)
  if (missing.length === 0) return { ...check, ok: true }
  if (missing.length < DEFAULT_TABLES.length) {
    return { ...check, ok: true, missing_tables: missing }
  }
  return { ...check, ok: false, missing_tables: missing,
    error: `none of the tables ${DEFAULT_TABLES.join(', ')} exists`,
    fix: `point ${variable} at the brand's shop database, or set ` +
      `${variable.replace(/DATABASE_URL$/, 'METRICS_QUERY')} to a query of your own` }
}

async function checkCache (config: Config): Promise<CacheCheck> {
  const cache = config.cache
  if (cache === undefined) {
    return { ok: false, error: 'no cache store is configured',
      fix: 'set UPSTASH_REDIS_URL (or REDIS_URL) to a redis:// or rediss:// URL' }
  }

  const check: CacheCheck = { ok: false, kind: cache.kind }
  if (cache.kind === 'redis') {
    Object.assign(check, { variable: cache.variable, url: maskUrl(cache.url) })
  }
  if (cache.kind === 'upstash-rest') {
    Object.assign(check, { variable: 'UPSTASH_REDIS_REST_URL', url: maskUrl(cache.url) })
  }
  const started = Date.now()
  try {
    const store = openStore(cache)
    try {
      await store.ping()
    } finally {
      await store.close()
    }
    return { ...check, ok: true, ping_ms: Date.now() - started }
  } catch (error) {
    return { ...check, ok: false, error: messageOf(error),
      fix: `check the host, port and password in ${check.variable ?? 'the cache URL'}, ` +
        'that the store accepts connections from here, and rediss:// if it requires TLS' }
  }
}

/** What to change for a brand whose database did not answer, by the error's code. */
function fixFor (error: unknown, variable: string): string {
  const code = error instanceof AppError ? error.code : undefined
  switch (code) {
    case 'SOURCE_CONNECT_FAILED':
      return `check the host, port, user, password and database name in ${variable}, ` +
        'and that the database accepts connections from this machine'
    case 'SOURCE_QUERY_TIMEOUT':
      return 'the database did not answer in time: check the network to it, or raise ' +
        'METRICS_CONNECT_TIMEOUT_MS and METRICS_QUERY_TIMEOUT_MS'
    case 'BRAND_CONFIG_INVALID':
      return `correct ${variable}: a postgres://, postgresql://, mysql:// or mariadb:// ` +
        'URL whose TLS settings name an existing mode and readable files'
    default:
      if (error instanceof Error && error.name === 'DeadlineError') {
        return 'the database did not answer in time: check the network to it, or raise ' +
          'METRICS_CONNECT_TIMEOUT_MS'
      }
      return `check that the user in ${variable} may connect and run SELECT 1`
  }
}

/**
 * A URL fit to print: the password and the values of query parameters that look secret
 * become `***`. An unparsable URL is never printed, since it may hold a password.
 */
export function maskUrl (url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return '(not a valid URL)'
  }
  // Without a host the "user:password@" part is in the path, and a "#" may hold the rest
  // of an unencoded password: neither can be shown safely.
  if (parsed.host === '' || parsed.hash !== '') return '(not a valid URL)'
  if (parsed.password !== '') parsed.password = '***'
  for (const name of [...new Set(parsed.searchParams.keys())]) {
    if (SECRET_PARAM.test(name)) parsed.searchParams.set(name, '***')
  }
  return parsed.toString()
}

function engineOf (url: string): string {
  const scheme = URL.canParse(url) ? new URL(url).protocol : ''
  if (scheme === 'postgres:' || scheme === 'postgresql:') return 'postgres'
  if (scheme === 'mysql:' || scheme === 'mariadb:') return 'mysql'
  return 'unknown'
}

function messageOf (error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/**
 * `metrics-cache check`: prints the report and returns the exit code: 0 when every
 * brand and the cache store answer, 1 when one does not, 2 when `serve` would refuse
 * to start (no cache store configured, BRANDS empty).
 */
export async function runCheck (config: Config, asJson: boolean): Promise<number> {
  const report = await checkConfig(config)
  process.stdout.write(asJson ? `${JSON.stringify(report, null, 2)}\n` : formatCheck(report))
  if (config.cache === undefined || config.brands.length === 0) return 2
  return report.ok ? 0 : 1
}
