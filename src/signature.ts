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
 * process environment and swap our keys for its public development keys. Both keys
 * are always handed over (one twice when only one is set), because with fewer the SDK
 * falls back to reading signing keys from the environment itself.
 *
 * Limitation: the SDK hashes the body as text, so a body that is not valid UTF-8 is
 * refused rather than verified byte for byte; QStash events are JSON, hence UTF-8.
 */
export function signatureCheck (config: Config): SignatureCheck | undefined {
  const { current, next } = config.signingKeys
  const first = current ?? next
  if (first === undefined) return undefined

  const receiver = new Receiver({
    currentSigningKey: first,
    nextSigningKey: next ?? first,
    devMode: false
  })
  const url = config.qstashUrl

  return async (signature, body) => {
    if (signature === undefined || signature.trim() === '') {
      throw refused('the request has no Upstash-Signature header')
    }
    if (!isUtf8(body)) throw refused('the body is not valid UTF-8')

    try {
      await receiver.verify({ signature, body: body.toString('utf8'), url })
    } catch (error) {
      throw refused(error instanceof Error ? error.message : String(error))
    }
  }
}

function refused (reason: string): AuthError {
  return new AuthError('SIGNATURE_INVALID', `The Upstash-Signature does not verify: ${reason}.`)
}
