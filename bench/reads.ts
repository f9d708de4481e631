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
  /** Seconds of load on each route, in `rounds` equal rounds taken in turn. */
  duration_s: number
  rounds: number
  connections: number
  body_bytes: number
  /** The route as deployed: answers kept in process for API_CACHE_MS (1000 ms). */
  api: ReadFigures
  /** The same with API_CACHE_MS=0: a Redis round trip per request, as every miss costs. */
  api_uncached: ReadFigures
  /** That over the in-process store: what is left without the Redis trip. */
  api_memory: ReadFigures
  bare: ReadFigures
  /** API requests/s over bare requests/s. */
  ratio: number
  /** The same for API_CACHE_MS=0. */
  ratio_uncached: number
}

const SERVER = fileURLToPath(new URL('./read-server.ts', import.meta.url))
const TSX = import.meta.resolve('tsx')
/** Each route's time is split into this many rounds, taken in turn. */
const ROUNDS = 2

/**
 * Loads `GET /api/metrics/:brand` over Redis, the same without its in-process copy, that
 * over the in-process store, and a bare route with the same body, each for `seconds` in
 * all, on one server process while autocannon runs in this one: on two cores each side
 * gets its own, and the server's figures are not cut by the load generator's work.
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
    const uncached = `http://127.0.0.1:${info.uncachedPort}/api/metrics/${info.brand}`
    const memory = `http://127.0.0.1:${info.memoryPort}/api/metrics/${info.brand}`
    const urls = [api, uncached, memory, bare]
    // A short warm-up of each route, so that all are measured after the JIT has run.
    for (const url of urls) await load(url, 2, connections)
    // Rounds in turn, so that a change in the machine's other load during the run
    // weighs on every route alike rather than on whichever ran at that moment.
    const rounds: ReadFigures[][] = []
    for (let i = 0; i < ROUNDS; i++) {
      const taken: ReadFigures[] = []
      for (const url of urls) taken.push(await load(url, seconds / ROUNDS, connections))
      rounds.push(taken)
    }
    const [apiFigures, uncachedFigures, memoryFigures, bareFigures] = urls.map((_url, i) =>
      combine(rounds.map((taken) => taken[i] as ReadFigures))) as
      [ReadFigures, ReadFigures, ReadFigures, ReadFigures]
    process.stderr.write(`  reads: api ${apiFigures.requests_per_s} req/s, uncached ` +
      `${uncachedFigures.requests_per_s} req/s, bare ${bareFigures.requests_per_s} req/s\n`)
    return {
      duration_s: seconds,
      rounds: ROUNDS,
      connections,
      body_bytes: info.bytes,
      api: apiFigures,
      api_uncached: uncachedFigures,
      api_memory: memoryFigures,
      bare: bareFigures,
      ratio: round(apiFigures.requests_per_s / bareFigures.requests_per_s, 2),
      ratio_uncached: round(uncachedFigures.requests_per_s / bareFigures.requests_per_s, 2)
    }
  } finally {
    await stop(server)
  }
}

/** Requests/s over equal rounds is their mean; a percentile is the worst round's. */
function combine (rounds: ReadFigures[]): ReadFigures {
  const sum = (pick: (f: ReadFigures) => number): number =>
    rounds.reduce((total, figures) => total + pick(figures), 0)
  const worst = (pick: (f: ReadFigures) => number): number => Math.max(...rounds.map(pick))
  return {
    requests_per_s: round(sum((f) => f.requests_per_s) / rounds.length, 0),
    p50_ms: worst((f) => f.p50_ms),
    p99_ms: worst((f) => f.p99_ms),
    errors: sum((f) => f.errors),
    non2xx: sum((f) => f.non2xx)
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
Promise<{ port: number, uncachedPort: number, memoryPort: number, brand: string,
  bytes: number }> {
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
