import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { adminQuery, createPgDatabase, PG_ADMIN_URL, type TestDatabase } from './helper.js'

/**
 * A brand query that reads the `probe` table exactly once and then holds its
 * connection busy for `ms`, so concurrent refreshes would overlap visibly.
 */
export function slowProbeQuery (ms: number): string {
  return `SELECT (SELECT count(*) FROM probe) AS n, (SELECT 'slept' FROM pg_sleep(${ms / 1000})) AS slept`
}

/** A throwaway database with a `probe` table, which only brand queries read. */
export async function createProbeDatabase (label: string): Promise<TestDatabase> {
  const db = await createPgDatabase(label)
  await db.query('CREATE TABLE probe (id int); INSERT INTO probe VALUES (1), (2), (3)')
  return db
}

/**
 * How many times PostgreSQL itself says `probe` was scanned: the number of brand
 * queries this database really ran. A backend flushes its statistics when it exits, so
 * this first waits (up to 10 s) until every metrics-cache session on it is gone; the
 * caller closes the pools before asking.
 */
export async function probeScans (db: TestDatabase): Promise<number> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const { rows } = await adminQuery('SELECT count(*)::int AS n FROM pg_stat_activity ' +
      `WHERE datname = '${db.name}' AND application_name = 'metrics-cache'`)
    if ((rows[0] as { n: number }).n === 0) break
    if (Date.now() > deadline) throw new Error(`sessions on ${db.name} did not end in 10 s`)
    await sleep(50)
  }

  const client = new pg.Client({ connectionString: db.url })
  await client.connect()
  try {
    const { rows } = await client.query(
      "SELECT seq_scan::int AS n FROM pg_stat_user_tables WHERE relname = 'probe'")
    return (rows[0] as { n: number }).n
  } finally {
    await client.end()
  }
}

/**
 * Samples pg_stat_activity every `everyMs` until stopped: for each database, the most
 * brand queries seen running in it at the same moment, and how many samples saw one.
 */
export function watchActiveQueries (databases: readonly string[], everyMs = 20): {
  stop: () => Promise<Map<string, { max: number, seen: number }>>
} {
  const stats = new Map(databases.map((name) => [name, { max: 0, seen: 0 }]))
  const client = new pg.Client({ connectionString: PG_ADMIN_URL })
  let running = true
  const loop = (async () => {
    await client.connect()
    while (running) {
      const { rows } = await client.query('SELECT datname, count(*)::int AS n ' +
        "FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep%' " +
        'AND pid <> pg_backend_pid() AND datname = ANY($1) GROUP BY datname', [databases])
      for (const row of rows as Array<{ datname: string, n: number }>) {
        const entry = stats.get(row.datname)
        if (entry === undefined) continue
        entry.max = Math.max(entry.max, row.n)
        entry.seen += 1
      }
      await sleep(everyMs)
    }
  })()

  return {
    stop: async () => {
      running = false
      try {
        await loop
      } finally {
        await client.end()
      }
      return stats
    }
  }
}
