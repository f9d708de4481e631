import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../app.js'
import type { BrandStatus } from '../refresh.js'
import { readBrandViews, type BrandView } from '../store/read-model.js'
import { statusPageShell } from './status-page-shell.js'

/** How often the page reloads itself, in seconds. */
export const REFRESH_SECONDS = 30
/** Custom rows shown per brand; the rest are counted. */
const PREVIEW_ROWS = 5

export type Freshness = 'fresh' | 'stale' | 'failing' | 'empty'

/**
 * A brand's state at a glance: failing when its last refresh failed, stale when its
 * cached metrics are older than METRICS_TTL_SECONDS, empty when nothing is cached.
 */
export function freshnessOf (view: BrandView, ttlSeconds: number): Freshness {
  if (view.status?.ok === false) return 'failing'
  if (view.age_seconds === null) return 'empty'
  return view.age_seconds > ttlSeconds ? 'stale' : 'fresh'
}

/** `GET /`: every brand's freshness, values and last error, as one HTML page. */
export function statusPageRoutes (app: FastifyInstance, ctx: AppContext): void {
  app.get('/', async (request, reply) => {
    const ids = ctx.config.brands.map((brand) => brand.id)
    const now = Date.now()
    let body: string
    try {
      const views = await readBrandViews(ctx.store, ctx.config.keyPrefix, ids, now)
      body = renderBrands(views, ctx.config.ttlSeconds)
    } catch (error) {
      request.log.error({ err: (error as Error).message }, 'status page could not read store')
      void reply.code(503)
      body = '<p class="problem">The cache store did not answer; this page retries by itself.</p>'
    }

    return await reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
      .send(statusPageShell(body, new Date(now), REFRESH_SECONDS))
  })
}

function renderBrands (views: BrandView[], ttlSeconds: number): string {
  const states = views.map((view) => freshnessOf(view, ttlSeconds))
  const tally = (['fresh', 'stale', 'failing', 'empty'] as const)
    .map((state) => [state, states.filter((s) => s === state).length] as const)
    .filter(([, count]) => count > 0)
    .map(([state, count]) => `<span class="tag ${state}">${count} ${state}</span>`).join(' ')

  const cards = views.map((view, i) => card(view, states[i] ?? 'empty', ttlSeconds)).join('\n')
  return `<p class="summary">${views.length} brands: ${tally}</p>
<p class="note">Fresh means cached at most ${escapeHtml(duration(ttlSeconds))} ago ` +
    `(METRICS_TTL_SECONDS).</p>
<main class="grid">${cards}</main>`
}

function card (view: BrandView, state: Freshness, ttlSeconds: number): string {
  const age = view.age_seconds === null ? 'nothing cached yet'
    : `cached ${escapeHtml(duration(view.age_seconds))} ago` +
      (state === 'stale' ? `, past its TTL of ${escapeHtml(duration(ttlSeconds))}` : '')
  return `<section class="card ${state}" data-brand="${escapeHtml(view.brand)}">
  <h2><span class="name">${escapeHtml(view.brand)}</span>
    <span class="tag ${state}">${state}</span></h2>
  <p class="age">${age}</p>
  ${lastOutcome(view.status)}
  ${values(view.metrics)}
</section>`
}

function lastOutcome (status: BrandStatus | null): string {
  if (status === null) return '<p class="outcome">No refresh recorded.</p>'
  const when = `at ${escapeHtml(status.checked_at)} in ${escapeHtml(String(status.duration_ms))} ms`
  if (status.ok) return `<p class="outcome">Last refresh succeeded ${when}.</p>`

  const code = status.error_code === undefined ? '' : ` (${escapeHtml(status.error_code)})`
  return `<p class="outcome">Last refresh failed ${when}${code}.</p>
  <p class="error">${escapeHtml(status.error ?? 'no reason recorded')}</p>`
}

function values (metrics: unknown): string {
  const m = metrics as { counts?: Record<string, unknown>, custom_rows?: unknown[],
    truncated?: boolean, overall_summary?: unknown } | null
  if (m === null || typeof m !== 'object') return ''
  if (Array.isArray(m.custom_rows)) return customRows(m.custom_rows, m.truncated === true)
  if (m.counts !== undefined && m.counts !== null) {
    const rows = Object.entries(m.counts).map(([table, count]) =>
      `<tr><th>${escapeHtml(table)}</th><td>${cell(count)}</td></tr>`).join('')
    return `<table class="counts">${rows}</table>`
  }
  if (m.overall_summary !== undefined) return customRows([m.overall_summary], false)
  return ''
}

function customRows (rows: unknown[], truncated: boolean): string {
  const shown = rows.slice(0, PREVIEW_ROWS).filter((row) => typeof row === 'object' && row !== null)
  const columns = [...new Set(shown.flatMap((row) => Object.keys(row as object)))]
  const head = columns.map((column) => `<th>${escapeHtml(column)}</th>`).join('')
  const body = shown.map((row) => `<tr>${columns.map((column) =>
    `<td>${cell((row as Record<string, unknown>)[column])}</td>`).join('')}</tr>`).join('')
  const more = rows.length > shown.length
    ? `<p class="more">${rows.length - shown.length} more of ${rows.length} rows` +
      `${truncated ? ' (truncated at METRICS_MAX_ROWS)' : ''}</p>`
    : ''
  return `<p class="rows">${rows.length} custom rows</p>
  <div class="scroll"><table class="custom"><tr>${head}</tr>${body}</table></div>${more}`
}

function cell (value: unknown): string {
  if (value === null || value === undefined) return '<span class="null">null</span>'
  return escapeHtml(typeof value === 'string' ? value : JSON.stringify(value))
}

/** Seconds as a person reads them: "42 s", "5 min", "3 h 5 min", "2 d 3 h". */
export function duration (seconds: number): string {
  if (seconds < 60) return `${seconds} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min`
  const hours = Math.floor(minutes / 60)
  if (hours < 24) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`
  const days = Math.floor(hours / 24)
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`
}

/** Every brand id, error and value is untrusted text. */
export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`)
}
