import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { stop } from './lib/process.js'
import { RUN_ID } from './lib/services.js'
import { round } from './lib/stats.js'

export interface ReadFigures { requests_per_s: number, p50_ms: number, p99_ms: number,
  errors: number, non2xx: number }

export interface ReadsResult {
  duration_s: number
  connections: number
  body_bytes: number
  api: ReadFigures
  bare: ReadFigures
  /** API requests/s over bare requests/s. */
  ratio: number
}

const SERVER = fileURLToPath(new URL('./read-server.ts', import.meta.url))
const TSX = import.meta.resolve('tsx')

/**
 * Loads `GET /api/metrics/:brand` and then a bare route with the same body, each for
 * `seconds`, on one server process while autocannon runs in this one: on two cores each
 * side gets its own, and the server's figures are not cut by the load generator's work.
 */
export async function measureReads (database: string, seconds: number, connections = 10):
Promise<ReadsResult> {
  const server = spawn(process.execPath, ['--import', TSX, SERVER, database],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BENCH_RUN_ID: RUN_ID } })
  try {
    const info = await firstLine(server)
    const base = `http://127.0.0.1:${info.port}`
    const api = `${base}/api/metrics/${info.brand}`
    const bare = `${base}/bench/bare`
    // A short warm-up of each route, so that both are measured after the JIT has run.
    await load(api, 2, connections)
    await load(bare, 2, connections)
    const apiFigures = await load(api, seconds, connections)
    const bareFigures = await load(bare, seconds, connections)
    process.stderr.write(`  reads: api ${apiFigures.requests_per_s} req/s, ` +
      `bare ${bareFigures.requests_per_s} req/s\n`)
    return {
      duration_s: seconds,
      connections,
      body_bytes: info.bytes,
      api: apiFigures,
      bare: bareFigures,
      ratio: round(apiFigures.requests_per_s / bareFigures.requests_per_s, 2)
    }
  } finally {
    await stop(server)
  }
}

async function load (url: string, seconds: number, connections: number): Promise<ReadFigures> {
  const result = await autocannon({ url, duration: seconds, connections })
  return {
    requests_per_s: round(result.requests.average, 0),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx
  }
}

async function firstLine (child: ChildProcess):
Promise<{ port: number, brand: string, bytes: number }> {
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  const timer = setTimeout(() => { child.kill() }, 20_000)
  try {
    for await (const line of lines) return JSON.parse(line) as never
    throw new Error('The read server exited before it listened.')
  } finally {
    clearTimeout(timer)
    lines.close()
  }
}
