// Where segments come from and compacted files go to, by URL scheme: `file:` (the storage root),
// `http(s):` (allowed hosts, read only) and `s3://` (the AWS SDK).
import type { Config } from '../config.ts'
import { CompactorError } from '../errors.ts'
import { FileStore } from './file.ts'
import { checkHttpUrl, fetchHttpSegment, redactUrl } from './http.ts'
import { S3Store, parseS3Url } from './s3.ts'
import type { RequestTemp } from './temp.ts'

export type Scheme = 'file' | 'http' | 's3'

/** A segment on local disk, ready for the engine. */
export interface LocalSegment {
  readonly path: string
  readonly bytes: number
}

/** The storage adapters of the service, chosen by URL scheme. */
export class Storage {
  readonly files: FileStore
  readonly s3: S3Store
  private readonly config: Config

  constructor (config: Config) {
    this.config = config
    this.files = new FileStore(config.storageRoot)
    this.s3 = new S3Store(config.s3)
  }

  /**
   * Checks a segment URL without touching the file or the host: its scheme, its form, the storage
   * root and the host allow-list. Returns the label errors and reports name it by (no query string).
   */
  checkSegmentUrl (url: string): string {
    switch (schemeOf(url)) {
      case 'file':
        this.files.pathOf(url)
        return url
      case 'http':
        return redactUrl(checkHttpUrl(url, this.config.http.allowedHosts))
      case 's3':
        parseS3Url(url)
        return url
    }
  }

  /** Brings a checked segment to local disk: a file under the root is used in place, others are downloaded. */
  async fetchSegment (url: string, label: string, temp: RequestTemp): Promise<LocalSegment> {
    switch (schemeOf(url)) {
      case 'file': return await this.files.segmentPath(url, label)
      case 'http': return await fetchHttpSegment(new URL(url), label, this.config.http, temp)
      case 's3': return await this.s3.fetchSegment(url, label, temp)
    }
  }

  /** Checks an output URL prefix (`file:` or `s3://`) without writing anything. */
  checkOutputPrefix (url: string): void {
    const scheme = schemeOf(url)
    if (scheme === 'file') this.files.pathOf(url)
    else if (scheme === 's3') parseS3Url(url, true)
    else throw new CompactorError('CMP_ERR_BAD_URL', `outputs can be stored under file: or s3:// prefixes, not ${url}`, { field: 'output.url_prefix', url })
  }

  /** Stores a local file as `<prefix>/<key>`; returns where it went (a path or an s3:// URL). */
  async put (prefix: string, key: string, source: string): Promise<string> {
    return schemeOf(prefix) === 's3' ? await this.s3.put(prefix, key, source) : await this.files.put(prefix, key, source)
  }

  /** Removes `<prefix>/<key>`, to undo a partly stored result. */
  async remove (prefix: string, key: string): Promise<void> {
    if (schemeOf(prefix) === 's3') await this.s3.remove(prefix, key)
    else await this.files.remove(prefix, key)
  }

  close (): void {
    this.s3.close()
  }
}

/** The adapter a URL belongs to; throws CMP_ERR_BAD_URL for any other scheme. */
export function schemeOf (url: string): Scheme {
  if (url.startsWith('file:')) return 'file'
  if (url.startsWith('s3://')) return 's3'
  if (/^https?:\/\//i.test(url)) return 'http'
  throw new CompactorError('CMP_ERR_BAD_URL', `unsupported scheme: ${url.slice(0, 64)}`, { url: url.slice(0, 256) })
}
