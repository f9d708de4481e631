import { createHash, createHmac, randomUUID } from 'node:crypto'

/** Keys of the shape QStash hands out, for tests only. */
export const TEST_KEYS = {
  current: 'sig_testCurrentKey0123456789abcd',
  next: 'sig_testNextKey9876543210zyxwvu'
}

export interface SignOptions {
  /** The webhook URL the token names in `sub`. @default 'http://localhost/qstash' */
  url?: string
  /** Seconds since the epoch; each claim can be pushed into the past or future. */
  now?: number
  /** Seconds the token lives. @default 300 */
  ttlSeconds?: number
  /** Seconds before `now` the token becomes valid (negative: in the future). @default 0 */
  notBeforeOffset?: number
  issuer?: string
  /** The `alg` the header names; the HMAC is SHA-256 whatever it says. */
  alg?: string
  /** Sign these bytes' hash instead of the body's, to forge a mismatch. */
  hashOf?: Buffer | string
}

/**
 * An `Upstash-Signature` value built as QStash builds it: a JWT signed with HMAC
 * SHA-256 under the signing key, whose `body` claim is the base64url SHA-256 of the
 * exact body bytes.
 */
export function signQstash (body: Buffer | string, key: string, options: SignOptions = {}):
string {
  const now = options.now ?? Math.floor(Date.now() / 1000)
  const header = { alg: options.alg ?? 'HS256', typ: 'JWT' }
  const payload = {
    iss: options.issuer ?? 'Upstash',
    sub: options.url ?? 'http://localhost/qstash',
    exp: now + (options.ttlSeconds ?? 300),
    nbf: now - (options.notBeforeOffset ?? 0),
    iat: now,
    jti: `jwt_${randomUUID()}`,
    body: createHash('sha256').update(options.hashOf ?? body).digest('base64url')
  }

  const unsigned = `${encode(header)}.${encode(payload)}`
  if (header.alg === 'none') return `${unsigned}.`
  const mac = createHmac('sha256', key).update(unsigned).digest('base64url')
  return `${unsigned}.${mac}`
}

function encode (value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}
