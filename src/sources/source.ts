import { SourceQueryError } from '../errors.js'
import type { JsonRow } from '../metrics/json-values.js'

export interface QueryRows {
  rows: JsonRow[]
  /** True when the query had more rows than asked for and the rest were dropped. */
  truncated: boolean
}

/** Where a source points, for logs: never the URL, which may hold a password. */
export interface SourceTarget {
  engine: 'postgres' | 'mysql'
  host: string
  database: string
}

/**
 * One brand's database connection (a small pool, reused between refreshes). Every
 * method has a deadline and throws SourceConnectError or SourceQueryError; messages
 * never contain the URL or the password.
 */
export interface Source {
  readonly target: SourceTarget
  /** `COUNT(*)` of a table, as a JSON number, or its exact digits beyond 2^53 - 1. */
  countRows (table: string): Promise<number | string>
  /** Runs SQL in a read-only transaction and maps at most `maxRows` rows to JSON. */
  runReadOnly (sql: string, maxRows: number): Promise<QueryRows>
  /** Whether a table (or view) of that name exists in the default schema. */
  hasTable (table: string): Promise<boolean>
  /** A round trip that proves the database answers. */
  ping (): Promise<void>
  close (): Promise<void>
}

export interface SourceOptions {
  connectTimeoutMs: number
  queryTimeoutMs: number
}

/**
 * Removes every form of the URL and its password from a driver's message: drivers
 * sometimes echo their connection string, and a message travels to logs and responses.
 */
export function redactUrl (message: string, url: string): string {
  const secrets = new Set<string>([url])
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') {
      secrets.add(parsed.password)
      secrets.add(decodeURIComponent(parsed.password))
    }
  } catch {
    // An unparsable URL never reaches a driver; the whole-URL form above still applies.
  }

  let safe = message
  for (const secret of secrets) {
    if (secret.length >= 3) safe = safe.split(secret).join('[redacted]')
  }
  return safe
}

/** Host and database of a URL, for logs and `check`. */
export function describeUrl (url: string, engine: SourceTarget['engine']): SourceTarget {
  const parsed = new URL(url)
  return {
    engine,
    host: parsed.port === '' ? parsed.hostname : `${parsed.hostname}:${parsed.port}`,
    database: decodeURIComponent(parsed.pathname.replace(/^\//, ''))
  }
}

/**
 * A custom query that is no query (COMMIT, SET, an empty statement) has no columns:
 * caching its `[]` would claim that the data is empty.
 */
export function noResultSet (): SourceQueryError {
  return new SourceQueryError('The custom query returned no result set: it must be a ' +
    'statement that returns rows, such as SELECT.', { isRetryable: false })
}

/**
 * How long closing a source may take: closing happens at shutdown or on an interrupt,
 * where a connect to a host that never answers must not hold the process for its whole
 * connect timeout. What is still open then goes with the process.
 */
export function closeDeadlineMs (options: SourceOptions): number {
  return Math.min(options.connectTimeoutMs, 2000)
}

export interface QueryFailure {
  /** The driver's message, already scrubbed of the URL and password. */
  message: string
  /** The SQLSTATE the server sent, if any. */
  sqlstate: string | undefined
  isTimeout: boolean
  queryTimeoutMs: number
  /** SQLSTATEs that mean the SQL itself is wrong, so retrying cannot help. */
  permanent: RegExp
}

/** A five-character SQLSTATE, or undefined for anything else a driver puts there. */
export function sqlstateOf (value: unknown): string | undefined {
  return typeof value === 'string' && /^[0-9A-Z]{5}$/.test(value) ? value : undefined
}

/** The one wording every source gives a failed or timed-out statement. */
export function queryFailed (cause: unknown, failure: QueryFailure): SourceQueryError {
  const { message, sqlstate, isTimeout } = failure
  const text = isTimeout
    ? `The query did not finish within ${failure.queryTimeoutMs} ms ` +
      '(METRICS_QUERY_TIMEOUT_MS).'
    : `The query failed: ${message}` + (sqlstate === undefined ? '' : ` (SQLSTATE ${sqlstate})`)
  return new SourceQueryError(text, {
    cause,
    isTimeout,
    isRetryable: isTimeout || sqlstate === undefined || !failure.permanent.test(sqlstate)
  })
}
