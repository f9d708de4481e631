import mysql from 'mysql2'
import type { Connection, FieldPacket, Pool, PoolConnection, PoolOptions } from 'mysql2'
import { SourceConnectError, SourceQueryError } from '../errors.js'
import { DeadlineError, withDeadline } from '../deadline.js'
import { integerFromText, uniqueColumnNames, type JsonRow } from '../metrics/json-values.js'
import { MYSQL_DRIVER_TYPES, mysqlJsonValue } from '../metrics/mysql-values.js'
import { closeDeadlineMs, describeUrl, noResultSet, queryFailed, redactUrl, sqlstateOf,
  type QueryRows, type Source, type SourceOptions, type SourceTarget } from './source.js'
import { mysqlSsl } from './tls.js'

/** Connections a brand may hold at once: its three default counts run side by side. */
const POOL_SIZE = 3
/** Idle connections close after this, so a daily refresh does not pin database slots. */
const IDLE_MS = 30_000
/** SQLSTATE classes that mean the SQL is wrong, so retrying cannot help. */
const PERMANENT_SQLSTATE = /^(42|22|25|0A|2B|44|21)/
/** MariaDB's max_statement_time, MySQL's max_execution_time, and a killed query. */
const TIMEOUT_ERRNOS = new Set([1969, 3024, 1317])

/** mysql2 pool settings for a `mysql://` or `mariadb://` URL, TLS included. */
export function mysqlPoolOptions (url: string, options: SourceOptions): PoolOptions {
  const parsed = new URL(url)
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''))
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? 3306 : Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    ...(database === '' ? {} : { database }),
    ssl: mysqlSsl(url),
    connectTimeout: options.connectTimeoutMs,
    connectionLimit: POOL_SIZE,
    maxIdle: POOL_SIZE,
    idleTimeout: IDLE_MS,
    enableKeepAlive: true,
    multipleStatements: false,
    resetOnRelease: false,
    charset: 'utf8mb4',
    ...MYSQL_DRIVER_TYPES
  }
}

/**
 * A MySQL or MariaDB brand database through mysql2, as a small reusable pool. Each new
 * connection is made read-only for its whole session (a plain read-only transaction does
 * not stop DDL, which commits it implicitly), gets the UTC time zone (so TIMESTAMP reads
 * as UTC) and a server-side statement deadline.
 */
export class MysqlSource implements Source {
  readonly target: SourceTarget
  readonly #pool: Pool
  readonly #url: string
  readonly #options: SourceOptions
  readonly #prepared = new WeakSet<PoolConnection>()
  readonly #active = new Set<PoolConnection>()

  constructor (url: string, options: SourceOptions) {
    this.target = describeUrl(url, 'mysql')
    this.#url = url
    this.#options = options
    this.#pool = mysql.createPool(mysqlPoolOptions(url, options))
  }

  async countRows (table: string): Promise<number | string> {
    const rows = await this.#withConnection(async (conn) =>
      await query<{ count: string }>(conn, `SELECT COUNT(*) AS count FROM ${quoteIdent(table)}`))
    return integerFromText(String(rows[0]?.count ?? '0'))
  }

  async hasTable (table: string): Promise<boolean> {
    const [schema, name] = table.includes('.') ? table.split('.', 2) : [null, table]
    const rows = await this.#withConnection(async (conn) => await query<{ found: string }>(conn,
      'SELECT COUNT(*) AS found FROM information_schema.tables ' +
      'WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ?', [schema, name]))
    return Number(rows[0]?.found ?? 0) > 0
  }

  async runReadOnly (sql: string, maxRows: number): Promise<QueryRows> {
    return await this.#withConnection(async (conn, discard) => {
      await query(conn, 'START TRANSACTION READ ONLY')
      const result = await readRows(conn, sql, maxRows, discard)
      if (!result.truncated) await query(conn, 'ROLLBACK')
      return result
    })
  }

  async ping (): Promise<void> {
    await this.#withConnection(async (conn) => { await query(conn, 'SELECT 1') })
  }

  async close (): Promise<void> {
    if (this.#active.size > 0) await this.#killActive()
    const ended = new Promise<void>((resolve) => { this.#pool.end(() => { resolve() }) })
    await withDeadline(ended, closeDeadlineMs(this.#options), 'closing the pool')
      .catch(() => {})
  }

  /**
   * Stops the statements still running, best effort under the connect deadline: a
   * closed pool does not stop them, and the server would run them to their end.
   */
  async #killActive (): Promise<void> {
    const ids = [...this.#active].map((conn) => conn.threadId)
    const killer = mysql.createConnection(mysqlPoolOptions(this.#url, this.#options))
    killer.on('error', () => {})
    const kill = async (): Promise<void> => {
      for (const id of ids) await query(killer, `KILL QUERY ${id}`)
    }
    await withDeadline(kill(), closeDeadlineMs(this.#options), 'stopping running queries')
      .catch(() => {})
    killer.destroy()
    for (const conn of this.#active) conn.destroy()
  }

  /**
   * Runs `work` on a pooled connection under one deadline. On any failure, and whenever
   * `work` calls `discard` (a result left unread), the connection is destroyed rather than
   * returned, so no half-done session or transaction lingers; the pool connects anew.
   */
  async #withConnection<T> (work: (conn: PoolConnection, discard: () => void) => Promise<T>):
  Promise<T> {
    const conn = await this.#connect()
    this.#active.add(conn)
    let destroyed = false
    const discard = (): void => {
      destroyed = true
      conn.destroy()
    }

    try {
      const result = await withDeadline(work(conn, discard), this.#options.queryTimeoutMs + 2000,
        'the query', discard)
      if (!destroyed) conn.release()
      return result
    } catch (error) {
      if (!destroyed) discard()
      throw this.#queryError(error)
    } finally {
      this.#active.delete(conn)
    }
  }

  async #connect (): Promise<PoolConnection> {
    let abandoned = false
    const pending = new Promise<PoolConnection>((resolve, reject) => {
      this.#pool.getConnection((error, conn) => {
        if (error !== null) reject(error)
        else if (abandoned) conn.release()
        else resolve(conn)
      })
    })

    let conn: PoolConnection | undefined
    try {
      conn = await withDeadline(pending, this.#options.connectTimeoutMs + 1000, 'connecting',
        () => { abandoned = true })
      if (!this.#prepared.has(conn)) await this.#prepare(conn)
      return conn
    } catch (error) {
      conn?.destroy()
      throw new SourceConnectError(`Cannot connect to MySQL at ${this.target.host}: ` +
        this.#safeMessage(error), { cause: error })
    }
  }

  /** Sets up a new session once: UTC, read-only, and the server-side statement deadline. */
  async #prepare (conn: PoolConnection): Promise<void> {
    // A connection the server drops while idle must not crash the process.
    conn.on('error', () => {})
    const setUp = async (): Promise<void> => {
      const [row] = await query<{ version: string }>(conn, 'SELECT VERSION() AS version')
      const ms = this.#options.queryTimeoutMs
      const deadline = /mariadb/i.test(row?.version ?? '')
        ? `max_statement_time = ${(ms / 1000).toFixed(3)}`
        : `max_execution_time = ${ms}`
      await query(conn, `SET SESSION time_zone = '+00:00', SESSION ${deadline}`)
      await query(conn, 'SET SESSION TRANSACTION READ ONLY')
    }
    await withDeadline(setUp(), this.#options.connectTimeoutMs, 'setting up the session',
      () => { conn.destroy() })
    this.#prepared.add(conn)
  }

  #queryError (error: unknown): SourceQueryError | SourceConnectError {
    if (error instanceof SourceConnectError || error instanceof SourceQueryError) return error
    const { errno, sqlState } = error as { errno?: unknown, sqlState?: unknown }
    return queryFailed(error, {
      message: this.#safeMessage(error),
      sqlstate: sqlstateOf(sqlState),
      isTimeout: error instanceof DeadlineError ||
        (typeof errno === 'number' && TIMEOUT_ERRNOS.has(errno)),
      queryTimeoutMs: this.#options.queryTimeoutMs,
      permanent: PERMANENT_SQLSTATE
    })
  }

  #safeMessage (error: unknown): string {
    const message = error instanceof Error ? error.message : String(error)
    return redactUrl(message || 'unknown error', this.#url)
  }
}

async function query<T> (conn: Connection, sql: string, values: unknown[] = []):
Promise<T[]> {
  return await new Promise((resolve, reject) => {
    conn.query(sql, values, (error, rows) => {
      if (error !== null) reject(error)
      else resolve(rows as T[])
    })
  })
}

/**
 * Streams the result and keeps at most `maxRows` rows: on the next one it stops reading
 * and calls `discard`, which drops the connection, so a huge result is never loaded.
 */
async function readRows (conn: PoolConnection, sql: string, maxRows: number,
  discard: () => void): Promise<QueryRows> {
  return await new Promise((resolve, reject) => {
    const rows: unknown[][] = []
    let fields: FieldPacket[] = []
    let settled = false
    const finish = (truncated: boolean): void => {
      settled = true
      resolve({ rows: toRows(fields, rows), truncated })
    }

    const running = conn.query({ sql, rowsAsArray: true })
    running.on('fields', (received: FieldPacket[] | undefined) => { fields = received ?? [] })
    running.on('result', (row: unknown) => {
      if (settled || !Array.isArray(row)) return // an OK packet: a statement without rows
      if (rows.length < maxRows) {
        rows.push(row)
        return
      }
      finish(true)
      discard()
    })
    running.on('error', (error: Error) => {
      if (settled) return
      settled = true
      reject(error)
    })
    running.on('end', () => {
      if (settled) return
      if (fields.length === 0) {
        settled = true
        reject(noResultSet())
        return
      }
      finish(false)
    })
  })
}

function toRows (fields: readonly FieldPacket[], rows: unknown[][]): JsonRow[] {
  const names = uniqueColumnNames(fields.map((field) => field.name))
  return rows.map((values) => {
    const row: JsonRow = {}
    names.forEach((name, i) => {
      row[name] = mysqlJsonValue(fields[i] as FieldPacket, values[i])
    })
    return row
  })
}

/** Quotes a table name, with an optional schema, as a MySQL identifier. */
function quoteIdent (name: string): string {
  return name.split('.').map((part) => `\`${part.replace(/`/g, '``')}\``).join('.')
}
