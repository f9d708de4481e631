import { randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../app.js'
import { withDeadline } from '../deadline.js'
import { loadConfig, type Config, type Env } from '../config.js'
import { ConfigError } from '../errors.js'
import { createLogger } from '../logger.js'
import type { BrandResult } from '../refresh.js'
import { openRuntime } from '../runtime.js'
import { readBrandViews } from '../store/read-model.js'
import { startDemoDatabases, type DemoDatabase } from './databases.js'
import { demoTable } from './report.js'
import { SAMPLE_BRANDS, sampleSchemaSql, type SampleBrand } from './sample-data.js'
import { generateSigningKeys, signQstashRequest } from './sign.js'

export interface DemoOptions {
  /** Exit after the first refresh instead of serving until Ctrl-C. */
  once: boolean
  /** PORT and LOG_LEVEL are read from here; nothing else of the caller's settings. */
  env: Env
  out: NodeJS.WritableStream
  brands?: readonly SampleBrand[]
  /** Resolves when the demo should stop; defaults to the first SIGINT or SIGTERM. */
  stopSignal?: Promise<unknown>
}

/** The first refresh, sample data included, finishes well within this. */
const TRIGGER_TIMEOUT_MS = 60_000
const CLOSE_TIMEOUT_MS = 10_000

/**
 * Runs the demo: embedded brand databases, the in-process store, the real server on
 * PORT and one signed trigger to its own /qstash. Returns fetch's exit code: 0 when
 * every brand was cached, 1 when some failed.
 */
export async function runDemo (options: DemoOptions): Promise<number> {
  const brands = options.brands ?? SAMPLE_BRANDS
  // Fail before the databases take their seconds to start, not after.
  await assertPortFree(loadConfig({ PORT: options.env.PORT }).port)
  options.out.write(`Starting ${brands.length} embedded PostgreSQL databases (PGlite) with ` +
    'sample shops; this takes a few seconds.\n')
  const databases = await startDemoDatabases(brands.map(sampleSchemaSql))
  let app: FastifyInstance | undefined

  try {
    const keys = generateSigningKeys()
    const config = loadConfig(demoEnv(options.env, brands, databases, keys))
    const runtime = openRuntime(config, createLogger(config.logLevel))
    app = await buildApp(runtime)
    await listen(app, config.port)

    const results = await triggerItself(config, keys.current)
    const views = await readBrandViews(runtime.store, config.keyPrefix, Object.keys(results))
    options.out.write(`${demoTable(results, views)}\n`)
    const code = Object.values(results).every((result) => result.ok) ? 0 : 1

    if (options.once) {
      // The server stops with this run, so its addresses would lead nowhere.
      options.out.write('--once: stopped after the first refresh.\n')
    } else {
      options.out.write(`${urlsOf(config.port)}Serving until Ctrl-C.\n`)
      await (options.stopSignal ?? nextStopSignal())
    }
    return code
  } finally {
    if (app !== undefined) {
      await withDeadline(app.close(), CLOSE_TIMEOUT_MS, 'closing the server').catch(() => {})
    }
    await Promise.all(databases.map(async (database) => { await database.stop() }))
  }
}

function demoEnv (env: Env, brands: readonly SampleBrand[], databases: DemoDatabase[],
  keys: { current: string, next: string }): Env {
  const demo: Env = {
    BRANDS: brands.map((brand) => brand.id).join(','),
    CACHE_STORE: 'memory',
    QSTASH_CURRENT_SIGNING_KEY: keys.current,
    QSTASH_NEXT_SIGNING_KEY: keys.next,
    PORT: env.PORT,
    LOG_LEVEL: env.LOG_LEVEL ?? 'warn'
  }
  brands.forEach((brand, i) => {
    const name = brand.id.toUpperCase().replace(/[^A-Z0-9_]/g, '_')
    demo[`${name}_DATABASE_URL`] = databases[i]?.url
    if (brand.metricsQuery !== undefined) demo[`${name}_METRICS_QUERY`] = brand.metricsQuery
  })
  return demo
}

async function listen (app: FastifyInstance, port: number): Promise<void> {
  try {
    await app.listen({ port, host: '127.0.0.1' })
  } catch (error) {
    throw portError(error, port)
  }
}

async function assertPortFree (port: number): Promise<void> {
  const probe = createServer()
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error) => { reject(portError(error, port)) })
    probe.listen(port, '127.0.0.1', () => { probe.close(() => { resolve() }) })
  })
}

function portError (error: unknown, port: number): unknown {
  if ((error as { code?: string }).code !== 'EADDRINUSE') return error
  return new ConfigError('PORT', `Port ${port} is already in use on 127.0.0.1: stop what ` +
    `listens there or choose another port, for example PORT=${port + 1} npm run demo.`)
}

/** Sends the trigger QStash would send, signed with the demo's own key. */
async function triggerItself (config: Config, signingKey: string):
Promise<Record<string, BrandResult>> {
  const url = `http://127.0.0.1:${config.port}/qstash`
  const body = JSON.stringify({ event: 'demo', sent_at: new Date().toISOString() })
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'upstash-signature': signQstashRequest({ url, body, signingKey }),
      'upstash-message-id': `msg_demo_${randomUUID()}`
    },
    body,
    signal: AbortSignal.timeout(TRIGGER_TIMEOUT_MS)
  })

  const answer = await response.json() as { results?: Record<string, BrandResult> }
  if (answer.results === undefined) {
    throw new Error(`The demo's signed trigger was refused with HTTP ${response.status}.`)
  }
  return answer.results
}

function urlsOf (port: number): string {
  const base = `http://127.0.0.1:${port}`
  return [
    `Status page:  ${base}/`,
    `Read API:     ${base}/api/metrics`,
    `Health:       ${base}/health`,
    ''
  ].join('\n')
}

async function nextStopSignal (): Promise<NodeJS.Signals> {
  return await new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve(signal)
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}
