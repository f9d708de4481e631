import pg from 'pg'
import Cursor from 'pg-cursor'
import { SourceConnectError, SourceQueryError } from '../errors.js'
import { DeadlineError, withDeadline } from '../deadline.js'
import { integerFromText, uniqueColumnNames, type JsonRow, type JsonValue } from
  '../metrics/json-values.js'
import { pgJsonTypes } from '../metrics/pg-values.js'
import { closeDeadlineMs, describeUrl, noResultSet, queryFailed, redactUrl, sqlstateOf,
  type QueryRows, type Source, type SourceOptions, type SourceTarget } from './source.js'
import { postgresConnection } from './tls.js'

/** Connections a brand may hold at once: its three default counts run side by side. */
const POOL_SIZE = 3
/** Idle connections close after this, so a daily refresh does not pin database slots. */
const IDLE_MS = 30_000
/** SQLSTATE classes that mean the SQL is wrong, so retrying cannot help. */
const PERMANENT_SQLSTATE = /^(42|22|25|0A|2B|44)/

/** A PostgreSQL brand database through node-postgres, as a small reusable pool. */
export class PostgresSource implements Source {
  readonly target: SourceTarget
  readonly #pool: pg.Pool
  readonly #url: string
  readonly #options: SourceOptions
  /** Connections checked out right now, so that close() can cancel their queries. */
  readonly #active = new Set<pg.PoolClient>()

  constructor (url: string, options: SourceOptions) {
    this.target = describeUrl(url, 'postgres')
    this.#url = url
    this.#options = options
    this.#pool = new pg.Pool({
      ...postgresConnection(url),
      max: POOL_SIZE,
      idleTimeoutMillis: IDLE_MS,
      allowExitOnIdle: true,
      connectionTimeoutMillis: options.connectTimeoutMs,
      statement_timeout: options.queryTimeoutMs,
      idle_in_transaction_session_timeout: options.queryTimeoutMs + 5000,
      application_name: 'metrics-cache',
      types: pgJsonTypes
    })
    // An idle connection the server drops must not crash the process; the pool
    // discards it and the next checkout connects anew.
    this.#pool.on('error', () => {})
  }

  async countRows (table: string): Promise<number | string> {
    const sql = `SELECT COUNT(*)::text AS count FROM ${quoteIdent(table)}`
    const rows = await this.#withClient(async (client) => {
      const result = await client.query<{ count: string }>({ text: sql, types: textTypes })
      return result.rows
    })
    return integerFromText(rows[0]?.count ?? '0')
  }

  async hasTable (table: string): Promise<boolean> {
    return await this.#withClient(async (client) => {
      const result = await client.query<{ found: boolean }>(
        'SELECT to_regclass($1) IS NOT NULL AS found', [quoteIdent(table)])
      return result.rows[0]?.found === true
    })
  }

  async runReadOnly (sql: string, maxRows: number): Promise<QueryRows> {
    return await this.#withClient(async (client) => {
      // A failure anywhere destroys the connection (see #withClient), which also ends
      // the transaction; only the success path needs to close it.
      await client.query('BEGIN READ ONLY')
      const rows = await readRows(client, sql, maxRows)
      await client.query('ROLLBACK')
      return rows
    })
  }

  async ping (): Promise<void> {
    await this.#withClient(async (client) => { await client.query('SELECT 1') })
  }

  /**
   * Cancels the queries still running (a shutdown that could not wait for them), then
   * closes every connection. Without the cancel, the server would go on running an
   * abandoned query, holding its session, until statement_timeout.
   */
  async close (): Promise<void> {
    if (this.#active.size > 0) await this.#cancelActive()
    await withDeadline(this.#pool.end(), closeDeadlineMs(this.#options), 'closing the pool')
      .catch(() => {})
  }

  /** Best effort, under the connect deadline: statement_timeout still ends what it misses. */
  async #cancelActive (): Promise<void> {
    const pids = [...this.#active].map((client) => (client as { processID?: unknown }).processID)
      .filter((pid): pid is number => typeof pid === 'number')
    const canceller = new pg.Client({
      connectionString: this.#url,
      connectionTimeoutMillis: this.#options.connectTimeoutMs,
      statement_timeout: this.#options.connectTimeoutMs,
      application_name: 'metrics-cache'
    })
    canceller.on('error', () => {})
    const deadline = closeDeadlineMs(this.#options)
    try {
      await withDeadline((async () => {
        await canceller.connect()
        await canceller.query('SELECT pg_cancel_backend(pid) FROM unnest($1::int[]) AS pid',
          [pids])
      })(), deadline, 'cancelling queries')
    } catch {
      // The queries end at statement_timeout anyway; closing must not wait on this.
    } finally {
      await withDeadline(canceller.end(), deadline, 'closing the canceller').catch(() => {})
    }
  }

  /**
   * Checks a connection out for `work` under one deadline, and destroys it rather than
   * returning it to the pool when anything went wrong, so no half-done session lingers.
   */
  async #withClient<T> (work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient
    try {
      client = await this.#pool.connect()
    } catch (error) {
      throw new SourceConnectError(`Cannot connect to PostgreSQL at ${this.target.host}: ` +
        this.#safeMessage(error), { cause: error })
    }

    // The pool listens for errors only on idle connections. A checked-out one whose
    // server goes away (a terminated backend, a reset) emits 'error' as well as failing
    // its query, and with no listener that event would crash the process.
    const ignore = (): void => {}
    client.on('error', ignore)
    this.#active.add(client)
    const deadline = this.#options.queryTimeoutMs + 2000
    try {
      const result = await withDeadline(work(client), deadline, 'the query',
        () => { client.release(true) })
      client.removeListener('error', ignore)
      client.release()
      return result
    } catch (error) {
      if (!(error instanceof DeadlineError)) client.release(true)
      throw this.#queryError(error)
    } finally {
      this.#active.delete(client)
    }
  }

  #queryError (error: unknown): SourceQueryError {
    if (error instanceof SourceQueryError) return error
    const message = this.#safeMessage(error)
    const sqlstate = sqlstateOf((error as { code?: unknown }).code)
    return queryFailed(error, {
      message,
      sqlstate,
      // 57014 is any cancelled statement: only statement_timeout's is a timeout, a
      // cancel at shutdown is not.
      isTimeout: error instanceof DeadlineError ||
        (sqlstate === '57014' && /statement timeout/i.test(message)),
      queryTimeoutMs: this.#options.queryTimeoutMs,
      permanent: PERMANENT_SQLSTATE
    })
  }

  #safeMessage (error: unknown): string {
    const message = error instanceof Error ? error.message : String(error)
    return redactUrl(message || 'unknown error', this.#url)
  }
}

/**
 * Reads at most `maxRows` + 1 rows through a cursor, so a huge result is never loaded.
 * The cursor is closed only after a good read: after an error the connection may be gone
 * (a terminated backend), a close would wait for an answer that never comes, and
 * #withClient destroys that connection anyway.
 */
async function readRows (client: pg.PoolClient, sql: string, maxRows: number):
Promise<QueryRows> {
  const cursor = client.query(new Cursor(sql, [], { rowMode: 'array', types: pgJsonTypes }))
  const { rows, fields } = await new Promise<{ rows: JsonValue[][], fields: pg.FieldDef[] }>(
    (resolve, reject) => {
      cursor.read(maxRows + 1, (error, rows, result) => {
        if (error !== undefined && error !== null) reject(error)
        else resolve({ rows: rows as JsonValue[][], fields: result?.fields ?? [] })
      })
    })
  await cursor.close()
  if (fields.length === 0) throw noResultSet()

  const names = uniqueColumnNames(fields.map((field) => field.name))
  return {
    rows: rows.slice(0, maxRows).map((values) => toRow(names, values)),
    truncated: rows.length > maxRows
  }
}

function toRow (names: string[], values: JsonValue[]): JsonRow {
  const row: JsonRow = {}
  names.forEach((name, i) => { row[name] = values[i] ?? null })
  return row
}

/** Quotes a table name, with an optional schema, as a PostgreSQL identifier. */
function quoteIdent (name: string): string {
  return name.split('.').map((part) => `"${part.replace(/"/g, '""')}"`).join('.')
}

/** Counts are cast to text in SQL and parsed by us; keep pg from parsing anything. */
const textTypes = { getTypeParser: () => (text: string) => text }
