/**
 * The server side of the read measure, in a process of its own: the app with one cached
 * brand, plus a bare route that answers the same body bytes without touching the store.
 * Prints `{"port": N, "brand": ID}` on stdout once it listens; stops on SIGTERM.
 */
import type { AddressInfo } from 'node:net'
import { buildApp } from '../src/app.js'
import { refreshBrands } from '../src/refresh.js'
import { openBrands } from './lib/brands.js'

const database = process.argv[2]
if (database === undefined) throw new Error('usage: read-server.ts DATABASE')

const runtime = openBrands({ count: 1, databases: [database], query: 'SELECT 1 AS value' })
const brand = runtime.config.brands[0]?.id as string
const report = await refreshBrands(runtime, { trigger: 'cli', runId: 'reads' })
if (!report.ok) throw new Error(`The brand could not be cached: ${JSON.stringify(report)}`)

const app = await buildApp(runtime)
let bare = ''
app.get('/bench/bare', async (_request, reply) =>
  await reply.type('application/json; charset=utf-8').send(bare))
await app.ready()
bare = (await app.inject({ method: 'GET', url: `/api/metrics/${brand}` })).body

await app.listen({ host: '127.0.0.1', port: 0 })
const { port } = app.server.address() as AddressInfo
process.stdout.write(`${JSON.stringify({ port, brand, bytes: Buffer.byteLength(bare) })}\n`)
process.once('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
