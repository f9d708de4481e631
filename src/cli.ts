#!/usr/bin/env node
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import dotenv from 'dotenv'
import { runCheck } from './commands/check.js'
import { runGet } from './commands/get.js'
import { loadConfig, openEndpointWarning, type BrandConfig, type Config } from './config.js'
import { BrandUnknownError, ConfigError } from './errors.js'
import { progressReporter, reportJson, reportTable } from './fetch-output.js'
import { runInterruptible, SIGNAL_EXIT } from './interrupt.js'
import { createLogger } from './logger.js'
import { refreshBrands } from './refresh.js'
import { closeRuntime, openRuntime } from './runtime.js'
import { runDemo } from './demo/run.js'
import { serve } from './server.js'

const USAGE = `Usage: metrics-cache <command> [options]

Commands:
  serve                      run the HTTP server (POST /qstash, GET /health, /api/metrics, /metrics)
  fetch [--brand ID]... [--json]
                             refresh every brand (or those named) once, print the results
  check [--json]             check each brand's URL and database, the cache store and auth
  get BRAND [--json]         print what is cached for BRAND, its age and latest status
  demo [--once]              sample brands in embedded PostgreSQL, an in-process cache and
                             the server on PORT (default 8080), triggered once by itself

Exit codes of fetch and demo: 0 every brand cached, 1 some failed, 2 configuration error.
Exit codes of check: 0 all good, 1 a brand or the cache store fails, 2 configuration error.
Exit codes of get: 0 cached, 1 nothing cached (or the store is down), 2 unknown brand.
Configuration comes from the environment and an optional .env file; see the README.`

/** Exit codes shared by the commands. */
export const EXIT = { ok: 0, failed: 1, config: 2 } as const

async function main (argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      brand: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
      once: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  const command = positionals[0]
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return command === undefined && !values.help ? EXIT.config : EXIT.ok
  }

  const allowed = command === 'get' ? 2 : 1
  if (positionals.length > allowed) {
    throw new ConfigError('command', `"${command}" takes ${allowed === 2 ? 'one brand id' :
      'no word'} after it, got "${positionals.slice(allowed).join(' ')}": options start with --.`)
  }

  // The demo brings its own brands and store: a .env meant for production stays unread.
  if (command === 'demo') {
    return await runDemo({ once: values.once, env: process.env, out: process.stdout })
  }

  dotenv.config({ quiet: true })
  const config = loadConfig(process.env)
  switch (command) {
    case 'serve':
      await runServe(config)
      return EXIT.ok
    case 'fetch':
      return await runFetch(config, values.brand ?? [], values.json || !process.stdout.isTTY)
    case 'check':
      return await runCheck(config, values.json)
    case 'get':
      return await runGet(config, positionals[1], values.json)
    default:
      throw new ConfigError('command',
        `Unknown command "${command}": expected serve, fetch, check, get or demo.`)
  }
}

async function runServe (config: Config): Promise<void> {
  const log = createLogger(config.logLevel)
  const runtime = openRuntime(config, log)
  const warning = openEndpointWarning(config)
  if (warning !== undefined) log.warn(warning)
  await serve(runtime, config.host)
}

async function runFetch (config: Config, brandIds: string[], asJson: boolean): Promise<number> {
  // A person at a terminal reads the progress lines: logs there say only what went wrong,
  // unless LOG_LEVEL asks for more.
  const quiet = !asJson && process.env.LOG_LEVEL === undefined
  const log = createLogger(quiet ? 'warn' : config.logLevel)
  const runtime = openRuntime(config, log)
  try {
    const brands = pickBrands(config, brandIds)
    const write = (text: string): void => { process.stdout.write(text) }
    const onBrandResult = asJson
      ? undefined
      : progressReporter((brands ?? config.brands).length, write)
    const pass = refreshBrands({ ...runtime, onBrandResult }, {
      brands,
      trigger: 'cli',
      runId: randomUUID()
    })
    const { result: report, signal } = await runInterruptible(pass,
      async () => { await runtime.sources.closeAll() }, log)

    if (report !== undefined) write(asJson ? reportJson(report) : reportTable(report))
    if (signal !== undefined) return SIGNAL_EXIT[signal] ?? EXIT.failed
    return report?.ok === true ? EXIT.ok : EXIT.failed
  } finally {
    await closeRuntime(runtime)
  }
}

function pickBrands (config: Config, ids: string[]): BrandConfig[] | undefined {
  if (ids.length === 0) return undefined
  return [...new Set(ids)].map((id) => {
    const brand = config.brands.find((candidate) => candidate.id === id)
    if (brand === undefined) {
      const error = new BrandUnknownError(id, config.brands.map((b) => b.id))
      throw new ConfigError('--brand', error.message)
    }
    return brand
  })
}

main(process.argv.slice(2)).then((code) => {
  // An interrupted run leaves nothing of ours open, but a driver may still hold a socket
  // to a host that never answered until its own timeout: stop now, as the signal asked.
  if (Object.values(SIGNAL_EXIT).includes(code)) process.exit(code)
  if (code !== EXIT.ok || process.argv[2] !== 'serve') process.exitCode = code
}, (error: unknown) => {
  if (error instanceof ConfigError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
    process.stderr.write(`metrics-cache: ${(error as Error).message}\n`)
    process.exitCode = EXIT.config
    return
  }
  process.stderr.write(`metrics-cache: unexpected failure: ${(error as Error).message}\n`)
  process.exitCode = EXIT.failed
})
