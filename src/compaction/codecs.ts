// Page codecs for reading and writing parquet: ZSTD through native zstd (bounded output buffers),
// Snappy, Gzip, Brotli and LZ4 for reading. Every decompressor refuses a page whose declared size
// exceeds the cap before allocating it, so a hostile header cannot drive an allocation.
import { createRequire } from 'node:module'
import { gunzipSync } from 'node:zlib'
import { snappyUncompress } from 'hyparquet'
import { compressors as fallbackCompressors } from 'hyparquet-compressors'
import type { Compressors } from 'hyparquet'

const require = createRequire(import.meta.url)
const zstd = require('zstd-napi/binding.js') as typeof import('zstd-napi/binding.js')

/** Largest page (uncompressed) the reader accepts: real pages are at most a few MiB. */
export const MAX_PAGE_BYTES = 256 * 1024 * 1024

/**
 * ZSTD level for output files. Bench `wide` (13 files): 23.31 MB at 3 (zstd's default and
 * DuckDB's; 1.01x DuckDB's own file), 22.99 MB at 5, 22.87 MB at 6, 22.84 MB at 7; `default`:
 * 22.50 MB at 3, 22.23 MB at 6. Level 6 against 3 costs 1-5 % of compaction time (`bash
 * bench/ab.sh`: default 1.05x, rollup 1.01x, wide 1.03x; BENCHMARKS.md).
 */
export const ZSTD_LEVEL = 6

/** A page header declared more uncompressed bytes than the reader accepts. */
export class PageSizeError extends Error {
  override name = 'PageSizeError'
}

function checkedSize (outputLength: number): number {
  if (!Number.isInteger(outputLength) || outputLength < 0 || outputLength > MAX_PAGE_BYTES) {
    throw new PageSizeError(`page claims ${outputLength} uncompressed bytes (limit ${MAX_PAGE_BYTES})`)
  }
  return outputLength
}

const dctx = new zstd.DCtx()
const cctx = new zstd.CCtx()

/** Decompressors for hyparquet: each allocates exactly the declared page size, after checking it. */
export const readCompressors: Compressors = {
  ZSTD (input, outputLength) {
    const out = new Uint8Array(checkedSize(outputLength))
    const n = dctx.decompress(out, input)
    if (n !== outputLength) throw new Error(`zstd page decompressed to ${n} bytes, header says ${outputLength}`)
    return out
  },
  SNAPPY (input, outputLength) {
    const out = new Uint8Array(checkedSize(outputLength))
    snappyUncompress(input, out)
    return out
  },
  GZIP (input, outputLength) {
    const out = gunzipSync(input, { maxOutputLength: Math.max(1, checkedSize(outputLength)) })
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
  },
  BROTLI (input, outputLength) {
    return fallbackCompressors.BROTLI!(input, checkedSize(outputLength))
  },
  LZ4 (input, outputLength) {
    return fallbackCompressors.LZ4!(input, checkedSize(outputLength))
  },
  LZ4_RAW (input, outputLength) {
    return fallbackCompressors.LZ4_RAW!(input, checkedSize(outputLength))
  },
}

/** ZSTD compressor for hyparquet-writer: returns the compressed page (at ZSTD_LEVEL unless told). */
export function zstdCompress (input: Uint8Array, level = ZSTD_LEVEL): Uint8Array {
  const out = new Uint8Array(zstd.compressBound(input.length))
  const n = cctx.compress(out, input, level)
  return out.subarray(0, n)
}
