import type { BurstResult } from './burst.js'
import type { CostResult } from './cost-per-brand.js'
import type { FootprintResult } from './footprint.js'
import type { ReadsResult } from './reads.js'
import type { ScalingRow } from './refresh-scaling.js'

export interface Results {
  date: string
  machine: { cores: number, cpu: string, memory_gb: number, node: string, platform: string,
    postgres: string, redis: string, max_connections: number,
    /** 1, 5 and 15 minute load averages: other work on the machine skews every timing. */
    load_average_at_start: number[] }
  refresh_ratio_n50: number
  burst_max_queries_per_brand: number
  read_ratio: number
  rss_mb_500: number
  start_ms: number
  targets: Record<string, string>
  /** The cap on the brands' connections (a role's CONNECTION LIMIT), and why that much. */
  connection_budget: { max_connections: number, in_use_before: number, role_limit: number }
  refresh: ScalingRow[]
  cost: CostResult[]
  burst: BurstResult
  reads: ReadsResult
  footprint: FootprintResult
}

export const TARGETS = {
  refresh_ratio_n50: '<= 1.15',
  burst_max_queries_per_brand: '<= 2',
  read_ratio: '>= 0.7',
  rss_mb_500: '< 150',
  start_ms: '< 500'
}

function met (name: keyof typeof TARGETS, value: number): string {
  const [op, limit] = TARGETS[name].split(' ') as [string, string]
  const bound = Number(limit)
  const ok = op === '<=' ? value <= bound : op === '<' ? value < bound : value >= bound
  return ok ? 'yes' : '**no**'
}

/** The figures as Markdown: headline figures with their targets, then each measure. */
export function markdown (r: Results): string {
  const headline = (['refresh_ratio_n50', 'burst_max_queries_per_brand', 'read_ratio',
    'rss_mb_500', 'start_ms'] as const).map((name) =>
    `| \`${name}\` | ${r[name]} | ${TARGETS[name]} | ${met(name, r[name])} |`)
  const m = r.machine
  return [
    `${r.date}, ${m.cores} cores (${m.cpu}), Node ${m.node}, PostgreSQL ${m.postgres}, ` +
      `Redis ${m.redis}, max_connections ${m.max_connections}; brands capped at ` +
      `${r.connection_budget.role_limit} connections in all; load average at start ` +
      `${m.load_average_at_start.join(', ')}.`,
    '',
    '| figure | value | target | met |',
    '| --- | ---: | --- | --- |',
    ...headline,
    '',
    'Refresh scaling (query L = 50 ms; warm = median of later passes; ideal = ' +
      'ceil(N / concurrency) x L):',
    '',
    '| brands | databases | concurrency | ideal ms | cold ms | cold ratio | warm ms | ' +
      'warm ratio | failed |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.refresh.map((row) => `| ${row.brands} | ${row.databases} | ${row.concurrency} | ` +
      `${row.ideal_ms} | ${row.cold_ms} | ${row.cold_ratio} | ${row.warm_ms} ` +
      `(${row.warm_passes}) | ${row.warm_ratio} | ${row.failed} |`),
    '',
    ...details(r)
  ].join('\n')
}

/** One row for each measure other than the refresh scaling. */
function details (r: Results): string[] {
  return [
    '| measure | figures |',
    '| --- | --- |',
    ...r.cost.map((c) => `| cost per brand (${c.brands} brands, instant query, ` +
      `${c.databases} databases) | ${c.cold_ms_per_brand} ms cold, ${c.warm_ms_per_brand} ` +
      `ms warm; connections opened: ${c.connections_cold} cold, ` +
      `${c.connections_warm.join(', ')} warm; ${c.failed} failed |`),
    `| burst (${r.burst.triggers} triggers, ${r.burst.brands} brands) | refreshes per brand ` +
      `${r.burst.queries_per_brand.join(', ')}; answer p50 ${r.burst.p50_ms} ms, ` +
      `p99 ${r.burst.p99_ms} ms; statuses ${JSON.stringify(r.burst.statuses)} |`,
    `| reads (${r.reads.duration_s} s per route in ${r.reads.rounds} rounds, ` +
      `${r.reads.connections} connections, ` +
      `${r.reads.body_bytes} B) | API ${r.reads.api.requests_per_s} req/s, p99 ` +
      `${r.reads.api.p99_ms} ms; API with API_CACHE_MS=0 ` +
      `${r.reads.api_uncached.requests_per_s} req/s (ratio ${r.reads.ratio_uncached}), p99 ` +
      `${r.reads.api_uncached.p99_ms} ms; that over the in-process store ` +
      `${r.reads.api_memory.requests_per_s} req/s, p99 ${r.reads.api_memory.p99_ms} ms; ` +
      `bare ${r.reads.bare.requests_per_s} req/s, p99 ` +
      `${r.reads.bare.p99_ms} ms |`,
    `| footprint (${r.footprint.brands} brands, ${r.footprint.databases} databases) | start ` +
      `${r.footprint.start_ms} ms; RSS ${r.footprint.rss_mb_idle} MB idle, ` +
      `${r.footprint.rss_mb_after_pass} MB after a pass (${r.footprint.pass_ms} ms, ` +
      `${r.footprint.failed} failed) |`,
    ''
  ]
}

/** Failure reasons worth printing under the table: they name what limited a figure. */
export function failureNotes (r: Results): string[] {
  const notes = r.refresh.filter((row) => row.error !== undefined)
    .map((row) => `refresh N=${row.brands} c=${row.concurrency}: ${row.error}`)
  for (const c of r.cost) {
    if (c.error !== undefined) notes.push(`cost N=${c.brands}: ${c.error}`)
  }
  if (r.footprint.error !== undefined) notes.push(`footprint: ${r.footprint.error}`)
  return notes
}
