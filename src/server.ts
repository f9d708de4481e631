import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { closeRuntime, type Runtime } from './runtime.js'

/**
 * Listens on the configured port until SIGTERM or SIGINT, then stops taking requests,
 * lets a refresh in flight finish within SHUTDOWN_TIMEOUT_MS, closes pools and the
 * cache connection and resolves; the caller exits 0.
 */
export async function serve (runtime: Runtime, host = '0.0.0.0'): Promise<FastifyInstance> {
  const app = await buildApp(runtime)
  await app.listen({ port: runtime.config.port, host })

  const stop = (signal: NodeJS.Signals): void => {
    void shutdown(app, runtime, signal).then(() => process.exit(0))
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  return app
}

async function shutdown (app: FastifyInstance, runtime: Runtime, signal: string): Promise<void> {
  const { log, config } = runtime
  const started = Date.now()
  log.info({ signal, timeout_ms: config.shutdownTimeoutMs }, 'shutting down')

  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => { resolve('timeout') }, config.shutdownTimeoutMs)
  })
  const outcome = await Promise.race([app.close().then(() => 'closed' as const), deadline])
  clearTimeout(timer)

  if (outcome === 'timeout') {
    // The pass in flight is abandoned: closing its pools ends its queries, and what it
    // had not written stays as it was, so nothing cached is lost.
    log.warn({ duration_ms: Date.now() - started }, 'shutdown deadline passed, closing anyway')
    await closeRuntime(runtime)
  }
  log.info({ duration_ms: Date.now() - started }, 'stopped')
}
