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

/**
 * Guards the debug endpoints (profiles, runtime stats): with a DEBUG_TOKEN, the bearer token is
 * required from anyone; without one, only loopback connections are answered (403 otherwise). Behind
 * a mesh sidecar every connection is loopback, so the token must be set there.
 */
export function checkDebugAccess (authorization: string | undefined, remoteAddress: string | undefined, debugToken: string | undefined): void {
  if (debugToken !== undefined) return checkBearer(authorization, debugToken)
  if (!isLoopback(remoteAddress)) {
    throw new CompactorError('CMP_ERR_DEBUG_FORBIDDEN', `connection from ${remoteAddress ?? 'an unknown address'}`)
  }
}

/** 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6. */
export function isLoopback (address: string | undefined): boolean {
  if (address === undefined) return false
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address
  return address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)
}
