// Temporary disk: one directory per process, one sub-directory per request, and a byte budget
// (MAX_TEMP_BYTES) that all requests share. A request's directory is removed when it ends.
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { CompactorError } from '../errors.ts'

/** The process's temporary space: a directory and the budget of bytes written under it. */
export class TempSpace {
  readonly root: string
  readonly limit: number
  private used = 0
  private readonly open = new Set<RequestTemp>()

  private constructor (root: string, limit: number) {
    this.root = root
    this.limit = limit
  }

  /** Creates the process's directory as `<prefix>XXXXXX`. */
  static async create (prefix: string, limit: number): Promise<TempSpace> {
    return new TempSpace(await mkdtemp(prefix), limit)
  }

  /** A fresh directory for one request; dispose() it when the request ends. */
  async forRequest (): Promise<RequestTemp> {
    // recreated if something removed it (a tmp cleaner), rather than failing every request after
    await mkdir(this.root, { recursive: true })
    const temp = new RequestTemp(this, await mkdtemp(join(this.root, 'req-')))
    this.open.add(temp)
    return temp
  }

  /** Bytes reserved by requests in flight. */
  get bytesInUse (): number {
    return this.used
  }

  /** Requests whose directory still exists. */
  get requestsOpen (): number {
    return this.open.size
  }

  /** Removes every request directory and the process directory. */
  async close (): Promise<void> {
    await Promise.all([...this.open].map(t => t.dispose()))
    await rm(this.root, { recursive: true, force: true })
  }

  /** @internal Takes bytes from the budget for a request: 413 if it alone is too big, 503 if others hold the space. */
  take (temp: RequestTemp, bytes: number): void {
    if (temp.reserved + bytes > this.limit) {
      throw new CompactorError('CMP_ERR_REQUEST_TOO_LARGE', `the request needs more than the ${this.limit}-byte temporary disk budget`, { limit: this.limit })
    }
    if (this.used + bytes > this.limit) {
      throw new CompactorError('CMP_ERR_TEMP_SPACE', undefined, { limit: this.limit, in_use: this.used })
    }
    this.used += bytes
  }

  /** @internal */
  release (temp: RequestTemp): void {
    this.used -= temp.reserved
    this.open.delete(temp)
  }
}

/** One request's temporary directory and its share of the budget. */
export class RequestTemp {
  readonly dir: string
  reserved = 0
  private readonly space: TempSpace
  private disposed: Promise<void> | null = null
  private files = 0

  constructor (space: TempSpace, dir: string) {
    this.space = space
    this.dir = dir
  }

  /** A new file path in the directory (names are never reused, whatever the caller's label). */
  path (suffix = '.parquet'): string {
    return join(this.dir, `in-${++this.files}${suffix}`)
  }

  /**
   * Takes bytes from the shared budget; throws 413/503 when they do not fit, and CMP_ERR_CANCELLED
   * once the directory is disposed (a fetch or upload still running for a request that has ended
   * must not hold space nobody will release).
   */
  reserve (bytes: number): void {
    if (this.disposed) throw new CompactorError('CMP_ERR_CANCELLED', 'the request has ended')
    this.space.take(this, bytes)
    this.reserved += bytes
  }

  /**
   * Streams chunks into a new file, reserving their bytes as they arrive; stops with tooLarge()
   * past maxBytes. Returns the file's path and size; a partial file is removed with the directory.
   */
  async write (source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream, maxBytes: number, tooLarge: () => Error): Promise<{ path: string, bytes: number }> {
    if (this.disposed) throw new CompactorError('CMP_ERR_CANCELLED', 'the request has ended')
    const path = this.path()
    let bytes = 0
    const meter = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        bytes += chunk.length
        if (bytes > maxBytes) return callback(tooLarge())
        try {
          this.reserve(chunk.length)
        } catch (err) {
          return callback(err as Error)
        }
        callback(null, chunk)
      },
    })
    await pipeline(source, meter, createWriteStream(path))
    return { path, bytes }
  }

  /** Removes the directory and returns its bytes to the budget; safe to call more than once. */
  dispose (): Promise<void> {
    this.disposed ??= rm(this.dir, { recursive: true, force: true }).finally(() => this.space.release(this))
    return this.disposed
  }
}
