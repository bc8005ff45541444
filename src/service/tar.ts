// A streaming tar (POSIX ustar) writer: each entry is a 512-byte header, the bytes, zero padding to
// a 512-byte boundary; two zero blocks end the archive. Enough for flat file names, no dependency.
import { createReadStream } from 'node:fs'
import type { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

const BLOCK = 512

/** The ustar header of a regular file (name at most 100 bytes, size below 8 GiB). */
export function tarHeader (name: string, size: number, mtimeSeconds: number): Buffer {
  const header = Buffer.alloc(BLOCK)
  const nameBytes = Buffer.from(name, 'utf8')
  if (nameBytes.length > 100) throw new Error(`tar entry name longer than 100 bytes: ${name}`)
  if (!(Number.isSafeInteger(size) && size >= 0 && size < 8 ** 11)) throw new Error(`tar entry size out of range: ${size}`)
  nameBytes.copy(header, 0)
  octal(header, 100, 8, 0o644) // mode
  octal(header, 108, 8, 0) // uid
  octal(header, 116, 8, 0) // gid
  octal(header, 124, 12, size)
  octal(header, 136, 12, Math.floor(mtimeSeconds))
  header.fill(0x20, 148, 156) // checksum field counts as spaces while summing
  header.write('0', 156, 'latin1') // regular file
  header.write('ustar\u000000', 257, 'latin1') // magic "ustar\0" + version "00"
  let sum = 0
  for (const byte of header) sum += byte
  header.write(sum.toString(8).padStart(6, '0') + '\u0000 ', 148, 'latin1')
  return header
}

/** Zero bytes that pad an entry of `size` bytes to the block boundary. */
export function tarPadding (size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK)
}

/** The end-of-archive marker: two zero blocks. */
export const TAR_END = Buffer.alloc(2 * BLOCK)

/** Writes tar entries to a stream, with its backpressure; the caller ends the stream after finish(). */
export class TarWriter {
  private readonly out: Writable
  private readonly mtime = Math.floor(Date.now() / 1000)

  constructor (out: Writable) {
    this.out = out
  }

  /** Appends a file from disk as an entry; resolves once its bytes are handed to the stream. */
  async addFile (name: string, path: string, size: number): Promise<void> {
    const { mtime } = this
    await pipeline(async function * () {
      yield tarHeader(name, size, mtime)
      let read = 0
      for await (const chunk of createReadStream(path)) {
        read += (chunk as Buffer).length
        yield chunk as Buffer
      }
      if (read !== size) throw new Error(`${name} changed size while being archived (${size} -> ${read} bytes)`)
      yield tarPadding(size)
    }, this.out, { end: false })
  }

  /** Appends bytes as an entry. */
  async addBytes (name: string, data: Uint8Array): Promise<void> {
    const { mtime } = this
    await pipeline(async function * () {
      yield tarHeader(name, data.length, mtime)
      yield data
      yield tarPadding(data.length)
    }, this.out, { end: false })
  }

  /** Writes the end-of-archive marker. */
  async finish (): Promise<void> {
    await pipeline(async function * () { yield TAR_END }, this.out, { end: false })
  }
}

function octal (header: Buffer, offset: number, length: number, value: number): void {
  header.write(value.toString(8).padStart(length - 1, '0') + '\u0000', offset, length, 'latin1')
}
