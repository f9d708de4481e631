import { spawn, type ChildProcess } from 'node:child_process'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import pg from 'pg'
import { PG_ADMIN_URL, REDIS_SERVER_BIN } from './helper.js'

/** A port nothing listens on right now (the OS picks it, then we let it go). */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const address = server.address()
  await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

/** Resolves once something accepts TCP connections on the port, or throws after `ms`. */
export async function waitForPort (port: number, ms = 5000): Promise<void> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port })
      socket.once('connect', () => { socket.destroy(); resolve(true) })
      socket.once('error', () => { resolve(false) })
    })
    if (open) return
    await sleep(50)
  }
  throw new Error(`nothing listened on port ${port} within ${ms} ms`)
}

export async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * A redis-server of our own, as a child process on a fixed port, that a test may kill,
 * freeze and start again while metrics-cache keeps its connection settings.
 */
export class RedisProcess {
  readonly port: number
  readonly password?: string
  /** With a directory, every write is fsynced to an append-only file that survives a kill. */
  readonly dir?: string
  #child?: ChildProcess

  constructor (port: number, options: { password?: string, dir?: string } = {}) {
    this.port = port
    this.password = options.password
    this.dir = options.dir
  }

  get url (): string {
    const auth = this.password === undefined ? '' : `:${encodeURIComponent(this.password)}@`
    return `redis://${auth}127.0.0.1:${this.port}`
  }

  async start (): Promise<void> {
    const args = ['--port', String(this.port), '--save', '', '--daemonize', 'no',
      '--bind', '127.0.0.1']
    if (this.dir === undefined) args.push('--appendonly', 'no')
    else args.push('--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir)
    if (this.password !== undefined) args.push('--requirepass', this.password)
    this.#child = spawn(REDIS_SERVER_BIN, args, { stdio: 'ignore' })
    await waitForPort(this.port)
  }

  /** Kills the server at once (SIGKILL), as a crash or a lost host would. */
  async kill (): Promise<void> {
    const child = this.#child
    if (child === undefined || child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    // Forget this child now, not after its exit: a start() made meanwhile (a test that
    // does not await the kill) has a new child that must stay known, to be killed later.
    this.#child = undefined
    await exited
  }

  /** Freezes (SIGSTOP) or thaws (SIGCONT) the server: connections stay open, nothing answers. */
  freeze (frozen: boolean): void {
    this.#child?.kill(frozen ? 'SIGSTOP' : 'SIGCONT')
  }
}

export async function startRedis (options: { password?: string, dir?: string } = {}):
Promise<RedisProcess> {
  const redis = new RedisProcess(await freePort(), options)
  await redis.start()
  return redis
}

/**
 * A host that accepts TCP connections and never says a word, as a firewalled or frozen
 * database looks from the client. `open` counts the connections still held.
 */
export interface SilentServer {
  port: number
  open: () => number
  close: () => Promise<void>
}

export async function startSilentServer (): Promise<SilentServer> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    // Read and drop what the client says: an unread socket never sees the client's FIN.
    socket.resume()
    socket.on('error', () => {})
    socket.on('close', () => { sockets.delete(socket) })
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')

  return {
    port: address.port,
    open: () => sockets.size,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
}

/** Sessions metrics-cache holds on the given databases, from pg_stat_activity. */
export async function ourSessions (databases: readonly string[]): Promise<number> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL })
  await client.connect()
  try {
    const result = await client.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM pg_stat_activity
       WHERE application_name = 'metrics-cache' AND datname = ANY($1)`, [databases])
    return Number(result.rows[0]?.n ?? 0)
  } finally {
    await client.end()
  }
}

/** Waits until `read` gives `expected` or `ms` pass; returns the last value read. */
export async function eventually<T> (read: () => Promise<T>, expected: T, ms = 5000):
Promise<T> {
  const until = Date.now() + ms
  let value = await read()
  while (value !== expected && Date.now() < until) {
    await sleep(100)
    value = await read()
  }
  return value
}
