import { loadConfig, type Config, type Env } from '../../src/config.js'
import { refreshBrands, type RefreshReport } from '../../src/refresh.js'
import { openRuntime, closeRuntime, type Runtime } from '../../src/runtime.js'
import { databaseUrl, discardingLog, KEY_PREFIX, REDIS_URL } from './services.js'
import { since } from './stats.js'

export interface BrandSet {
  /** Brand i queries `databases[i % databases.length]`. */
  count: number
  databases: readonly string[]
  query: string
  concurrency?: number
}

/** The environment a deployment with these brands would have. */
export function brandEnv (set: BrandSet): Env {
  const ids = Array.from({ length: set.count }, (_, i) => `b${String(i).padStart(3, '0')}`)
  const env: Env = {
    BRANDS: ids.join(','),
    REDIS_URL,
    METRICS_KEY_PREFIX: KEY_PREFIX,
    METRICS_CONCURRENCY: String(set.concurrency ?? 16)
  }
  ids.forEach((id, i) => {
    env[`${id.toUpperCase()}_DATABASE_URL`] =
      databaseUrl(set.databases[i % set.databases.length] as string)
    env[`${id.toUpperCase()}_METRICS_QUERY`] = set.query
  })
  return env
}

export function brandConfig (set: BrandSet): Config {
  return loadConfig(brandEnv(set))
}

/** One long-lived runtime, as `serve` has: passes on it reuse the brands' pools. */
export function openBrands (set: BrandSet): Runtime {
  return openRuntime(brandConfig(set), discardingLog())
}

export interface Pass {
  wall_ms: number
  failed: number
  /** The first failure's message, to name what limited the pass. */
  first_error?: string
}

export async function timePass (runtime: Runtime, id: string): Promise<Pass> {
  const started = performance.now()
  const report: RefreshReport = await refreshBrands(runtime, { trigger: 'cli', runId: id })
  const wall = since(started)
  const failures = Object.values(report.results).filter((result) => !result.ok)
  const pass: Pass = { wall_ms: wall, failed: failures.length }
  if (failures[0]?.error !== undefined) pass.first_error = failures[0].error
  return pass
}

export { closeRuntime }
