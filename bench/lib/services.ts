import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { Redis } from 'ioredis'
import pg from 'pg'
import { pino, type Logger } from 'pino'
import { loggerOptions } from '../../src/logger.js'

/** The machine's services; each can be pointed elsewhere, as for the tests. */
export const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? process.env.TEST_PG_URL ??
  'postgres://postgres@127.0.0.1:5432/test'
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ??
  'redis://127.0.0.1:6379'

/**
 * A name no other run uses, for databases, the role and the Redis key prefix; a child
 * process of the bench inherits its parent's, so that cleaning up covers it too.
 */
export const RUN_ID = process.env.BENCH_RUN_ID ?? randomBytes(3).toString('hex')
export const KEY_PREFIX = `mcbench:${RUN_ID}:`

/** Runs one statement on its own short-lived connection to `url`. */
export async function query (url: string, sql: string, values: unknown[] = []):
Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 })
  await client.connect()
  try {
    return await client.query(sql, values)
  } finally {
    await client.end()
  }
}

/** The login role brands connect as: not a superuser, so its CONNECTION LIMIT holds. */
export const ROLE = `mcbench_${RUN_ID}`

/** A brand's URL: the database, as the bench role. */
export function databaseUrl (name: string): string {
  const url = new URL(PG_ADMIN_URL)
  url.username = ROLE
  url.password = ''
  url.pathname = `/${name}`
  return url.toString()
}

/** The same database as the administrator, for setting up and reading statistics. */
export function adminUrl (name: string): string {
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${name}`
  return url.toString()
}

/**
 * Creates the role brands connect as, capped at `limit` connections in all. The bench
 * shares its server with others: a run that took all of max_connections would make
 * their connections fail, so the role's cap stands in for the server's limit.
 * (A database's CONNECTION LIMIT would not do: it does not apply to superusers.)
 */
export async function createRole (limit: number): Promise<void> {
  await query(PG_ADMIN_URL, `CREATE ROLE ${ROLE} LOGIN CONNECTION LIMIT ${limit}`)
}

/** The databases this run created, so that every exit path drops them. */
const created = new Set<string>()

export async function createDatabase (label: string): Promise<string> {
  const name = `mcbench_${RUN_ID}_${label}`
  await query(PG_ADMIN_URL, `CREATE DATABASE ${name}`)
  created.add(name)
  return name
}

/** Drops this run's databases, then its role (which owns nothing in them). */
export async function dropDatabases (): Promise<void> {
  for (const name of created) {
    await query(PG_ADMIN_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    created.delete(name)
  }
  await query(PG_ADMIN_URL, `DROP ROLE IF EXISTS ${ROLE}`)
}

/** Deletes every key of this run's prefix, by SCAN so that a large keyspace never blocks. */
export async function deleteKeys (): Promise<number> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 5000 })
  let deleted = 0
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${KEY_PREFIX}*`, 'COUNT', 1000)
      if (keys.length > 0) deleted += await redis.del(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
  return deleted
}

/**
 * A logger at the service's default level whose lines are serialized and then dropped:
 * the bench pays for logging as production does, without printing it.
 */
export function discardingLog (): Logger {
  const sink = new Writable({ write (_chunk, _encoding, done) { done() } })
  return pino(loggerOptions('info'), sink)
}

/**
 * Sessions PostgreSQL has opened on `databases` since it started (pg_stat_database,
 * PostgreSQL 14 and later). A backend publishes its session count when it first goes
 * idle or when it exits, so a reading taken once the pass's backends are idle or gone
 * counts every connection the pass opened, including those it closed again.
 */
export async function sessions (databases: readonly string[]): Promise<number> {
  const result = await query(PG_ADMIN_URL, `SELECT coalesce(sum(sessions), 0)::int AS n
    FROM pg_stat_database WHERE datname = ANY($1)`, [databases])
  return (result.rows[0] as { n: number }).n
}

/** Open backends of metrics-cache on `databases`. */
export async function openBackends (databases: readonly string[]): Promise<number> {
  const result = await query(PG_ADMIN_URL, `SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE application_name = 'metrics-cache' AND datname = ANY($1)`, [databases])
  return (result.rows[0] as { n: number }).n
}

/** Connections the server still has free for everyone, ours included. */
export async function freeConnections (): Promise<{ max: number, used: number }> {
  const result = await query(PG_ADMIN_URL, `SELECT current_setting('max_connections')::int AS max,
    (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS used`)
  return result.rows[0] as { max: number, used: number }
}
