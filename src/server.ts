import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { withDeadline } from './deadline.js'
import { closeRuntime, type Runtime } from './runtime.js'

/** After the shutdown deadline, how long the abandoned request may take to be answered. */
const ANSWER_GRACE_MS = 1000

/**
 * Listens on the configured port until SIGTERM or SIGINT, then stops taking requests,
 * lets a refresh in flight finish within SHUTDOWN_TIMEOUT_MS, closes pools and the
 * cache connection and resolves; the caller exits 0.
 */
export async function serve (runtime: Runtime, host = '0.0.0.0'): Promise<FastifyInstance> {
  const app = await buildApp(runtime)
  let stopping = false
  // A response sent after the signal closes its connection: a client's idle keep-alive
  // connection would otherwise hold app.close() open until the shutdown deadline.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (stopping) void reply.header('connection', 'close')
    return payload
  })
  await app.listen({ port: runtime.config.port, host })

  const stop = (signal: NodeJS.Signals): void => {
    stopping = true
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
  const closing = app.close().then(() => 'closed' as const)
  const outcome = await Promise.race([closing, deadline])
  clearTimeout(timer)

  if (outcome === 'timeout') {
    // The pass in flight is abandoned: closing its pools cancels its queries, and what it
    // had not written stays as it was, so nothing cached is lost. Its brands then fail
    // at once, so the request is answered (503) instead of cut off, if it can be soon.
    log.warn({ duration_ms: Date.now() - started }, 'shutdown deadline passed, closing anyway')
    await closeRuntime(runtime)
    await withDeadline(closing, ANSWER_GRACE_MS, 'answering the request in flight')
      .catch(() => {})
  }
  log.info({ duration_ms: Date.now() - started }, 'stopped')
}
