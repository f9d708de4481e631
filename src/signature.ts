import { isUtf8 } from 'node:buffer'
import { Receiver } from '@upstash/qstash'
import type { Config } from './config.js'
import { AuthError } from './errors.js'

/** Checks one request's `Upstash-Signature` over its raw body; throws AuthError if bad. */
export type SignatureCheck = (signature: string | undefined, body: Buffer) => Promise<void>

/**
 * A check of QStash signatures with the configured keys, or undefined when no signing
 * key is configured. Either key verifies a request, so that keys can be rotated. When
 * `QSTASH_URL` is set, the token's `sub` claim must equal it.
 *
 * Development mode is forced off: the SDK would otherwise read `QSTASH_DEV` from the
 * process environment and swap our keys for its public development keys. Each
 * Receiver gets both of its key slots filled, because with one empty the SDK falls
 * back to reading signing keys from the environment itself.
 *
 * Limitation: the SDK hashes the body as text, so a body that is not valid UTF-8 is
 * refused rather than verified byte for byte; QStash events are JSON, hence UTF-8.
 */
export function signatureCheck (config: Config): SignatureCheck | undefined {
  const { current, next } = config.signingKeys
  const keys = [...new Set([current, next].filter((key) => key !== undefined))]
  if (keys.length === 0) return undefined

  // One receiver per key, each holding its key twice, so that the log can say why each
  // key refused a token (the SDK's own rotation reports the last failure only).
  const receivers = keys.map((key) =>
    new Receiver({ currentSigningKey: key, nextSigningKey: key, devMode: false }))
  const names = keys.length === 2 ? ['current key', 'next key'] : ['key']
  const url = config.qstashUrl

  return async (signature, body) => {
    if (signature === undefined || signature.trim() === '') {
      throw refused('the request has no Upstash-Signature header')
    }
    if (!isUtf8(body)) throw refused('the body is not valid UTF-8')

    const text = body.toString('utf8')
    const reasons: string[] = []
    for (const [i, receiver] of receivers.entries()) {
      try {
        await receiver.verify({ signature, body: text, url })
        return
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error)
        reasons.push(`${names[i] ?? 'key'}: ${reason}`)
      }
    }
    throw refused(reasons.join('; '))
  }
}

function refused (reason: string): AuthError {
  return new AuthError('SIGNATURE_INVALID', `The Upstash-Signature does not verify (${reason}).`)
}
