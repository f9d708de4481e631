import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Env } from '../../src/config.js'
import { SourceRegistry } from '../../src/sources/index.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { captureLogs } from '../helper.js'
import { signQstash, TEST_KEYS } from '../qstash-signer.js'

const URL_SET = 'https://metrics.example.com/qstash'
// The public development key the SDK ships, which QSTASH_DEV would make it trust.
const SDK_DEV_KEY = 'sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r'

interface TestApp {
  app: FastifyInstance
  lines: string[]
}

/** An app whose brands have no database, so an accepted trigger answers 200 at once. */
async function appWith (env: Env): Promise<TestApp> {
  const { log, lines } = captureLogs('info')
  const config = loadConfig({ BRANDS: 'acme,globex', ...env })
  const sources = new SourceRegistry({ connectTimeoutMs: 1000, queryTimeoutMs: 1000 })
  const app = await buildApp({ config, store: new MemoryStore(), sources, log })
  return { app, lines }
}

async function post (app: FastifyInstance, body: string, headers: Record<string, string>):
Promise<{ statusCode: number, json: Record<string, unknown> }> {
  const response = await app.inject({ method: 'POST', url: '/qstash', payload: body,
    headers: { 'content-type': 'application/json', ...headers } })
  return { statusCode: response.statusCode, json: response.json() }
}

const BODY = '{"event":"pipeline.completed","run":42}'
const now = (): number => Math.floor(Date.now() / 1000)

describe('POST /qstash signature verification', () => {
  let keys: TestApp
  let withUrl: TestApp
  let both: TestApp

  before(async () => {
    keys = await appWith({ QSTASH_CURRENT_SIGNING_KEY: TEST_KEYS.current,
      QSTASH_NEXT_SIGNING_KEY: TEST_KEYS.next })
    withUrl = await appWith({ QSTASH_CURRENT_SIGNING_KEY: TEST_KEYS.current,
      QSTASH_NEXT_SIGNING_KEY: TEST_KEYS.next, QSTASH_URL: URL_SET })
    both = await appWith({ QSTASH_CURRENT_SIGNING_KEY: TEST_KEYS.current,
      QSTASH_AUTH_TOKEN: 'bearer-secret-1' })
  })
  after(async () => {
    await Promise.all([keys.app.close(), withUrl.app.close(), both.app.close()])
  })

  const sign = (body: string, key = TEST_KEYS.current, options = {}): Record<string, string> =>
    ({ 'upstash-signature': signQstash(body, key, options) })

  test('should accept a body signed with the current key', async () => {
    const { statusCode, json } = await post(keys.app, BODY, sign(BODY))
    assert.equal(statusCode, 200)
    assert.deepEqual(Object.keys(json.results as object).sort(), ['acme', 'globex'])
  })

  test('should accept a body signed with the next key, for key rotation', async () => {
    assert.equal((await post(keys.app, BODY, sign(BODY, TEST_KEYS.next))).statusCode, 200)
  })

  test('should accept the only key configured whichever variable holds it', async () => {
    const nextOnly = await appWith({ QSTASH_NEXT_SIGNING_KEY: TEST_KEYS.next })
    try {
      assert.equal((await post(nextOnly.app, BODY, sign(BODY, TEST_KEYS.next))).statusCode, 200)
      assert.equal((await post(nextOnly.app, BODY, sign(BODY))).statusCode, 401)
    } finally {
      await nextOnly.app.close()
    }
  })

  test('should refuse a body that differs from the one signed', async () => {
    const headers = sign(BODY)
    const tampered = BODY.replace('42', '43')
    assert.equal((await post(keys.app, tampered, headers)).statusCode, 401)
  })

  test('should refuse the same JSON re-spaced, as the signature covers the exact bytes',
    async () => {
      const respaced = JSON.stringify(JSON.parse(BODY), null, 2)
      assert.equal((await post(keys.app, respaced, sign(BODY))).statusCode, 401)
    })

  test('should refuse a token for another URL when QSTASH_URL is set', async () => {
    const wrong = sign(BODY, TEST_KEYS.current, { url: 'https://evil.example.com/qstash' })
    assert.equal((await post(withUrl.app, BODY, wrong)).statusCode, 401)
    const right = sign(BODY, TEST_KEYS.current, { url: URL_SET })
    assert.equal((await post(withUrl.app, BODY, right)).statusCode, 200)
  })

  test('should refuse an expired token', async () => {
    const expired = sign(BODY, TEST_KEYS.current, { now: now() - 600, ttlSeconds: 300 })
    assert.equal((await post(keys.app, BODY, expired)).statusCode, 401)
  })

  test('should refuse a token that is not valid yet', async () => {
    const early = sign(BODY, TEST_KEYS.current, { notBeforeOffset: -120 })
    assert.equal((await post(keys.app, BODY, early)).statusCode, 401)
  })

  test('should refuse an unsigned token with alg none', async () => {
    const unsigned = sign(BODY, TEST_KEYS.current, { alg: 'none' })
    assert.equal((await post(keys.app, BODY, unsigned)).statusCode, 401)
  })

  test('should refuse a token from another issuer', async () => {
    const foreign = sign(BODY, TEST_KEYS.current, { issuer: 'Someone' })
    assert.equal((await post(keys.app, BODY, foreign)).statusCode, 401)
  })

  test('should refuse a garbage header, a missing header and a wrong key', async () => {
    assert.equal((await post(keys.app, BODY, { 'upstash-signature': 'not.a.jwt' })).statusCode,
      401)
    assert.equal((await post(keys.app, BODY, {})).statusCode, 401)
    const wrongKey = sign(BODY, 'sig_someoneElsesKey000000000000')
    assert.equal((await post(keys.app, BODY, wrongKey)).statusCode, 401)
  })

  test('should answer a generic 401 and keep the reason in the log', async () => {
    const before = keys.lines.length
    const expired = sign(BODY, TEST_KEYS.current, { now: now() - 600 })
    const { statusCode, json } = await post(keys.app, BODY, expired)

    assert.equal(statusCode, 401)
    assert.deepEqual(json, { status: 'error', error: 'UNAUTHORIZED',
      message: 'Authentication failed.' })
    const logged = keys.lines.slice(before).join('\n')
    assert.match(logged, /SIGNATURE_INVALID/)
    assert.match(logged, /exp/)
    assert.doesNotMatch(logged, new RegExp(TEST_KEYS.current))
  })

  test('should require both the bearer token and the signature when both are set',
    async () => {
      const bearer = { authorization: 'Bearer bearer-secret-1' }
      assert.equal((await post(both.app, BODY, { ...bearer, ...sign(BODY) })).statusCode, 200)
      assert.equal((await post(both.app, BODY, sign(BODY))).statusCode, 401)
      assert.equal((await post(both.app, BODY, bearer)).statusCode, 401)
      const badSignature = sign(BODY, 'sig_someoneElsesKey000000000000')
      assert.equal((await post(both.app, BODY, { ...bearer, ...badSignature })).statusCode, 401)
    })

  test('should verify an empty body signed as empty', async () => {
    const response = await keys.app.inject({ method: 'POST', url: '/qstash',
      headers: sign('') })
    assert.equal(response.statusCode, 200)
  })
})

describe('POST /qstash with QSTASH_DEV in the environment', () => {
  const saved = process.env.QSTASH_DEV
  after(() => {
    if (saved === undefined) delete process.env.QSTASH_DEV
    else process.env.QSTASH_DEV = saved
  })

  test('should keep our keys and refuse the SDK development key when QSTASH_DEV=true',
    async () => {
      process.env.QSTASH_DEV = 'true'
      const { app } = await appWith({ QSTASH_CURRENT_SIGNING_KEY: TEST_KEYS.current,
        QSTASH_NEXT_SIGNING_KEY: TEST_KEYS.next })
      try {
        const ours = { 'upstash-signature': signQstash(BODY, TEST_KEYS.current) }
        assert.equal((await post(app, BODY, ours)).statusCode, 200)
        const dev = { 'upstash-signature': signQstash(BODY, SDK_DEV_KEY) }
        assert.equal((await post(app, BODY, dev)).statusCode, 401)

        process.env.QSTASH_DEV = 'maybe'
        assert.equal((await post(app, BODY, ours)).statusCode, 200)
      } finally {
        await app.close()
      }
    })
})

describe('POST /qstash body limit', () => {
  let app: FastifyInstance
  let port: number

  before(async () => {
    ;({ app } = await appWith({ QSTASH_CURRENT_SIGNING_KEY: TEST_KEYS.current }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    port = (app.server.address() as AddressInfo).port
  })
  after(async () => { await app.close() })

  test('should answer 413 to a body over 1 MiB before reading it or checking auth',
    async () => {
      // Announce 2 MiB but send only 1 KiB: an answer proves the rest was never awaited,
      // and 413 rather than 401 (there is no signature) proves auth did not run first.
      const answer = await new Promise<{ status: number, body: string }>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/qstash',
          headers: { 'content-type': 'application/json', 'content-length': 2 * 1024 * 1024 },
          timeout: 5000 }, (res) => {
          let body = ''
          res.on('data', (chunk: Buffer) => { body += chunk.toString('utf8') })
          res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
        })
        req.on('timeout', () => { req.destroy(new Error('no answer within 5 s')) })
        req.on('error', reject)
        req.write(Buffer.alloc(1024, 0x20))
      })
      assert.equal(answer.status, 413)
      assert.doesNotMatch(answer.body, /SIGNATURE/)
    })

  test('should answer 413 to a chunked body once it passes 1 MiB', async () => {
    const response = await app.inject({ method: 'POST', url: '/qstash',
      payload: Buffer.alloc(1024 * 1024 + 1, 0x20),
      headers: { 'content-type': 'application/octet-stream' } })
    assert.equal(response.statusCode, 413)
  })
})
