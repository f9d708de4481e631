import { SourceConnectError, SourceQueryError } from '../errors.js'
import type { Source } from '../sources/source.js'
import type { JsonRow } from './json-values.js'

/** The tables counted for a brand that has no custom query. */
export const DEFAULT_TABLES = ['products', 'orders', 'customers'] as const

/** The JSON cached at `metrics:<brand>`, in the shape the earlier service wrote. */
export interface Metrics {
  brand: string
  timestamp: string
  counts?: Record<string, number | string | null>
  count_errors?: Record<string, string>
  custom_rows?: JsonRow[]
  truncated?: boolean
  overall_summary?: JsonRow
}

export interface CollectOptions {
  customQuery?: string
  maxRows: number
  overallSummary: boolean
}

/** Reads one brand's metrics from its source: summary row, custom rows or counts. */
export async function collectMetrics (brand: string, source: Source, options: CollectOptions):
Promise<Metrics> {
  if (options.overallSummary) {
    const summary = await readOverallSummary(source)
    if (summary !== undefined) return stamp(brand, { overall_summary: summary })
  }

  if (options.customQuery !== undefined) {
    const { rows, truncated } = await source.runReadOnly(options.customQuery, options.maxRows)
    return stamp(brand, truncated ? { custom_rows: rows, truncated } : { custom_rows: rows })
  }
  return stamp(brand, await countTables(source))
}

/**
 * Counts each default table on its own, so that a missing table gives `null` and its
 * reason while the others still count. A lost connection or a timeout fails the brand,
 * and so do three failed tables: a cache of three nulls would hide a wrong database.
 */
export async function countTables (source: Source): Promise<Pick<Metrics, 'counts' |
'count_errors'>> {
  const outcomes = await Promise.allSettled(DEFAULT_TABLES.map((t) => source.countRows(t)))
  const counts: Record<string, number | string | null> = {}
  const errors: Record<string, string> = {}

  outcomes.forEach((outcome, i) => {
    const table = DEFAULT_TABLES[i] as string
    if (outcome.status === 'fulfilled') {
      counts[table] = outcome.value
      return
    }
    if (isBrandWide(outcome.reason)) throw outcome.reason
    counts[table] = null
    errors[table] = outcome.reason instanceof Error ? outcome.reason.message : 'count failed'
  })

  if (Object.keys(errors).length === DEFAULT_TABLES.length) {
    throw new SourceQueryError('None of the tables products, orders, customers could be ' +
      `counted: ${errors.products}`, { isRetryable: false })
  }
  return Object.keys(errors).length === 0 ? { counts } : { counts, count_errors: errors }
}

async function readOverallSummary (source: Source): Promise<JsonRow | undefined> {
  if (!(await source.hasTable('overall_summary'))) return undefined
  const { rows } = await source.runReadOnly(
    'SELECT * FROM overall_summary ORDER BY date DESC LIMIT 1', 1)
  return rows[0]
}

function isBrandWide (error: unknown): boolean {
  return error instanceof SourceConnectError ||
    (error instanceof SourceQueryError && (error.isTimeout || error.isRetryable))
}

function stamp (brand: string, body: Omit<Metrics, 'brand' | 'timestamp'>): Metrics {
  return { brand, timestamp: new Date().toISOString(), ...body }
}
