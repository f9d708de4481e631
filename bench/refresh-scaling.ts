import { closeRuntime, openBrands, timePass, type Pass } from './lib/brands.js'
import { median, round } from './lib/stats.js'

/** The fixed time of every brand's query, in milliseconds. */
export const QUERY_MS = 50
const SLOW_QUERY = `SELECT 42 AS value FROM pg_sleep(${QUERY_MS / 1000})`

export interface ScalingRow {
  brands: number
  concurrency: number
  databases: number
  ideal_ms: number
  cold_ms: number
  warm_ms: number
  cold_ratio: number
  warm_ratio: number
  warm_passes: number
  /** Brand refreshes that failed over all passes, and the first reason. */
  failed: number
  error?: string
}

export interface ScalingCase {
  brands: number
  concurrency: number
  databases: readonly string[]
  warmPasses: number
}

/**
 * Times a cold pass (pools empty, every brand connects) and then warm passes on the same
 * runtime, against the floor `ceil(N / concurrency) x L`: a pass cannot beat its
 * slowest batch of brand queries, so the ratio is our overhead.
 */
export async function measureScaling (cases: readonly ScalingCase[]): Promise<ScalingRow[]> {
  const rows: ScalingRow[] = []
  for (const c of cases) {
    const runtime = openBrands({ count: c.brands, databases: c.databases, query: SLOW_QUERY,
      concurrency: c.concurrency })
    try {
      const cold = await timePass(runtime, `scaling-cold-${c.brands}-${c.concurrency}`)
      const warm: Pass[] = []
      for (let i = 0; i < c.warmPasses; i++) {
        warm.push(await timePass(runtime, `scaling-warm-${c.brands}-${c.concurrency}-${i}`))
      }
      rows.push(rowOf(c, cold, warm))
      process.stderr.write(`  refresh N=${c.brands} c=${c.concurrency}: ` +
        `cold ${round(cold.wall_ms)} ms, warm ${round(median(warm.map((p) => p.wall_ms)))} ms\n`)
    } finally {
      await closeRuntime(runtime)
    }
  }
  return rows
}

function rowOf (c: ScalingCase, cold: Pass, warm: Pass[]): ScalingRow {
  const ideal = Math.ceil(c.brands / c.concurrency) * QUERY_MS
  const warmMs = median(warm.map((pass) => pass.wall_ms))
  const passes = [cold, ...warm]
  const row: ScalingRow = {
    brands: c.brands,
    concurrency: c.concurrency,
    databases: Math.min(c.brands, c.databases.length),
    ideal_ms: ideal,
    cold_ms: round(cold.wall_ms),
    warm_ms: round(warmMs),
    cold_ratio: round(cold.wall_ms / ideal, 2),
    warm_ratio: round(warmMs / ideal, 2),
    warm_passes: warm.length,
    failed: passes.reduce((sum, pass) => sum + pass.failed, 0)
  }
  const error = passes.find((pass) => pass.first_error !== undefined)?.first_error
  if (error !== undefined) row.error = error
  return row
}
