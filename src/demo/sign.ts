import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto'

export interface SignOptions {
  /** The URL the request goes to; QStash puts it in the `sub` claim. */
  url: string
  /** The exact bytes of the body: the signature covers them, not a re-serialized copy. */
  body: string | Buffer
  /** The signing key, used as is as the HMAC secret, as QStash does. */
  signingKey: string
  /** Seconds since the epoch; defaults to now. */
  now?: number
  /** How long the signature stays valid. @default 300 */
  ttlSeconds?: number
}

/** A pair of signing keys shaped like QStash's, for the demo and tests. */
export function generateSigningKeys (): { current: string, next: string } {
  return {
    current: `sig_${randomBytes(24).toString('base64url')}`,
    next: `sig_${randomBytes(24).toString('base64url')}`
  }
}

/**
 * Signs a request the way QStash does: an HS256 JWT whose claims name Upstash as the
 * issuer, the URL as the subject and the SHA-256 of the raw body, for the
 * `Upstash-Signature` header.
 */
export function signQstashRequest (options: SignOptions): string {
  const now = options.now ?? Math.floor(Date.now() / 1000)
  const header = { alg: 'HS256', typ: 'JWT' }
  const claims = {
    iss: 'Upstash',
    sub: options.url,
    exp: now + (options.ttlSeconds ?? 300),
    nbf: now,
    iat: now,
    jti: `jwt_${randomUUID()}`,
    body: createHash('sha256').update(options.body).digest('base64url')
  }

  const unsigned = `${encode(header)}.${encode(claims)}`
  const signature = createHmac('sha256', options.signingKey).update(unsigned)
    .digest('base64url')
  return `${unsigned}.${signature}`
}

function encode (value: object): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')
}
