import { spawn } from 'node:child_process'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import pg from 'pg'
import { pino, type Logger } from 'pino'
import { loadConfig, type Config, type Env } from '../src/config.js'
import { loggerOptions } from '../src/logger.js'

/** Where the tests find the machine's services; each can be pointed elsewhere. */
export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const MYSQL_ADMIN_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test'
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** The redis-server binary the fault tests start servers of their own with. */
export const REDIS_SERVER_BIN = process.env.TEST_REDIS_SERVER ?? 'redis-server'

const SERVICE_URLS = { postgres: PG_ADMIN_URL, mysql: MYSQL_ADMIN_URL, redis: REDIS_URL }
export type Service = keyof typeof SERVICE_URLS | 'redis-server'

/**
 * The `skip` option for a suite that needs real services: false when they all answer,
 * else a one-line reason. Under CI a missing service fails the run instead.
 */
export async function needs (...services: Service[]): Promise<string | false> {
  const missing: string[] = []
  for (const service of services) {
    if (service === 'redis-server') {
      if (!runs(REDIS_SERVER_BIN)) missing.push(`the ${REDIS_SERVER_BIN} program`)
      continue
    }
    const url = new URL(SERVICE_URLS[service])
    if (!(await answers(url.hostname, Number(url.port)))) missing.push(`${service} at ${url.host}`)
  }
  if (missing.length === 0) return false

  const reason = `needs ${missing.join(' and ')}, which did not answer`
  if (process.env.CI !== undefined && process.env.CI !== '') {
    throw new Error(`CI is set and this suite ${reason}`)
  }
  return reason
}

function runs (program: string): boolean {
  return spawnSync(program, ['--version'], { stdio: 'ignore', timeout: 5000 }).status === 0
}

async function answers (host: string, port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = createConnection({ host, port, timeout: 1000 })
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { resolve(false) })
    socket.once('timeout', () => { socket.destroy(); resolve(false) })
  })
}

export function uniqueName (label: string): string {
  return `mc_${label}_${randomBytes(4).toString('hex')}`
}

/** A throwaway PostgreSQL database; `drop()` removes it and ends every session on it. */
export interface TestDatabase {
  name: string
  url: string
  query: (sql: string) => Promise<pg.QueryResult>
  drop: () => Promise<void>
}

export async function createPgDatabase (label = 'db'): Promise<TestDatabase> {
  const name = uniqueName(label)
  await adminQuery(`CREATE DATABASE ${name}`)
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${name}`
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 })
  pool.on('error', () => {})

  return {
    name,
    url: url.toString(),
    query: async (sql) => await pool.query(sql),
    drop: async () => {
      await pool.end()
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    }
  }
}

/** A database with the three default tables holding the given numbers of rows. */
export async function createShopDatabase (products: number, orders: number, customers: number):
Promise<TestDatabase> {
  const db = await createPgDatabase('shop')
  await db.query(`
    CREATE TABLE products (id serial PRIMARY KEY, name text);
    CREATE TABLE orders (id serial PRIMARY KEY, total numeric(10, 2));
    CREATE TABLE customers (id serial PRIMARY KEY, email text);
    INSERT INTO products (name) SELECT 'p' || g FROM generate_series(1, ${products}) g;
    INSERT INTO orders (total) SELECT g * 1.5 FROM generate_series(1, ${orders}) g;
    INSERT INTO customers (email) SELECT g || '@x.test' FROM generate_series(1, ${customers}) g;
  `)
  return db
}

export async function adminQuery (sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL })
  await client.connect()
  try {
    return await client.query(sql)
  } finally {
    await client.end()
  }
}

/** A Redis key prefix no other test run uses. */
export function uniquePrefix (): string {
  return `mctest:${randomBytes(4).toString('hex')}:`
}

/** A plain Redis client for assertions, and a cleanup of one prefix's keys. */
export function redisClient (): Redis {
  return new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 })
}

export async function deletePrefix (redis: Redis, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}*`)
  if (keys.length > 0) await redis.del(...keys)
}

/** A logger whose JSON lines are kept in `lines`, to assert on what was logged. */
export function captureLogs (level = 'debug'): { log: Logger, lines: string[] } {
  const lines: string[] = []
  const sink = new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''))
      done()
    }
  })
  return { log: pino(loggerOptions(level), sink), lines }
}

/** A Config read from `env` alone, as the service would read it, for tests. */
export function testConfig (env: Env): Config {
  return loadConfig(env)
}

/** A logger that writes nowhere, for tests that do not look at logs. */
export function silentLog (): Logger {
  return pino({ level: 'silent' })
}

/** Runs `work` with the process time zone set to `tz`, then puts the previous one back. */
export async function withProcessTimeZone<T> (tz: string, work: () => Promise<T>): Promise<T> {
  const previous = process.env.TZ
  process.env.TZ = tz
  try {
    return await work()
  } finally {
    if (previous === undefined) delete process.env.TZ
    else process.env.TZ = previous
  }
}

/** `url` with a user and password put in, to prove a password never leaks anywhere. */
export function withPassword (url: string, user: string, password: string): string {
  const parsed = new URL(url)
  parsed.username = user
  parsed.password = password
  return parsed.toString()
}

/** A PostgreSQL URL nothing listens on, so connecting fails at once. */
export function unreachablePgUrl (password: string): string {
  return `postgres://reader:${password}@127.0.0.1:1/nowhere`
}

export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

const CLI_PATH = fileURLToPath(new URL('../src/cli.ts', import.meta.url))
const TSX_LOADER = import.meta.resolve('tsx')

/**
 * Runs the CLI from its TypeScript source in a child process with exactly `env` (plus
 * PATH) in `cwd`, piped, so it sees no terminal. Killed after `timeoutMs`.
 */
export async function runCli (args: string[], env: Env, cwd: string, timeoutMs = 20_000):
Promise<CliRun> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, CLI_PATH, ...args], {
      cwd,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8') })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
    child.once('error', reject)
    child.once('close', (code) => { resolve({ code, stdout, stderr }) })
  })
}

/** An empty directory of its own, so a CLI run there reads no stray .env. */
export async function tempDir (): Promise<{ path: string, remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'metrics-cache-'))
  return { path, remove: async () => { await rm(path, { recursive: true, force: true }) } }
}
