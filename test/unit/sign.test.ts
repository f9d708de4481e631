import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Receiver } from '@upstash/qstash'
import { generateSigningKeys, signQstashRequest } from '../../src/demo/sign.js'

const URL = 'http://127.0.0.1:8080/qstash'
const BODY = '{"event":"demo","n":1}'

/** Development mode off, as the service runs it: a stray QSTASH_DEV must not matter. */
function receiverFor (keys: { current: string, next: string }): Receiver {
  return new Receiver({ currentSigningKey: keys.current, nextSigningKey: keys.next,
    devMode: false })
}

function claimsOf (jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1] ?? ''
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>
}

describe('signQstashRequest', () => {
  it('should sign a request that the QStash Receiver accepts with the current key', async () => {
    const keys = generateSigningKeys()
    const receiver = receiverFor(keys)
    const signature = signQstashRequest({ url: URL, body: BODY, signingKey: keys.current })

    assert.equal(await receiver.verify({ signature, body: BODY, url: URL }), true)
  })

  it('should be accepted with the next key, as after a key rotation', async () => {
    const keys = generateSigningKeys()
    const receiver = receiverFor(keys)
    const signature = signQstashRequest({ url: URL, body: BODY, signingKey: keys.next })

    assert.equal(await receiver.verify({ signature, body: BODY, url: URL }), true)
  })

  it('should be refused when the body, the URL or the key differs', async () => {
    const keys = generateSigningKeys()
    const other = generateSigningKeys()
    const receiver = receiverFor(keys)
    const signature = signQstashRequest({ url: URL, body: BODY, signingKey: keys.current })
    const forged = signQstashRequest({ url: URL, body: BODY, signingKey: other.current })

    await assert.rejects(receiver.verify({ signature, body: `${BODY} `, url: URL }))
    await assert.rejects(receiver.verify({ signature, body: BODY, url: `${URL}x` }))
    await assert.rejects(receiver.verify({ signature: forged, body: BODY, url: URL }))
  })

  it('should be refused once expired', async () => {
    const keys = generateSigningKeys()
    const receiver = receiverFor(keys)
    const past = Math.floor(Date.now() / 1000) - 3600
    const signature = signQstashRequest({ url: URL, body: BODY, signingKey: keys.current,
      now: past, ttlSeconds: 60 })

    await assert.rejects(receiver.verify({ signature, body: BODY, url: URL }))
  })

  it('should carry the claims QStash sets, with a fresh jti each time', () => {
    const keys = generateSigningKeys()
    const a = claimsOf(signQstashRequest({ url: URL, body: BODY, signingKey: keys.current,
      now: 1_800_000_000 }))
    const b = claimsOf(signQstashRequest({ url: URL, body: BODY, signingKey: keys.current }))

    assert.equal(a.iss, 'Upstash')
    assert.equal(a.sub, URL)
    assert.equal(a.iat, 1_800_000_000)
    assert.equal(a.nbf, 1_800_000_000)
    assert.equal(a.exp, 1_800_000_300)
    assert.notEqual(a.jti, b.jti)
    assert.notEqual(keys.current, keys.next)
  })
})
