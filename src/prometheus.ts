import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { BrandResult } from './refresh.js'

/** Every series this service exports starts with it. */
export const METRIC_PREFIX = 'metrics_cache_'

/** Seconds: a brand usually takes tens of milliseconds, a slow one up to the deadlines. */
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

/** The Prometheus series of one app, on a registry of its own. */
export interface AppMetrics {
  registry: Registry
  /** Records one brand's refresh: its duration, and its failure or the time it succeeded. */
  observeBrand: (brand: string, result: BrandResult) => void
  /** Counts one answer of `POST /qstash` by its status code. */
  countWebhookAnswer: (statusCode: number) => void
}

/**
 * Creates the series on a fresh Registry rather than prom-client's global one, so that
 * several apps in one process (tests, the demo) never register a name twice. Brands
 * given up front start at zero, so a brand that never ran still shows up.
 *
 * Limitation: the series count what this process did. Behind several instances a
 * refresh lands on one of them; aggregate across instances (`max by (brand)` of the
 * last-success gauge, `sum by (brand)` of the counters).
 */
export function createAppMetrics (brands: readonly string[] = []): AppMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX })

  const duration = new Histogram({
    name: `${METRIC_PREFIX}refresh_duration_seconds`,
    help: 'Time one brand took to refresh, successful or not.',
    labelNames: ['brand'],
    buckets: DURATION_BUCKETS,
    registers: [registry]
  })
  const failures = new Counter({
    name: `${METRIC_PREFIX}refresh_failures_total`,
    help: 'Failed brand refreshes, by error code (SOURCE_CONNECT_FAILED, ...).',
    labelNames: ['brand', 'code'],
    registers: [registry]
  })
  const lastSuccess = new Gauge({
    name: `${METRIC_PREFIX}last_success_timestamp_seconds`,
    help: 'Unix time of the brand\'s latest successful refresh by this process.',
    labelNames: ['brand'],
    registers: [registry]
  })
  const webhook = new Counter({
    name: `${METRIC_PREFIX}webhook_responses_total`,
    help: 'Answers of POST /qstash, by HTTP status code.',
    labelNames: ['code'],
    registers: [registry]
  })
  for (const brand of brands) duration.zero({ brand })

  return {
    registry,
    observeBrand: (brand, result) => {
      duration.observe({ brand }, result.duration_ms / 1000)
      if (result.ok) lastSuccess.set({ brand }, Date.now() / 1000)
      else failures.inc({ brand, code: result.error_code ?? 'UNKNOWN' })
    },
    countWebhookAnswer: (statusCode) => { webhook.inc({ code: String(statusCode) }) }
  }
}
