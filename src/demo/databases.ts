import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { withDeadline } from '../deadline.js'

/**
 * Connections one socket server accepts. node-postgres opens up to three per brand
 * (src/sources/postgres.ts), and the server's default of one resets the others. The
 * server still counts a socket for a moment after the client closed it, so a pool that
 * reconnects right after closing (a destroyed connection, a second pass) needs room for
 * both; the connections share one PGlite session, so a spare one costs nothing.
 */
export const DEMO_MAX_CONNECTIONS = 10

/** Startup and shutdown of an embedded database take well under this. */
const DEADLINE_MS = 30_000

/** An embedded PostgreSQL reachable over TCP, as a brand's database is in production. */
export interface DemoDatabase {
  /** postgres://postgres@127.0.0.1:<port>/postgres; PGlite has no password. */
  url: string
  db: PGlite
  server: PGLiteSocketServer
  stop: () => Promise<void>
}

/**
 * Starts an in-memory PGlite, runs `setupSql` in it and serves it with the PostgreSQL
 * wire protocol on 127.0.0.1 and a free port, so the production node-postgres source
 * reaches it through a real socket.
 *
 * Limitation: PGlite is one backend session in this process. Its connections take turns
 * (a transaction keeps the others waiting), it ignores the startup parameters a client
 * sends (statement_timeout, application_name, idle_in_transaction_session_timeout) and a
 * long query blocks the event loop, so only the client-side deadline bounds a query, and
 * only once the query returns.
 */
export async function startDemoDatabase (setupSql: string, template?: Blob):
Promise<DemoDatabase> {
  const db = await withDeadline(
    template === undefined ? PGlite.create() : PGlite.create({ loadDataDir: template }),
    DEADLINE_MS, 'starting PGlite')
  let server: PGLiteSocketServer | undefined
  try {
    await db.exec(setupSql)
    server = new PGLiteSocketServer({
      db, host: '127.0.0.1', port: 0, maxConnections: DEMO_MAX_CONNECTIONS
    })
    await withDeadline(server.start(), DEADLINE_MS, 'starting the PGlite socket server')
  } catch (error) {
    await closeQuietly(db, server)
    throw error
  }

  const started = server
  return {
    url: `postgres://postgres@${started.getServerConn()}/postgres`,
    db,
    server: started,
    stop: async () => { await closeQuietly(db, started) }
  }
}

async function closeQuietly (db: PGlite, server: PGLiteSocketServer | undefined):
Promise<void> {
  if (server !== undefined) {
    await withDeadline(server.stop(), DEADLINE_MS, 'stopping the socket server').catch(() => {})
  }
  if (!db.closed) await withDeadline(db.close(), DEADLINE_MS, 'closing PGlite').catch(() => {})
}

/**
 * Starts one database per setup script. Creating a PGlite runs initdb, which takes
 * seconds; the first empty cluster is copied for the others, which start in a fraction
 * of that. They start one after another: WebAssembly runs on this one thread anyway.
 */
export async function startDemoDatabases (setups: readonly string[]): Promise<DemoDatabase[]> {
  const started: DemoDatabase[] = []
  try {
    const empty = await withDeadline(PGlite.create(), DEADLINE_MS, 'starting PGlite')
    const template = await empty.dumpDataDir('none').finally(() => empty.close())
    for (const setup of setups) started.push(await startDemoDatabase(setup, template))
    return started
  } catch (error) {
    await Promise.all(started.map(async (database) => { await database.stop() }))
    throw error
  }
}
