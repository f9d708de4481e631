/**
 * `npm run bench`: measures metrics-cache against the machine's PostgreSQL and Redis,
 * prints a Markdown table and writes the same figures to bench/results/latest.json.
 * It builds dist/ first (the footprint measure starts the built CLI), and drops every
 * database and Redis key it made, whatever happens.
 */
import { spawnSync } from 'node:child_process'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { cpus, loadavg, totalmem } from 'node:os'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { measureBurst, prepareProbe } from './burst.js'
import { measureCost } from './cost-per-brand.js'
import { measureFootprint } from './footprint.js'
import { measureReads } from './reads.js'
import { measureScaling } from './refresh-scaling.js'
import { failureNotes, markdown, TARGETS, type Results } from './report.js'
import { createDatabase, createRole, deleteKeys, dropDatabases, freeConnections,
  PG_ADMIN_URL, query, REDIS_URL } from './lib/services.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))
/** Databases that many brands share, for the runs with more brands than databases. */
const SHARED_DATABASES = 8
/** Connections left free on the server for everyone else while the bench runs. */
const HEADROOM = 30

async function main (): Promise<void> {
  build()
  const started = Date.now()
  const machine = await describeMachine()
  const budget = await connectionBudget()
  log(`brands connect as a role limited to ${budget.role_limit} connections`)
  await createRole(budget.role_limit)

  const measures = await measureAll()
  const n50 = measures.refresh.find((row) => row.brands === 50 && row.concurrency === 16)
  const results: Results = {
    date: new Date().toISOString(),
    machine,
    refresh_ratio_n50: n50?.warm_ratio ?? Number.NaN,
    burst_max_queries_per_brand: measures.burst.max_queries_per_brand,
    read_ratio: measures.reads.ratio,
    rss_mb_500: measures.footprint.rss_mb_after_pass,
    start_ms: measures.footprint.start_ms,
    targets: TARGETS,
    connection_budget: budget,
    ...measures
  }
  await save(results)
  process.stdout.write(`${markdown(results)}\n`)
  for (const note of failureNotes(results)) process.stdout.write(`- ${note}\n`)
  log(`done in ${Math.round((Date.now() - started) / 1000)} s`)
}

type Measures = Pick<Results, 'refresh' | 'cost' | 'burst' | 'reads' | 'footprint'>

/** Every measure, in an order that keeps each one's connections apart from the next. */
async function measureAll (): Promise<Measures> {
  log('creating databases')
  const own = await createMany('own', 50)
  const shared = await createMany('shared', SHARED_DATABASES)
  const probes = await createMany('burst', 4)
  for (const database of probes) await prepareProbe(database)

  log('refresh scaling')
  const refresh = await measureScaling([
    { brands: 4, concurrency: 16, databases: own, warmPasses: 10 },
    { brands: 50, concurrency: 16, databases: own, warmPasses: 10 },
    { brands: 200, concurrency: 16, databases: shared, warmPasses: 5 },
    { brands: 4, concurrency: 1, databases: own, warmPasses: 5 },
    { brands: 50, concurrency: 1, databases: own, warmPasses: 3 },
    { brands: 200, concurrency: 1, databases: shared, warmPasses: 3 }
  ])
  log('cost per brand')
  const cost = [await measureCost(50, own, 5), await measureCost(200, shared, 5)]
  log('burst')
  const burst = await measureBurst(probes, 100)
  log('reads')
  const reads = await measureReads(own[0] as string, 10)
  log('footprint')
  const footprint = await measureFootprint(500, shared)
  return { refresh, cost, burst, reads, footprint }
}

/** Compiles src/ to dist/ with the project's own TypeScript, as `npm run build` does. */
function build (): void {
  log('building dist/')
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'],
    { cwd: ROOT, stdio: 'inherit' })
  if (result.status !== 0) throw new Error('The build failed; see above.')
}

/**
 * How many connections the brands may hold in all: what the server has free now, less
 * room for other clients, at most 60, and at least enough for the 50-brand runs.
 */
async function connectionBudget (): Promise<Results['connection_budget']> {
  const { max, used } = await freeConnections()
  const limit = Math.max(52, Math.min(60, max - used - HEADROOM))
  return { max_connections: max, in_use_before: used, role_limit: limit }
}

async function createMany (label: string, count: number): Promise<string[]> {
  const names: string[] = []
  for (let i = 0; i < count; i++) names.push(await createDatabase(`${label}${i}`))
  return names
}

async function describeMachine (): Promise<Results['machine']> {
  const pgInfo = await query(PG_ADMIN_URL, `SELECT current_setting('server_version') AS v,
    current_setting('max_connections')::int AS max`)
  const row = pgInfo.rows[0] as { v: string, max: number }
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
  const info = await redis.info('server').finally(() => { redis.disconnect() })
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    memory_gb: Math.round(totalmem() / 1024 ** 3),
    node: process.versions.node,
    platform: `${process.platform} ${process.arch}`,
    postgres: row.v,
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    max_connections: row.max,
    load_average_at_start: loadavg().map((load) => Math.round(load * 100) / 100)
  }
}

/** Writes a temporary file and renames it, so a crash never leaves half a results file. */
async function save (results: Results): Promise<void> {
  await mkdir(RESULTS, { recursive: true })
  const path = `${RESULTS}latest.json`
  await writeFile(`${path}.tmp`, `${JSON.stringify(results, null, 2)}\n`)
  await rename(`${path}.tmp`, path)
  log(`wrote ${path}`)
}

async function cleanUp (): Promise<void> {
  await dropDatabases().catch((error: unknown) => { log(`could not drop databases: ${error}`) })
  const keys = await deleteKeys().catch((error: unknown) => {
    log(`could not delete Redis keys: ${error}`)
    return 0
  })
  log(`cleaned up (${keys} Redis keys)`)
}

function log (line: string): void {
  process.stderr.write(`bench: ${line}\n`)
}

process.once('SIGINT', () => { void cleanUp().then(() => process.exit(130)) })
try {
  await main()
} finally {
  await cleanUp()
}
