// `http(s):` segments (presigned object-store URLs work this way): only from allowed hosts, redirects
// followed by hand and only to allowed hosts, a size limit while streaming and a time limit overall.
import { Readable } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { CompactorError, asCompactorError } from '../errors.ts'
import type { HttpSourceConfig } from '../config.ts'
import type { LocalSegment, SegmentStore } from './store.ts'
import type { RequestTemp } from './temp.ts'

/** Whether a URL's host is on the allow-list (`host`, `host:port`, or `*.domain` for its sub-domains). */
export function hostAllowed (url: URL, allowList: readonly string[]): boolean {
  const host = url.hostname.toLowerCase()
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  return allowList.some(entry => {
    const colon = entry.lastIndexOf(':')
    const hasPort = colon > 0 && !entry.endsWith(']') && /^\d+$/.test(entry.slice(colon + 1))
    const name = hasPort ? entry.slice(0, colon) : entry
    if (hasPort && entry.slice(colon + 1) !== port) return false
    return name.startsWith('*.') ? host.endsWith(name.slice(1)) : host === name
  })
}

/** A URL with its query string and credentials left out: what logs and reports may show. */
export function redactUrl (url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`
}

/**
 * Any URL-like text as errors and logs may show it: no userinfo (`user:password@`), no query or
 * fragment (presigned signatures), at most 256 characters. For text that does not even parse.
 */
export function redactText (text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1').replace(/[?#].*$/s, '').slice(0, 256)
}

/** Parses an http(s) URL and checks its host, before anything is sent: 400 if malformed, 403 if not allowed. */
export function checkHttpUrl (text: string, allowList: readonly string[]): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new CompactorError('CMP_ERR_BAD_URL', redactText(text), { url: redactText(text) })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CompactorError('CMP_ERR_BAD_URL', redactUrl(url), { url: redactUrl(url) })
  if (!hostAllowed(url, allowList)) throw new CompactorError('CMP_ERR_HOST_FORBIDDEN', url.host, { url: redactUrl(url), host: url.host })
  return url
}

/** Downloads an http(s) segment into the request's temporary directory; returns its path and size. */
export async function fetchHttpSegment (start: URL, label: string, config: HttpSourceConfig, temp: RequestTemp, cancel?: AbortSignal): Promise<{ path: string, bytes: number }> {
  const signal = transferSignal(config.timeoutMs, cancel)
  const tooLarge = (): CompactorError =>
    new CompactorError('CMP_ERR_FILE_TOO_LARGE', `${label} exceeds ${config.maxBytes} bytes`, { file: label, limit: config.maxBytes })
  try {
    let url = start
    for (let redirects = 0; ; redirects++) {
      const response = await fetch(url, { redirect: 'manual', signal })
      if (response.status >= 300 && response.status < 400 && response.headers.has('location')) {
        await response.body?.cancel()
        if (redirects === config.maxRedirects) {
          throw new CompactorError('CMP_ERR_UPSTREAM', `${label}: more than ${config.maxRedirects} redirects`, { file: label })
        }
        url = checkHttpUrl(new URL(response.headers.get('location')!, url).href, config.allowedHosts)
        continue
      }
      if (response.status === 404 || response.status === 410) {
        await response.body?.cancel()
        throw new CompactorError('CMP_ERR_INPUT_NOT_FOUND', label, { file: label, upstream_status: response.status })
      }
      if (!response.ok || response.body === null) {
        await response.body?.cancel()
        throw new CompactorError('CMP_ERR_UPSTREAM', `${label}: HTTP ${response.status}`, { file: label, upstream_status: response.status })
      }
      const length = Number(response.headers.get('content-length') ?? NaN)
      if (length > config.maxBytes) {
        await response.body.cancel()
        throw tooLarge()
      }
      return await temp.write(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), config.maxBytes, tooLarge)
    }
  } catch (err) {
    throw upstreamError(err, label, signal, cancel)
  }
}

/** A transfer's signal: its own time limit, or the request's cancellation, whichever comes first. */
export function transferSignal (timeoutMs: number, cancel: AbortSignal | undefined): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs)
  return cancel ? AbortSignal.any([timeout, cancel]) : timeout
}

/**
 * Maps a transfer failure to the catalog: the request's own cancellation as its reason, timeouts
 * 504, everything else from upstream 502.
 */
export function upstreamError (err: unknown, label: string, signal: AbortSignal, cancel?: AbortSignal): CompactorError {
  if (cancel?.aborted) return asCompactorError(cancel.reason, 'CMP_ERR_CANCELLED', label)
  if (err instanceof CompactorError) return err
  if (signal.aborted || (err as Error).name === 'TimeoutError') {
    return new CompactorError('CMP_ERR_UPSTREAM_TIMEOUT', label, { file: label })
  }
  const cause = (err as { cause?: { code?: string, message?: string } }).cause
  const reason = cause?.code ?? cause?.message ?? (err as Error).message
  return new CompactorError('CMP_ERR_UPSTREAM', `${label} (${reason})`, { file: label }, { cause: err })
}

/** `http(s):` segments from the hosts of the allow-list: read only, nothing is stored over http. */
export class HttpStore implements SegmentStore {
  private readonly config: HttpSourceConfig

  constructor (config: HttpSourceConfig) {
    this.config = config
  }

  checkUrl (url: string): string {
    return redactUrl(checkHttpUrl(url, this.config.allowedHosts))
  }

  fetch (url: string, label: string, temp: RequestTemp, signal?: AbortSignal): Promise<LocalSegment> {
    return fetchHttpSegment(new URL(url), label, this.config, temp, signal)
  }

  async checkPrefix (prefixUrl: string): Promise<void> {
    throw new CompactorError('CMP_ERR_BAD_URL', `outputs can be stored under file: or s3:// prefixes, not ${redactPrefix(prefixUrl)}`, { url: redactPrefix(prefixUrl) })
  }

  /** Never stores: CMP_ERR_BAD_URL, as checkPrefix. */
  async put (prefixUrl: string): Promise<string> {
    await this.checkPrefix(prefixUrl)
    return prefixUrl
  }
}

/** An http prefix as errors show it: without credentials or query. */
function redactPrefix (text: string): string {
  try {
    return redactUrl(new URL(text))
  } catch {
    return redactText(text)
  }
}
