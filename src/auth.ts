import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * Whether an Authorization header carries exactly `Bearer <token>`. Both sides are
 * hashed first so the comparison takes the same time whatever the header's length.
 */
export function hasBearerToken (header: string | undefined, token: string): boolean {
  if (header === undefined) return false
  const match = /^Bearer\s+(.+)$/i.exec(header.trim())
  if (match === null) return false

  const given = createHash('sha256').update(match[1] ?? '').digest()
  const expected = createHash('sha256').update(token).digest()
  return timingSafeEqual(given, expected)
}
