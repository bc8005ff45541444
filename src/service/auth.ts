// The optional API token of POST /compact: `Authorization: Bearer <token>`, compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto'
import { CompactorError } from '../errors.ts'

/** Throws CMP_ERR_UNAUTHORIZED unless the Authorization header carries the token. */
export function checkBearer (authorization: string | undefined, token: string): void {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')
  // hashing first makes both sides the same length, so the comparison time says nothing about the token
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest()
  if (!match || !timingSafeEqual(digest(match[1]), digest(token))) {
    throw new CompactorError('CMP_ERR_UNAUTHORIZED', authorization === undefined ? 'no Authorization header' : 'wrong token')
  }
}
