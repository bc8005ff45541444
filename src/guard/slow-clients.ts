// Clients too slow to wait for. Node ends a request not received within HEADERS_TIMEOUT_MS or
// REQUEST_TIMEOUT_MS (app.ts answers it 408 and marks its socket here); an upload must also bring at
// least MIN_UPLOAD_BYTES_PER_S in each UPLOAD_RATE_WINDOW_MS until its body is complete, so that a
// client trickling bytes cannot hold an upload slot, a temporary directory and a socket for long.
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { CompactorError } from '../errors.ts'

/** Sockets whose request Node timed out: the route's clean-up reports CMP_ERR_REQUEST_TIMEOUT, not a client that left. */
export const timedOutSockets = new WeakSet<Socket>()

/**
 * Watches a request's socket while its body arrives; calls onSlow once with a 408
 * CMP_ERR_REQUEST_TIMEOUT when a window brought fewer bytes than the minimum. Returns the function
 * that stops watching (also stopped by the body's end or the request's close). A minimum of 0 watches nothing.
 */
export function watchUploadRate (request: IncomingMessage, minBytesPerS: number, windowMs: number, onSlow: (err: CompactorError) => void): () => void {
  const socket = request.socket
  // an injected request (tests) has no real socket to measure
  if (minBytesPerS === 0 || request.complete || typeof socket?.bytesRead !== 'number') return () => {}
  const minBytes = Math.ceil(minBytesPerS * windowMs / 1000)
  let last = socket.bytesRead
  const timer = setInterval(() => {
    const read = socket.bytesRead - last
    last = socket.bytesRead
    if (read >= minBytes || request.complete) return
    stop()
    onSlow(new CompactorError('CMP_ERR_REQUEST_TIMEOUT',
      `the upload brought ${read} bytes in ${windowMs / 1000} s; MIN_UPLOAD_BYTES_PER_S is ${minBytesPerS}`,
      { min_bytes_per_s: minBytesPerS, window_ms: windowMs, bytes: read }))
  }, windowMs)
  timer.unref()
  const stop = (): void => {
    clearInterval(timer)
    request.off('end', stop)
    request.off('close', stop)
  }
  request.once('end', stop)
  request.once('close', stop)
  return stop
}
