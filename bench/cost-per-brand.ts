import { closeRuntime, openBrands, timePass } from './lib/brands.js'
import { sessions } from './lib/services.js'
import { median, round } from './lib/stats.js'

export interface CostResult {
  brands: number
  databases: number
  passes: number
  cold_ms_per_brand: number
  warm_ms_per_brand: number
  /** Sessions PostgreSQL opened on the brands' databases during the pass, per pass. */
  connections_cold: number
  connections_warm: number[]
  failed: number
  error?: string
}

/** Time for the pass's backends to publish their session counts (see `sessions`). */
const SETTLE_MS = 300

/**
 * Brands whose query is instant, so that a pass is nothing but our overhead: wall time
 * per brand, and connections opened per pass as PostgreSQL counts them. Pooled
 * connections make warm passes open none, while all brands' pools are kept.
 */
export async function measureCost (brands: number, databases: readonly string[],
  warmPasses: number): Promise<CostResult> {
  const runtime = openBrands({ count: brands, databases, query: 'SELECT 1 AS value' })
  const used = databases.slice(0, brands)
  try {
    const passes = []
    const connections = []
    for (let i = 0; i <= warmPasses; i++) {
      const before = await sessions(used)
      passes.push(await timePass(runtime, `cost-${i}`))
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
      connections.push(await sessions(used) - before)
    }
    const [cold, ...warm] = passes
    const result: CostResult = {
      brands,
      databases: used.length,
      passes: passes.length,
      cold_ms_per_brand: round((cold?.wall_ms ?? Number.NaN) / brands, 3),
      warm_ms_per_brand: round(median(warm.map((pass) => pass.wall_ms)) / brands, 3),
      connections_cold: connections[0] ?? 0,
      connections_warm: connections.slice(1),
      failed: passes.reduce((sum, pass) => sum + pass.failed, 0)
    }
    const error = passes.find((pass) => pass.first_error !== undefined)?.first_error
    if (error !== undefined) result.error = error
    process.stderr.write(`  cost: ${result.warm_ms_per_brand} ms per brand warm, ` +
      `connections ${result.connections_cold} cold, ${result.connections_warm.join('/')} warm\n`)
    return result
  } finally {
    await closeRuntime(runtime)
  }
}
