// `s3://bucket/key` segments and outputs through the AWS SDK; endpoint and credentials from config,
// so any S3-speaking store works (MinIO, R2, a test server on loopback).
import { createReadStream } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { stat } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import type { S3Client } from '@aws-sdk/client-s3'
import { CompactorError } from '../errors.ts'
import type { S3Config } from '../config.ts'
import { redactText, transferSignal, upstreamError } from './http.ts'
import type { LocalSegment, SegmentStore } from './store.ts'
import type { RequestTemp } from './temp.ts'

export interface S3Location {
  readonly bucket: string
  readonly key: string
}

/**
 * Splits `s3://bucket/key`; throws CMP_ERR_BAD_URL if either part is missing (a prefix may have an
 * empty key) or the key is not normal: an empty, `.` or `..` segment (`a//b`, `a/../b`) is refused,
 * so that a key means what it reads.
 */
export function parseS3Url (text: string, allowEmptyKey = false): S3Location {
  const bad = (): CompactorError => new CompactorError('CMP_ERR_BAD_URL', redactText(text), { url: redactText(text) })
  const match = /^s3:\/\/([^/?#]+)\/?([^?#]*)$/.exec(text)
  if (!match || match[1].length < 3 || (!allowEmptyKey && match[2] === '')) throw bad()
  let key: string
  try {
    key = decodeURIComponent(match[2])
  } catch {
    throw bad()
  }
  const segments = key.replace(/\/$/, '').split('/')
  if (key !== '' && segments.some(s => s === '' || s === '.' || s === '..')) throw bad()
  return { bucket: match[1], key }
}

type Sdk = typeof import('@aws-sdk/client-s3')

/**
 * An S3 bucket store: segments are downloaded to temporary files, outputs uploaded from them. The
 * AWS SDK is loaded on first use: it is ~35 MB of resident memory a service without s3:// URLs
 * does not need.
 */
export class S3Store implements SegmentStore {
  readonly config: S3Config
  private client: S3Client | null = null
  private sdk: Sdk | null = null

  constructor (config: S3Config) {
    this.config = config
  }

  /** Checks a segment URL's form and bucket (S3_ALLOWED_BUCKETS); its label is the URL. */
  checkUrl (url: string): string {
    this.location(url)
    return url
  }

  /** Checks an output prefix's form (`s3://bucket` or `s3://bucket/prefix`) and bucket. */
  async checkPrefix (prefixUrl: string): Promise<void> {
    this.location(prefixUrl, true)
  }

  /** A URL's bucket and key, the bucket checked against S3_ALLOWED_BUCKETS (403 CMP_ERR_BUCKET_FORBIDDEN). */
  private location (url: string, prefix = false): S3Location {
    const location = parseS3Url(url, prefix)
    const allowed = this.config.allowedBuckets
    if (allowed.length > 0 && !allowed.includes(location.bucket)) {
      throw new CompactorError('CMP_ERR_BUCKET_FORBIDDEN', location.bucket, { bucket: location.bucket })
    }
    return location
  }

  /** Downloads a segment into the request's temporary directory; returns its path and size. */
  async fetch (url: string, label: string, temp: RequestTemp, cancel?: AbortSignal): Promise<LocalSegment> {
    const { bucket, key } = this.location(url)
    const { maxBytes } = this.config
    const tooLarge = (): CompactorError => new CompactorError('CMP_ERR_FILE_TOO_LARGE', `${label} exceeds ${maxBytes} bytes`, { file: label, limit: maxBytes })
    const signal = transferSignal(this.config.timeoutMs, cancel)
    try {
      const { client, sdk } = await this.s3()
      const object = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal })
      const body = object.Body as Readable | undefined
      if (!body) throw new CompactorError('CMP_ERR_UPSTREAM', `${label}: empty response`, { file: label })
      if ((object.ContentLength ?? 0) > maxBytes) {
        body.destroy()
        throw tooLarge()
      }
      return await temp.write(body, maxBytes, tooLarge)
    } catch (err) {
      if (cancel?.aborted) throw upstreamError(err, label, signal, cancel)
      if (this.isServiceError(err)) {
        const status = err.$metadata.httpStatusCode
        if (err.name === 'NoSuchKey' || err.name === 'NoSuchBucket' || err.name === 'NotFound' || status === 404) {
          throw new CompactorError('CMP_ERR_INPUT_NOT_FOUND', label, { file: label })
        }
        throw new CompactorError('CMP_ERR_UPSTREAM', `${label}: ${err.name}`, { file: label, upstream_status: status })
      }
      throw upstreamError(err, label, signal, cancel)
    }
  }

  /**
   * Places a local file at `<prefix>/<key>` and returns the object's URL. The bytes go to a key
   * unique to this call first; then, unless the final key already holds an object of the same size
   * and ETag (the same bytes: a retry, or an identical request beside this one), it is copied into
   * place; the unique key is deleted whatever happens. Two writers of the same key at once race
   * (S3 has no create-if-absent copy everywhere); outputs are deterministic, so they race to the
   * same bytes.
   */
  async put (prefixUrl: string, key: string, source: string, cancel?: AbortSignal): Promise<string> {
    const prefix = this.location(prefixUrl, true)
    const objectKey = prefix.key === '' ? key : `${prefix.key.replace(/\/$/, '')}/${key}`
    const staging = `${objectKey}.${randomUUID()}.partial`
    const label = `s3://${prefix.bucket}/${objectKey}`
    const { size } = await stat(source)
    const signal = transferSignal(this.config.timeoutMs, cancel)
    const { client, sdk } = await this.s3()
    try {
      const written = await client.send(new sdk.PutObjectCommand({
        Bucket: prefix.bucket, Key: staging, Body: createReadStream(source), ContentLength: size, ContentType: 'application/vnd.apache.parquet',
      }), { abortSignal: signal })
      const existing = await this.head(prefix.bucket, objectKey, signal)
      if (existing === null) {
        await client.send(new sdk.CopyObjectCommand({ Bucket: prefix.bucket, Key: objectKey, CopySource: `${prefix.bucket}/${staging.split('/').map(encodeURIComponent).join('/')}` }), { abortSignal: signal })
      } else if (existing.size !== size || existing.etag !== written.ETag) {
        throw new CompactorError('CMP_ERR_OUTPUT', `${label} already holds a different object`, { key })
      }
    } catch (err) {
      if (cancel?.aborted) throw upstreamError(err, label, signal, cancel)
      if (err instanceof CompactorError) throw err
      if (this.isServiceError(err)) {
        throw new CompactorError('CMP_ERR_UPSTREAM', `storing ${label}: ${err.name}`, { file: label, upstream_status: err.$metadata.httpStatusCode })
      }
      throw upstreamError(err, label, signal, cancel)
    } finally {
      await client.send(new sdk.DeleteObjectCommand({ Bucket: prefix.bucket, Key: staging })).catch(() => {})
    }
    return label
  }

  /** An object's size and ETag, or null when there is none. */
  private async head (bucket: string, key: string, signal: AbortSignal): Promise<{ size: number, etag: string | undefined } | null> {
    const { client, sdk } = await this.s3()
    try {
      const head = await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal })
      return { size: head.ContentLength ?? -1, etag: head.ETag }
    } catch (err) {
      if (this.isServiceError(err) && (err.name === 'NotFound' || err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404)) return null
      throw err
    }
  }

  /** Releases the SDK's connections. */
  close (): void {
    this.client?.destroy()
    this.client = null
  }

  /** An error S3 answered (as opposed to a network failure or a timeout). */
  private isServiceError (err: unknown): err is InstanceType<Sdk['S3ServiceException']> {
    return this.sdk !== null && err instanceof this.sdk.S3ServiceException
  }

  private async s3 (): Promise<{ client: S3Client, sdk: Sdk }> {
    const { endpoint, region, accessKeyId, secretAccessKey, forcePathStyle } = this.config
    const sdk = this.sdk ??= await import('@aws-sdk/client-s3')
    this.client ??= new sdk.S3Client({
      endpoint,
      region,
      forcePathStyle,
      credentials: accessKeyId !== undefined && secretAccessKey !== undefined ? { accessKeyId, secretAccessKey } : undefined,
      // checksums only where S3 requires them: S3-compatible stores do not all speak the newer trailers
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 2,
    })
    return { client: this.client, sdk }
  }
}
