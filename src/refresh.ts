import pLimit from 'p-limit'
import type { Logger } from 'pino'
import type { BrandConfig, Config } from './config.js'
import { BrandScheduler } from './brand-scheduler.js'
import { AppError, isRetryable, StoreError } from './errors.js'
import { withDeadline } from './deadline.js'
import { collectMetrics, type Metrics } from './metrics/collect.js'
import type { SourceRegistry } from './sources/index.js'
import { brandKeys } from './store/keys.js'
import type { CacheStore } from './store/store.js'

export type Trigger = 'qstash' | 'cli' | 'cron' | 'demo'

/** The record at `metrics:<brand>:status`, written after every refresh of the brand. */
export interface BrandStatus {
  brand: string
  ok: boolean
  checked_at: string
  last_success_at: string | null
  duration_ms: number
  error?: string
  error_code?: string
}

/** One brand's outcome in a refresh, as the CLI and the webhook report it. */
export interface BrandResult {
  ok: boolean
  duration_ms: number
  error?: string
  error_code?: string
  /** Whether a later try may succeed without an operator's help. */
  retryable?: boolean
}

export interface RefreshReport {
  ok: boolean
  /** True when the cache store failed, so that nothing could be recorded. */
  storeFailed: boolean
  results: Record<string, BrandResult>
  duration_ms: number
}

/** What a refresh needs, built once per process and shared by every trigger. */
export interface RefreshContext {
  config: Config
  store: CacheStore
  sources: SourceRegistry
  log: Logger
  /** Called with every brand's result, for Prometheus and the like. */
  onBrandResult?: (brand: string, result: BrandResult) => void
}

export interface RefreshRequest {
  /** Brands to refresh, all configured ones when absent; ids must be known. */
  brands?: readonly BrandConfig[]
  trigger: Trigger
  runId: string
}

/**
 * Runs one refresh pass: every brand (or those asked for) at most `concurrency` at once.
 * A brand's failure is recorded in its status and result and never stops the others.
 * Each brand goes through the context's BrandScheduler: a brand already being
 * refreshed in this process is covered by one shared later refresh, and a brand
 * another instance is refreshing is waited for (see its lock).
 */
export async function refreshBrands (ctx: RefreshContext, request: RefreshRequest):
Promise<RefreshReport> {
  const started = Date.now()
  const brands = request.brands ?? ctx.config.brands
  const log = ctx.log.child({ runId: request.runId, trigger: request.trigger })
  log.info({ brands: brands.length }, 'refresh started')

  const limit = pLimit(ctx.config.concurrency)
  const scheduler = schedulerOf(ctx)
  const outcomes = await Promise.all(brands.map(async (brand) =>
    await limit(async () => await scheduler.refresh(brand, log))))

  const results: Record<string, BrandResult> = {}
  brands.forEach((brand, i) => { results[brand.id] = outcomes[i] as BrandResult })
  const report: RefreshReport = {
    ok: outcomes.every((result) => result.ok),
    storeFailed: outcomes.some((result) => result.error_code === 'STORE_UNAVAILABLE'),
    results,
    duration_ms: Date.now() - started
  }
  log.info({ ok: report.ok, failed: outcomes.filter((r) => !r.ok).length,
    duration_ms: report.duration_ms }, 'refresh finished')
  return report
}

/**
 * Refreshes one brand: read its source under a deadline, then write metrics, `:old` and
 * status in one transaction. On failure only the status is written, so the last good
 * metrics stay readable.
 */
export async function refreshBrand (ctx: RefreshContext, brand: BrandConfig, parentLog: Logger):
Promise<BrandResult> {
  const log = parentLog.child({ brand: brand.id })
  const started = Date.now()
  const { config, store } = ctx
  const keys = brandKeys(config.keyPrefix, brand.id)
  let result: BrandResult

  try {
    const metrics = await readBrand(ctx, brand)
    const durationMs = Date.now() - started
    const status = statusOf(brand.id, true, durationMs, metrics.timestamp)
    await store.writeMetrics({
      keys,
      metrics: JSON.stringify(metrics),
      status: JSON.stringify(status),
      ttlSeconds: config.ttlSeconds,
      preserveOldSeconds: config.preserveOldSeconds
    })
    result = { ok: true, duration_ms: Date.now() - started }
    reportBrand(ctx, brand.id, result, log, sizeOf(metrics))
  } catch (error) {
    result = failureOf(error, Date.now() - started)
    await recordFailure(store, keys.status, brand.id, result, log)
    reportBrand(ctx, brand.id, result, log)
  }
  return result
}

/**
 * Logs a brand's result (`brand cached` or `brand failed`) and hands it to
 * onBrandResult. Every result goes through here once: from refreshBrand, or from the
 * scheduler when it could not run one (store down, lock busy).
 */
function reportBrand (ctx: RefreshContext, brand: string, result: BrandResult, log: Logger,
  detail: Record<string, number> = {}): void {
  if (result.ok) {
    log.info({ ok: true, duration_ms: result.duration_ms, ...detail }, 'brand cached')
  } else {
    log.warn({ ok: false, duration_ms: result.duration_ms, code: result.error_code,
      err: result.error }, 'brand failed')
  }
  ctx.onBrandResult?.(brand, result)
}

async function readBrand (ctx: RefreshContext, brand: BrandConfig): Promise<Metrics> {
  const { config } = ctx
  // The source's own deadlines cover each step; this one bounds the whole brand,
  // whatever a driver does.
  return await ctx.sources.use(brand, async (source) =>
    await withDeadline(collectMetrics(brand.id, source, {
      customQuery: brand.customQuery,
      maxRows: config.maxRows,
      overallSummary: config.overallSummary
    }), brandDeadlineMs(config), `Refreshing brand "${brand.id}"`))
}

/** The longest a brand's read may take, whatever its driver does. */
export function brandDeadlineMs (config: Config): number {
  return config.connectTimeoutMs + 2 * config.queryTimeoutMs + 5000
}

/**
 * Time on top of the read deadline that a brand's lock lives: enough for the store
 * writes that follow the read (each has its own 5 s deadline).
 */
const LOCK_MARGIN_MS = 15_000

const schedulers = new WeakMap<RefreshContext, BrandScheduler>()

/**
 * The scheduler every refresh through `ctx` goes through, created on first use: one
 * per context, so the webhook and a pass started in the same process coalesce, and
 * all of them take the brands' cross-instance locks.
 */
export function schedulerOf (ctx: RefreshContext): BrandScheduler {
  let scheduler = schedulers.get(ctx)
  if (scheduler === undefined) {
    scheduler = new BrandScheduler(async (brand, log) => await refreshBrand(ctx, brand, log), {
      store: ctx.store,
      keyPrefix: ctx.config.keyPrefix,
      lockTtlMs: brandDeadlineMs(ctx.config) + LOCK_MARGIN_MS,
      report: (brand, result, log) => {
        reportBrand(ctx, brand.id, result, log.child({ brand: brand.id }))
      }
    })
    schedulers.set(ctx, scheduler)
  }
  return scheduler
}

/**
 * Writes a failure status, keeping the time of the last success from the previous one.
 * A store that is down cannot take it: the result already says so.
 */
async function recordFailure (store: CacheStore, key: string, brand: string,
  result: BrandResult, log: Logger): Promise<void> {
  if (result.error_code === 'STORE_UNAVAILABLE') return
  try {
    const [previous] = await store.getMany([key])
    const status = statusOf(brand, false, result.duration_ms, lastSuccess(previous), result)
    await store.writeStatus(key, JSON.stringify(status))
  } catch (error) {
    result.error_code = 'STORE_UNAVAILABLE'
    result.retryable = true
    log.error({ err: error instanceof Error ? error.message : String(error) },
      'status not recorded')
  }
}

function statusOf (brand: string, ok: boolean, durationMs: number, lastSuccessAt: string | null,
  failure?: BrandResult): BrandStatus {
  const status: BrandStatus = {
    brand,
    ok,
    checked_at: new Date().toISOString(),
    last_success_at: lastSuccessAt,
    duration_ms: durationMs
  }
  if (failure?.error !== undefined) status.error = failure.error
  if (failure?.error_code !== undefined) status.error_code = failure.error_code
  return status
}

function lastSuccess (previous: string | null | undefined): string | null {
  if (previous === null || previous === undefined) return null
  try {
    const parsed = JSON.parse(previous) as Partial<BrandStatus>
    return typeof parsed.last_success_at === 'string' ? parsed.last_success_at : null
  } catch {
    return null
  }
}

function failureOf (error: unknown, durationMs: number): BrandResult {
  const code = error instanceof AppError ? error.code
    : error instanceof Error && error.name === 'DeadlineError' ? 'SOURCE_QUERY_TIMEOUT'
      : 'REFRESH_FAILED'
  return {
    ok: false,
    duration_ms: durationMs,
    error: error instanceof Error ? error.message : String(error),
    error_code: error instanceof StoreError ? 'STORE_UNAVAILABLE' : code,
    retryable: isRetryable(error)
  }
}

/** What a brand line logs of its metrics: sizes, never the values themselves. */
function sizeOf (metrics: Metrics): Record<string, number> {
  if (metrics.custom_rows !== undefined) return { rows: metrics.custom_rows.length }
  if (metrics.counts !== undefined) return { tables: Object.keys(metrics.counts).length }
  return { rows: 1 }
}
