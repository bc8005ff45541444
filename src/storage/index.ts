// Where segments come from and compacted files go to, by URL scheme: `file:` (the storage root),
// `http(s):` (allowed hosts, read only) and `s3://` (the AWS SDK): one SegmentStore per scheme.
import type { Config } from '../config.ts'
import { CompactorError } from '../errors.ts'
import { FileStore } from './file.ts'
import { HttpStore, redactText } from './http.ts'
import { S3Store } from './s3.ts'
import type { SegmentStore } from './store.ts'

export type Scheme = 'file' | 'http' | 's3'
export type { LocalSegment, SegmentStore } from './store.ts'

/** The service's stores, one per URL scheme. */
export class Storage {
  readonly files: FileStore
  readonly s3: S3Store
  private readonly stores: Readonly<Record<Scheme, SegmentStore>>

  constructor (config: Config) {
    this.files = new FileStore(config.storageRoot)
    this.s3 = new S3Store(config.s3)
    this.stores = { file: this.files, http: new HttpStore(config.http), s3: this.s3 }
  }

  /** The store of a URL's scheme; CMP_ERR_BAD_URL for any other scheme. */
  storeFor (url: string): SegmentStore {
    return this.stores[schemeOf(url)]
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
  throw new CompactorError('CMP_ERR_BAD_URL', `unsupported scheme: ${redactText(url).slice(0, 64)}`, { url: redactText(url) })
}
