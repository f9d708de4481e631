/**
 * The server side of the read measure, in a process of its own: the app with one brand
 * cached in Redis, plus a bare route that answers the same body bytes without touching
 * any store; and a second app over the in-process store, to tell the cost of the Redis
 * round trip from that of our route. Prints `{"port", "memoryPort", "brand", "bytes"}`
 * on stdout once both listen; stops on SIGTERM.
 */
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.js'
import { refreshBrands } from '../src/refresh.js'
import { MemoryStore } from '../src/store/memory-store.js'
import { openBrands } from './lib/brands.js'

const database = process.argv[2]
if (database === undefined) throw new Error('usage: read-server.ts DATABASE')

const runtime = openBrands({ count: 1, databases: [database], query: 'SELECT 1 AS value' })
const memory = { ...runtime, store: new MemoryStore() }
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
const memoryApp = await buildApp(memory)

const port = await listen(app)
const memoryPort = await listen(memoryApp)
process.stdout.write(`${JSON.stringify({ port, memoryPort, brand,
  bytes: Buffer.byteLength(bare) })}\n`)
process.once('SIGTERM', () => {
  void Promise.all([app.close(), memoryApp.close()]).then(() => process.exit(0))
})

async function listen (server: FastifyInstance): Promise<number> {
  await server.listen({ host: '127.0.0.1', port: 0 })
  return (server.server.address() as AddressInfo).port
}
