import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { brandEnv } from './lib/brands.js'
import { stop } from './lib/process.js'
import { round, since } from './lib/stats.js'

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url))

export interface FootprintResult {
  brands: number
  databases: number
  /** From spawning `node dist/cli.js serve` to the first 200 from /health. */
  start_ms: number
  rss_mb_idle: number
  rss_mb_after_pass: number
  pass_status: number
  pass_ms: number
  failed: number
  error?: string
}

/**
 * Starts the built service as an operator would, times it until /health answers, then
 * runs one pass over `brands` brands through POST /qstash and reads the process's
 * resident memory from its own Prometheus series.
 */
export async function measureFootprint (brands: number, databases: readonly string[]):
Promise<FootprintResult> {
  const port = await freePort()
  const env = { ...brandEnv({ count: brands, databases, query: 'SELECT 1 AS value' }),
    PATH: process.env.PATH, PORT: String(port), LOG_LEVEL: 'info' }
  const started = performance.now()
  const child = spawn(process.execPath, [CLI, 'serve'], { env, stdio: 'ignore' })
  try {
    const base = `http://127.0.0.1:${port}`
    await untilHealthy(`${base}/health`, child)
    const startMs = since(started)
    const idle = await rssMb(base)

    const passStarted = performance.now()
    const response = await fetch(`${base}/qstash`, { method: 'POST',
      signal: AbortSignal.timeout(120_000) })
    const body = await response.json() as { results: Record<string, { ok: boolean,
      error?: string }> }
    const passMs = since(passStarted)
    const failures = Object.values(body.results).filter((result) => !result.ok)
    const result: FootprintResult = {
      brands,
      databases: Math.min(brands, databases.length),
      start_ms: round(startMs, 0),
      rss_mb_idle: idle,
      rss_mb_after_pass: await rssMb(base),
      pass_status: response.status,
      pass_ms: round(passMs, 0),
      failed: failures.length
    }
    if (failures[0]?.error !== undefined) result.error = failures[0].error
    process.stderr.write(`  footprint: start ${result.start_ms} ms, ` +
      `rss ${result.rss_mb_after_pass} MB after ${brands} brands\n`)
    return result
  } finally {
    await stop(child)
  }
}

/** Polls every 5 ms: the figure is start-up time, so the poll must not add much to it. */
async function untilHealthy (url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}`)
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) })
      if (response.ok) return
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error('serve did not answer /health within 15 s')
}

async function rssMb (base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) }))
    .text()
  const line = text.split('\n')
    .find((l) => l.startsWith('metrics_cache_process_resident_memory_bytes '))
  if (line === undefined) throw new Error('/metrics has no resident memory series')
  return round(Number(line.split(' ')[1]) / 1024 / 1024, 1)
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => { resolve(port) })
    })
  })
}
