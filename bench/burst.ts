import type { AddressInfo } from 'node:net'
import { buildApp } from '../src/app.js'
import { refreshBrands } from '../src/refresh.js'
import { closeRuntime, openBrands } from './lib/brands.js'
import { adminUrl, openBackends, query, ROLE } from './lib/services.js'
import { percentile, round, since } from './lib/stats.js'

/** Every refresh of a brand scans this table once; PostgreSQL counts the scans. */
const PROBE = 'bench_probe'
const PROBE_QUERY = `SELECT (SELECT count(*) FROM ${PROBE}) AS n FROM pg_sleep(0.05)`

export interface BurstResult {
  triggers: number
  brands: number
  /** Refreshes each brand ran for the burst, from its database's scan counter. */
  queries_per_brand: number[]
  max_queries_per_brand: number
  /** Refreshes counted for a calibration of known size, proving the counter. */
  calibration: { passes: number, counted: number[] }
  p50_ms: number
  p99_ms: number
  statuses: Record<string, number>
}

export async function prepareProbe (database: string): Promise<void> {
  await query(adminUrl(database), `CREATE TABLE ${PROBE} (id int)`)
  await query(adminUrl(database), `GRANT SELECT ON ${PROBE} TO ${ROLE}`)
}

/**
 * Fires `triggers` POST /qstash at once at a listening server over `databases` (one
 * brand each), then counts from each database how many refreshes actually queried it.
 */
export async function measureBurst (databases: readonly string[], triggers: number):
Promise<BurstResult> {
  const calibration = await calibrate(databases, 3)

  const before = await scans(databases)
  const runtime = openBrands({ count: databases.length, databases, query: PROBE_QUERY })
  const app = await buildApp(runtime)
  let timings: number[]
  let statuses: Record<string, number>
  try {
    await app.listen({ host: '127.0.0.1', port: 0 })
    const { port } = app.server.address() as AddressInfo
    ;({ timings, statuses } = await fire(`http://127.0.0.1:${port}/qstash`, triggers))
  } finally {
    await app.close()
  }
  const counts = difference(await scans(databases), before)

  process.stderr.write(`  burst: refreshes per brand ${counts.join('/')}, ` +
    `p50 ${round(percentile(timings, 50))} ms\n`)
  return {
    triggers,
    brands: databases.length,
    queries_per_brand: counts,
    max_queries_per_brand: Math.max(...counts),
    calibration,
    p50_ms: round(percentile(timings, 50)),
    p99_ms: round(percentile(timings, 99)),
    statuses
  }
}

/** Runs a known number of passes and counts them the same way, or the figure means nothing. */
async function calibrate (databases: readonly string[], passes: number):
Promise<BurstResult['calibration']> {
  const before = await scans(databases)
  const runtime = openBrands({ count: databases.length, databases, query: PROBE_QUERY })
  try {
    for (let i = 0; i < passes; i++) {
      await refreshBrands(runtime, { trigger: 'cli', runId: `calibrate-${i}` })
    }
  } finally {
    await closeRuntime(runtime)
  }
  const counted = difference(await scans(databases), before)
  if (counted.some((n) => n !== passes)) {
    throw new Error(`The scan counter saw ${counted.join('/')} refreshes for ${passes} passes.`)
  }
  return { passes, counted }
}

async function fire (url: string, triggers: number):
Promise<{ timings: number[], statuses: Record<string, number> }> {
  const statuses: Record<string, number> = {}
  const timings = await Promise.all(Array.from({ length: triggers }, async () => {
    const started = performance.now()
    const response = await fetch(url, { method: 'POST', body: '',
      signal: AbortSignal.timeout(60_000) })
    await response.arrayBuffer()
    statuses[response.status] = (statuses[response.status] ?? 0) + 1
    return since(started)
  }))
  return { timings, statuses }
}

/**
 * Each database's scan count of the probe table. A backend flushes its counts to the
 * shared statistics when it exits (pg_stat_force_next_flush() acts only on the caller's
 * own backend), so this waits until the service's connections are gone before reading.
 */
async function scans (databases: readonly string[]): Promise<number[]> {
  const deadline = Date.now() + 15_000
  while (await openBackends(databases) > 0) {
    if (Date.now() > deadline) throw new Error('metrics-cache connections did not close')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return await Promise.all(databases.map(async (database) => {
    const result = await query(adminUrl(database), 'SELECT coalesce(seq_scan, 0)::int AS n ' +
      'FROM pg_stat_user_tables WHERE relname = $1', [PROBE])
    return (result.rows[0] as { n: number } | undefined)?.n ?? 0
  }))
}

function difference (after: number[], before: number[]): number[] {
  return after.map((n, i) => n - (before[i] ?? 0))
}
