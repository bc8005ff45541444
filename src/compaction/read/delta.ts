// Decoders of DELTA_BINARY_PACKED (64-bit values into 32-bit word pairs: no BigInt per value),
// DELTA_LENGTH_BYTE_ARRAY's lengths and BYTE_STREAM_SPLIT, with the discipline of rle.ts: every
// count is bounded by the output the caller sized, every read by the bytes present, and a header
// that lies (a value count that is not the page's, a block layout the format does not allow, a
// bit width past 64, a miniblock past the end of the page) is an Error, never a long loop or an
// allocation of its size.

export interface DeltaReader { view: DataView, offset: number }

/** Largest DELTA block the reader accepts (writers use 128; the format allows any multiple of 128). */
export const MAX_DELTA_BLOCK = 65536

// An unsigned LEB128 varint below 2^53 (header fields); Error when the bytes end or it runs long.
function readUleb (bytes: Uint8Array, reader: DeltaReader, end: number): number {
  let value = 0
  for (let shift = 0; shift < 53; shift += 7) {
    if (reader.offset >= end) throw new Error('DELTA header ends early')
    const b = bytes[reader.offset++]
    value += (b & 0x7f) * 2 ** shift
    if ((b & 0x80) === 0) return value
  }
  throw new Error('DELTA header varint too long')
}

// A zig-zag LEB128 varint of a signed 64-bit value (at most 10 bytes) into words[0] (lo), words[1] (hi).
function readZigzag64 (bytes: Uint8Array, reader: DeltaReader, end: number, words: Int32Array): void {
  let lo = 0
  let hi = 0
  for (let shift = 0; ; shift += 7) {
    if (shift > 63) throw new Error('DELTA varint too long')
    if (reader.offset >= end) throw new Error('DELTA data ends early')
    const b = bytes[reader.offset++]
    const bits = b & 0x7f
    if (shift < 32) {
      lo |= bits << shift
      if (shift > 25) hi |= bits >>> (32 - shift)
    } else {
      hi |= bits << (shift - 32)
    }
    if ((b & 0x80) === 0) break
  }
  // zig-zag: (u >>> 1) ^ -(u & 1) over 64 bits
  const negate = -(lo & 1)
  words[0] = ((lo >>> 1) | (hi << 31)) ^ negate
  words[1] = (hi >>> 1) ^ negate
}

const scratchWords = new Int32Array(2)

/**
 * Decodes `count` DELTA_BINARY_PACKED values into out[2 * at ...] as (lo, hi) word pairs, from
 * reader.offset to at most `end` (exclusive; default the view's end). The header must declare
 * exactly `count` values. Leaves reader.offset after the last miniblock read (miniblocks whole,
 * padding included, as the format writes them), where DELTA_LENGTH_BYTE_ARRAY's bytes begin.
 * Values wrap modulo 2^64; a 32-bit column takes the low words.
 */
export function readDeltaBinaryPacked (reader: DeltaReader, count: number, out: Int32Array, at = 0, end = reader.view.byteLength): void {
  if (2 * (at + count) > out.length) throw new Error('DELTA output too small') // the caller's mistake, not the data's
  const bytes = new Uint8Array(reader.view.buffer, reader.view.byteOffset, reader.view.byteLength)
  const blockSize = readUleb(bytes, reader, end)
  const miniblocks = readUleb(bytes, reader, end)
  const total = readUleb(bytes, reader, end)
  if (!(blockSize > 0 && blockSize % 128 === 0 && blockSize <= MAX_DELTA_BLOCK)) throw new Error(`DELTA block size ${blockSize}`)
  if (!(miniblocks > 0 && blockSize % miniblocks === 0 && (blockSize / miniblocks) % 32 === 0)) throw new Error(`DELTA miniblocks ${miniblocks} in a block of ${blockSize}`)
  if (total !== count) throw new Error(`DELTA header claims ${total} values, the page has ${count}`)
  const perMiniblock = blockSize / miniblocks
  readZigzag64(bytes, reader, end, scratchWords)
  if (count === 0) return
  let lo = scratchWords[0] >>> 0
  let hi = scratchWords[1]
  out[2 * at] = lo | 0
  out[2 * at + 1] = hi
  let k = 1
  while (k < count) {
    readZigzag64(bytes, reader, end, scratchWords)
    const minLo = scratchWords[0] >>> 0
    const minHi = scratchWords[1]
    const widthsAt = reader.offset
    if (widthsAt + miniblocks > end) throw new Error('DELTA miniblock widths overrun the page')
    let pos = widthsAt + miniblocks
    for (let m = 0; m < miniblocks && k < count; m++) {
      const width = bytes[widthsAt + m]
      if (width > 64) throw new Error(`DELTA bit width ${width}`)
      const take = Math.min(perMiniblock, count - k)
      const size = perMiniblock * width / 8
      if (pos + size > end) throw new Error('DELTA miniblock overruns the page')
      for (let j = 0; j < take; j++) {
        // the packed value's words, then value += minDelta + packed (mod 2^64)
        let plo = 0
        let phi = 0
        if (width > 0) {
          const bit = j * width
          if (width <= 32) plo = bitsAt(bytes, pos, bit, width)
          else {
            plo = bitsAt(bytes, pos, bit, 32)
            phi = bitsAt(bytes, pos, bit + 32, width - 32)
          }
        }
        const sum = lo + minLo + plo
        const carry = sum >= 8589934592 ? 2 : sum >= 4294967296 ? 1 : 0
        lo = sum - carry * 4294967296
        hi = (hi + minHi + phi + carry) | 0
        const o = 2 * (at + k + j)
        out[o] = lo | 0
        out[o + 1] = hi
      }
      k += take
      pos += size
    }
    reader.offset = pos
  }
}

// `width` (1..32) bits at bit offset `bit` of bytes[pos...], least significant first, as an unsigned number.
function bitsAt (bytes: Uint8Array, pos: number, bit: number, width: number): number {
  const b = pos + (bit >>> 3)
  const shift = bit & 7
  // up to 5 bytes hold shift + width <= 39 bits; bytes past the array read as 0 (the caller checked the miniblock is there)
  const low = ((bytes[b] | 0) | ((bytes[b + 1] | 0) << 8) | ((bytes[b + 2] | 0) << 16) | ((bytes[b + 3] | 0) << 24)) >>> 0
  let v = low >>> shift
  if (shift + width > 32) v += (bytes[b + 4] | 0) * 2 ** (32 - shift)
  return width === 32 ? v % 4294967296 : v % 2 ** width
}

/**
 * The lengths of `count` DELTA_LENGTH_BYTE_ARRAY values, checked: each one at least 0 and all of
 * them within the bytes that follow the lengths. Value k's length is at [2k] of the result (its
 * word pairs, decoded in place: 8 bytes a value). Leaves reader.offset at the first value's bytes.
 */
export function readDeltaLengths (reader: DeltaReader, count: number): Int32Array {
  const words = new Int32Array(2 * count)
  readDeltaBinaryPacked(reader, count, words)
  let total = 0
  for (let k = 0; k < count; k++) {
    // a 32-bit value: the low word
    const length = words[2 * k]
    if (length < 0) throw new Error(`DELTA_LENGTH_BYTE_ARRAY length ${length}`)
    total += length
  }
  if (total > reader.view.byteLength - reader.offset) throw new Error('DELTA_LENGTH_BYTE_ARRAY values overrun the page')
  return words
}

/**
 * `count` BYTE_STREAM_SPLIT values of `width` bytes at reader.offset, joined back into their PLAIN
 * layout (value after value, little-endian): into dst at `at` when given, else a new array (the
 * result). Leaves reader.offset after them.
 */
export function readByteStreamSplit (reader: DeltaReader, count: number, width: number, dst?: Uint8Array, at = 0): Uint8Array {
  const size = count * width
  if (size > reader.view.byteLength - reader.offset) throw new Error('BYTE_STREAM_SPLIT page shorter than its values')
  const src = new Uint8Array(reader.view.buffer, reader.view.byteOffset + reader.offset, size)
  const out = dst ?? new Uint8Array(size)
  if (!dst) at = 0
  if (at + size > out.length) throw new Error('BYTE_STREAM_SPLIT output too small') // the caller's mistake
  for (let b = 0; b < width; b++) {
    const base = b * count
    for (let i = 0, d = at + b; i < count; i++, d += width) out[d] = src[base + i]
  }
  reader.offset += size
  return out
}
