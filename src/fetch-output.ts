import type { BrandResult, RefreshReport } from './refresh.js'
import { formatTable } from './text-table.js'

/** What `fetch --json` (or `fetch` on a pipe) prints. */
export function reportJson (report: RefreshReport): string {
  return `${JSON.stringify({
    status: report.ok ? 'ok' : 'error',
    duration_ms: report.duration_ms,
    results: report.results
  }, null, 2)}\n`
}

/**
 * A line per brand the moment it is done, so that a person at a terminal sees a slow
 * brand as the one still missing rather than a silent pass.
 */
export function progressReporter (total: number, write: (text: string) => void):
(brand: string, result: BrandResult) => void {
  let done = 0
  const width = String(total).length
  return (brand, result) => {
    done++
    const outcome = result.ok ? 'cached' : `FAILED (${result.error_code ?? 'error'})`
    write(`[${String(done).padStart(width)}/${total}] ${brand} ${outcome} in ` +
      `${result.duration_ms} ms\n`)
  }
}

/** The closing table for a person at a terminal: every brand, its outcome and error. */
export function reportTable (report: RefreshReport): string {
  const rows = Object.entries(report.results).map(([brand, result]) =>
    [brand, result.ok ? 'cached' : 'FAILED', `${result.duration_ms} ms`, result.error ?? ''])
  const failed = rows.filter((row) => row[1] === 'FAILED').length
  return [...formatTable(['brand', 'outcome', 'time', 'error'], rows),
    `${rows.length - failed} cached, ${failed} failed in ${report.duration_ms} ms`, ''].join('\n')
}
