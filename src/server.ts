import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { withDeadline } from './deadline.js'
import { ConfigError } from './errors.js'
import { closeRuntime, type Runtime } from './runtime.js'

/**
 * After the shutdown deadline and the cancel of its queries, how long the pass in flight
 * may take to record its failures, release its brands' locks and be answered.
 */
const SETTLE_GRACE_MS = 2000

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
  try {
    await app.listen({ port: runtime.config.port, host })
  } catch (error) {
    await app.close()
    throw listenError(error, runtime.config.port, host)
  }

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
    log.warn({ duration_ms: Date.now() - started }, 'shutdown deadline passed, closing anyway')
    await abandonPass(runtime, closing)
  }
  log.info({ duration_ms: Date.now() - started }, 'stopped')
}

/**
 * Gives up on the pass in flight in an order that leaves nothing behind: closing the
 * pools cancels its queries, so its brands fail at once; while the store is still open
 * they record that failure in `:status`, release their locks and the request is answered
 * (500, retryable) within a short grace. Only then is the store closed. Closing the store
 * first left each brand's lock for its whole TTL and recorded no failure. Brands the
 * pass had not reached yet fail at once: a closed registry opens no pool.
 */
async function abandonPass (runtime: Runtime, closing: Promise<unknown>): Promise<void> {
  await runtime.sources.closeAll()
  await withDeadline(closing, SETTLE_GRACE_MS, 'settling the pass in flight')
    .catch(() => {
      runtime.log.warn({ grace_ms: SETTLE_GRACE_MS }, 'the pass in flight did not settle in time')
    })
  await closeRuntime(runtime)
}

/** A port or address we cannot listen on is a setting to change, not a crash. */
function listenError (error: unknown, port: number, host: string): unknown {
  const code = (error as { code?: unknown }).code
  if (code === 'EADDRINUSE' || code === 'EACCES') {
    return new ConfigError('PORT', `Port ${port} on ${host} is ` +
      `${code === 'EADDRINUSE' ? 'already in use' : 'not open to this user'}: stop what ` +
      'listens there or set PORT to another port.')
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new ConfigError('HOST', `HOST "${host}" is not an address of this machine: use ` +
      '0.0.0.0 for every interface, 127.0.0.1 for this machine only, or one of its addresses.')
  }
  return error
}
