import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { buildApp, BODY_LIMIT } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { openRuntime } from '../../src/runtime.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { captureLogs, createShopDatabase, needs, type TestDatabase } from '../helper.js'
import { signQstash } from '../qstash-signer.js'

const TOKEN = 'hostile-input-token-5f1c0a'
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'] as const
const ROUTES = ['/qstash', '/health', '/ready', '/', '/qstash/', '/QSTASH', '/qstash?x=1',
  '/api/metrics/x', '/%00', '/..%2f..%2fetc/passwd']

/** Printable ASCII: what an HTTP parser lets through to the app in a header value. */
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e })
  .map((code) => String.fromCharCode(code)), maxLength: 80 })

/** Authorization values near the right one and far from it; a few are the right one. */
const authorization = fc.oneof(
  { weight: 6, arbitrary: headerText },
  { weight: 3, arbitrary: headerText.map((text) => `Bearer ${text}`) },
  { weight: 3, arbitrary: fc.constantFrom(`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`,
    `Basic ${TOKEN}`, TOKEN, `Bearer${TOKEN}`, `Bearer ${TOKEN.toUpperCase()}`) },
  { weight: 1, arbitrary: fc.constant(`Bearer ${TOKEN}`) })

const body = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc.json().map((text) => Buffer.from(text)),
  fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(null)), { maxLength: 4 })
    .map((brands) => Buffer.from(JSON.stringify({ brands }))),
  fc.constant(Buffer.alloc(0)))

const request = fc.record({
  method: fc.constantFrom(...METHODS),
  url: fc.oneof(fc.constantFrom(...ROUTES), headerText.map((text) => `/${encodeURI(text)}`)),
  authorization: fc.option(authorization),
  signature: fc.option(headerText),
  contentType: fc.option(fc.constantFrom('application/json', 'text/plain', 'application/' +
    'octet-stream', 'multipart/form-data; boundary=x', 'application/json; charset=latin1')),
  messageId: fc.option(headerText),
  body: fc.option(body)
})

describe('hostile input', { skip: await needs('postgres') }, () => {
  let db: TestDatabase
  let app: FastifyInstance
  let refreshes = 0
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }

  before(async () => {
    db = await createShopDatabase(1, 2, 3)
    const config = loadConfig({ BRANDS: 'shop', SHOP_DATABASE_URL: db.url,
      UPSTASH_REDIS_URL: 'redis://127.0.0.1:1', QSTASH_AUTH_TOKEN: TOKEN,
      QSTASH_CURRENT_SIGNING_KEY: 'sig_current_hostile', QSTASH_NEXT_SIGNING_KEY: 'sig_next_h' })
    const runtime = openRuntime(config, captureLogs('warn').log, new MemoryStore())
    app = await buildApp({ ...runtime, onBrandResult: () => { refreshes++ } })
    process.on('unhandledRejection', onUnhandled)
  })

  after(async () => {
    process.off('unhandledRejection', onUnhandled)
    await app.close()
    await db.drop()
  })

  it('should never answer 5xx, crash or start a pass without the bearer token', async () => {
    await fc.assert(fc.asyncProperty(request, async (input) => {
      const headers: Record<string, string> = {}
      if (input.authorization !== null) headers.authorization = input.authorization
      if (input.signature !== null) headers['upstash-signature'] = input.signature
      if (input.contentType !== null) headers['content-type'] = input.contentType
      if (input.messageId !== null) headers['upstash-message-id'] = input.messageId
      const hasBody = input.body !== null && !['GET', 'HEAD'].includes(input.method)
      const before = refreshes

      const response = await app.inject({ method: input.method, url: input.url, headers,
        ...(hasBody ? { payload: input.body ?? undefined } : {}) })

      assert.ok(response.statusCode < 500, `${input.method} ${input.url} got ` +
        `${response.statusCode}: ${response.body}`)
      if (refreshes > before) {
        assert.ok(input.authorization?.includes(TOKEN) === true,
          `a pass started with Authorization ${JSON.stringify(input.authorization)}`)
      }
      assert.doesNotMatch(response.body, /at .*\.ts:\d+|sig_current_hostile|sig_next_h/)
    }), { numRuns: 400, seed: Number(process.env.FC_SEED ?? Date.now() % 100_000) })

    assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200)
    assert.deepEqual(unhandled, [])
  })

  it('should refuse a body over the limit with 413 and start no pass', async () => {
    const before = refreshes
    const response = await app.inject({ method: 'POST', url: '/qstash',
      headers: { authorization: `Bearer ${TOKEN}` }, payload: Buffer.alloc(BODY_LIMIT + 1) })
    assert.equal(response.statusCode, 413)
    assert.equal(refreshes, before)
  })

  it('should start exactly one pass for a request with the bearer token and a signature',
    async () => {
      const before = refreshes
      // Both checks are configured, so both must pass: the token alone is refused.
      const response = await app.inject({ method: 'POST', url: '/qstash',
        headers: { authorization: `Bearer ${TOKEN}`,
          'upstash-signature': signQstash('', 'sig_current_hostile') } })
      assert.equal(response.statusCode, 200, response.body)
      assert.equal(refreshes, before + 1)
    })
})
