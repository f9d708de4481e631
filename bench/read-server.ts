/**
 * The server side of the read measure, in a process of its own: the app with one brand
 * cached in Redis, plus a bare route that answers the same body bytes without touching
 * any store; the same app with its in-process copy off (API_CACHE_MS=0), so that every
 * request reads Redis as a miss does; and that over the in-process store, to tell the
 * cost of the Redis round trip from that of our route. Prints `{"port", "uncachedPort",
 * "memoryPort", "brand", "bytes"}` on stdout once all listen; stops on SIGTERM.
 */
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.js'
import { requireCache, type Config } from '../src/config.js'
import { refreshBrands } from '../src/refresh.js'
import { openStore } from '../src/store/index.js'
import { MemoryStore } from '../src/store/memory-store.js'
import { openBrands } from './lib/brands.js'

const database = process.argv[2]
if (database === undefined) throw new Error('usage: read-server.ts DATABASE')

const runtime = openBrands({ count: 1, databases: [database], query: 'SELECT 1 AS value' })
const uncachedConfig = withoutReadCache(runtime.config)
const uncached = { ...runtime, config: uncachedConfig,
  store: openStore(requireCache(uncachedConfig)) }
const memory = { ...runtime, config: uncachedConfig, store: new MemoryStore() }
const brand = runtime.config.brands[0]?.id as string
for (const ctx of [runtime, memory]) {
  const report = await refreshBrands(ctx, { trigger: 'cli', runId: 'reads' })
  if (!report.ok) throw new Error(`The brand could not be cached: ${JSON.stringify(report)}`)
}

const app = await buildApp(runtime)
let bare = ''
app.get('/bench/bare', async (_request, reply) =>
  await reply.type('application/json; charset=utf-8').send(bare))
await app.ready()
bare = (await app.inject({ method: 'GET', url: `/api/metrics/${brand}` })).body
const uncachedApp = await buildApp(uncached)
const memoryApp = await buildApp(memory)

const port = await listen(app)
const uncachedPort = await listen(uncachedApp)
const memoryPort = await listen(memoryApp)
process.stdout.write(`${JSON.stringify({ port, uncachedPort, memoryPort, brand,
  bytes: Buffer.byteLength(bare) })}\n`)
process.once('SIGTERM', () => {
  void Promise.all([app.close(), uncachedApp.close(), memoryApp.close()])
    .then(() => process.exit(0))
})

/** The same configuration, its hidden fields included, with API_CACHE_MS=0. */
function withoutReadCache (config: Config): Config {
  const copy = Object.defineProperties({}, Object.getOwnPropertyDescriptors(config)) as Config
  copy.apiCacheMs = 0
  return copy
}

async function listen (server: FastifyInstance): Promise<number> {
  await server.listen({ host: '127.0.0.1', port: 0 })
  return (server.server.address() as AddressInfo).port
}
