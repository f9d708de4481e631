import type { BrandResult } from '../refresh.js'
import type { BrandView } from '../store/read-model.js'
import { formatTable } from '../text-table.js'

/** What one brand's cached metrics hold, in a few words for a terminal. */
export function describeCached (view: BrandView | undefined): string {
  const metrics = view?.metrics as {
    counts?: Record<string, unknown>, custom_rows?: unknown[]
  } | null | undefined
  if (metrics === null || metrics === undefined) return '-'
  if (metrics.custom_rows !== undefined) return `${metrics.custom_rows.length} custom rows`
  if (metrics.counts !== undefined) {
    return Object.entries(metrics.counts).map(([table, count]) => `${String(count)} ${table}`)
      .join(', ')
  }
  return 'summary row'
}

/** The per-brand table the demo prints after its first refresh. */
export function demoTable (results: Record<string, BrandResult>, views: BrandView[]): string {
  const rows = Object.entries(results).map(([brand, result]) => [
    brand,
    result.ok ? 'cached' : 'FAILED',
    `${result.duration_ms} ms`,
    result.ok ? describeCached(views.find((view) => view.brand === brand)) : result.error ?? ''
  ])
  const failed = rows.filter((row) => row[1] === 'FAILED').length
  return [...formatTable(['brand', 'outcome', 'time', 'cached'], rows),
    `${rows.length - failed} cached, ${failed} failed`, ''].join('\n')
}
