import type { BrandCheck, CacheCheck, CheckReport } from './check.js'

const INDENT = '          '

/** The `check` report for a person: one block per brand, then the store and the auth. */
export function formatCheck (report: CheckReport): string {
  const lines = ['Brands']
  if (report.brands.length === 0) {
    lines.push('  FAILED  BRANDS is empty', `${INDENT}fix: set BRANDS to comma-separated ` +
      'brand ids, for example BRANDS=acme,globex')
  }
  const width = Math.max(0, ...report.brands.map((brand) => brand.brand.length))
  for (const brand of report.brands) lines.push(...brandLines(brand, width))

  lines.push('', 'Cache store', ...cacheLines(report.cache), '', 'Auth',
    `  POST /qstash       ${qstashAuth(report.auth.qstash)}`,
    `  GET /api/metrics   ${report.auth.read_api === 'bearer'
      ? 'bearer token (API_READ_TOKEN)'
      : 'open to anyone who can reach it (set API_READ_TOKEN to require a token)'}`)
  if (report.warnings.length > 0) {
    lines.push('', 'Warnings', ...report.warnings.map((warning) => `  ${warning}`))
  }

  const ready = report.brands.filter((brand) => brand.ok).length
  const verdict = report.ok ? 'all good' : 'fix the lines marked FAILED'
  lines.push('', `${ready} of ${report.brands.length} brands ready, cache store ` +
    `${report.cache.ok ? 'ready' : 'NOT ready'}: ${verdict}`, '')
  return lines.join('\n')
}

function brandLines (brand: BrandCheck, width: number): string[] {
  const head = `  ${brand.ok ? 'ok    ' : 'FAILED'}  ${brand.brand.padEnd(width)}`
  const source = brand.url_variable === undefined ? '' : `  ${brand.url_variable} -> ${brand.url}`
  const lines = [`${head}${source}`.trimEnd()]

  const query = brand.query_variable === undefined ? brand.metrics
    : `${brand.metrics} (${brand.query_variable})`
  const ping = brand.ping_ok === undefined ? 'SELECT 1 not run'
    : brand.ping_ok ? `SELECT 1 in ${brand.ping_ms ?? '?'} ms` : 'SELECT 1 FAILED'
  lines.push(`${INDENT}${brand.engine ?? 'no engine'}, ${query}, ${ping}`)
  if (brand.ok && brand.missing_tables !== undefined) {
    lines.push(`${INDENT}note: no table ${brand.missing_tables.join(', ')}: its count ` +
      'will be null')
  }
  if (brand.error !== undefined) lines.push(`${INDENT}error: ${brand.error}`)
  if (brand.fix !== undefined) lines.push(`${INDENT}fix: ${brand.fix}`)
  return lines
}

function cacheLines (cache: CacheCheck): string[] {
  const where = cache.variable === undefined ? '' : `  ${cache.variable} -> ${cache.url}`
  const lines = [`  ${cache.ok ? 'ok    ' : 'FAILED'}  ${cache.kind ?? 'none'}${where}`]
  if (cache.ping_ms !== undefined) lines.push(`${INDENT}PING in ${cache.ping_ms} ms`)
  if (cache.error !== undefined) lines.push(`${INDENT}error: ${cache.error}`)
  if (cache.fix !== undefined) lines.push(`${INDENT}fix: ${cache.fix}`)
  return lines
}

function qstashAuth (mode: string): string {
  switch (mode) {
    case 'signature':
      return 'Upstash-Signature (QSTASH_CURRENT_SIGNING_KEY, QSTASH_NEXT_SIGNING_KEY)'
    case 'bearer': return 'bearer token (QSTASH_AUTH_TOKEN)'
    case 'bearer+signature': return 'bearer token and Upstash-Signature'
    default: return 'open to anyone (set QSTASH_CURRENT_SIGNING_KEY and ' +
      'QSTASH_NEXT_SIGNING_KEY, or QSTASH_AUTH_TOKEN)'
  }
}
