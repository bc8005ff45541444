// The value encodings of the column writer, from typed arrays to page bytes: the RLE / bit-packed
// hybrid (levels, dictionary indices, booleans), DELTA_BINARY_PACKED over 64-bit values held as
// 32-bit word pairs (no BigInt per value), DELTA_LENGTH_BYTE_ARRAY and BYTE_STREAM_SPLIT; and the
// page buffer they write into. The decoders are in read/delta.ts and read/chunk-reader.ts.
import { ByteBuffer, copyBytes } from '../bytes.ts'

/** A byte buffer for page bodies, reused across pages, with the writes of PLAIN values and RLE runs. */
export class PageBuffer extends ByteBuffer {
  view = new DataView(this.bytes.buffer)
  private text = Buffer.from(this.bytes.buffer)

  constructor (capacity = 1 << 16) {
    super(capacity)
  }

  protected override grow (needed: number): void {
    super.grow(needed)
    this.view = new DataView(this.bytes.buffer)
    this.text = Buffer.from(this.bytes.buffer)
  }

  u8 (v: number): void {
    this.ensure(1)
    this.bytes[this.length++] = v
  }

  u32 (v: number): void {
    this.ensure(4)
    this.view.setUint32(this.length, v, true)
    this.length += 4
  }

  /** An unsigned LEB128 varint of a value below 2^32. */
  varint (v: number): void {
    this.ensure(5)
    while (v > 0x7f) {
      this.bytes[this.length++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    this.bytes[this.length++] = v
  }

  /** The zig-zag LEB128 varint of the signed 64-bit value with words (lo, hi). */
  zigzag64 (lo: number, hi: number): void {
    const sign = hi >> 31
    let zlo = ((lo << 1) ^ sign) >>> 0
    let zhi = (((hi << 1) | (lo >>> 31)) ^ sign) >>> 0
    this.ensure(10)
    while (zhi !== 0 || zlo > 0x7f) {
      this.bytes[this.length++] = (zlo & 0x7f) | 0x80
      zlo = ((zlo >>> 7) | (zhi << 25)) >>> 0
      zhi >>>= 7
    }
    this.bytes[this.length++] = zlo
  }

  raw (src: Uint8Array): void {
    this.ensure(src.length)
    this.bytes.set(src, this.length)
    this.length += src.length
  }

  /** A length-prefixed UTF-8 string (PLAIN BYTE_ARRAY). */
  utf8 (s: string): void {
    this.ensure(4 + s.length * 3)
    const written = this.text.write(s, this.length + 4)
    this.view.setUint32(this.length, written, true)
    this.length += 4 + written
  }

  /** A UTF-8 string without a length; returns its length in bytes. */
  text8 (s: string): number {
    this.ensure(s.length * 3)
    const written = this.text.write(s, this.length)
    this.length += written
    return written
  }

  /** src[start, end) as a length-prefixed byte string (PLAIN BYTE_ARRAY). */
  blob (src: Uint8Array, start: number, end: number): void {
    this.u32(end - start)
    this.ensure(end - start)
    this.length = copyBytes(this.bytes, this.length, src, start, end)
  }

  /** src[start, end) as is. */
  range (src: Uint8Array, start: number, end: number): void {
    this.ensure(end - start)
    this.length = copyBytes(this.bytes, this.length, src, start, end)
  }
}

/**
 * RLE/bit-packed hybrid encoding of values [0, n) at a bit width: runs of 8 or more equal values
 * as RLE runs, the rest bit-packed in groups of 8.
 */
export function encodeHybrid (out: PageBuffer, values: ArrayLike<number>, n: number, bitWidth: number): void {
  encodeHybridRange(out, values, 0, n, bitWidth)
}

/** The hybrid encoding of values [from, to) (see encodeHybrid). */
export function encodeHybridRange (out: PageBuffer, values: ArrayLike<number>, from: number, to: number, bitWidth: number): void {
  const width = (bitWidth + 7) >> 3
  let i = from
  let packedStart = -1
  while (i < to) {
    const v = values[i]
    let run = 1
    while (i + run < to && values[i + run] === v) run++
    if (run >= 8) {
      if (packedStart >= 0) packGroups(out, values, packedStart, i, to, bitWidth)
      packedStart = -1
      out.varint(run * 2)
      for (let b = 0; b < width; b++) out.u8((v >>> (8 * b)) & 0xff)
      i += run
    } else {
      // a bit-packed group of 8: packed runs stay whole groups, padded only at the very end
      if (packedStart < 0) packedStart = i
      i += 8
    }
  }
  if (packedStart >= 0) packGroups(out, values, packedStart, i, to, bitWidth)
}

// Bit-packs values [start, end) in groups of 8; positions at or past n are zero padding.
function packGroups (out: PageBuffer, values: ArrayLike<number>, start: number, end: number, n: number, bitWidth: number): void {
  const groups = Math.ceil((end - start) / 8)
  out.varint(groups * 2 + 1)
  out.ensure(groups * bitWidth)
  const bytes = out.bytes
  const stop = start + groups * 8
  let at = out.length
  let acc = 0
  let bits = 0
  if (bitWidth <= 24) {
    // fewer than 8 bits wait between values: width + 7 bits fit a 31-bit integer
    for (let k = start; k < stop; k++) {
      acc |= (k < n ? values[k] : 0) << bits
      bits += bitWidth
      while (bits >= 8) {
        bytes[at++] = acc & 0xff
        acc >>>= 8
        bits -= 8
      }
    }
  } else {
    for (let k = start; k < stop; k++) {
      acc += (k < n ? values[k] : 0) * 2 ** bits
      bits += bitWidth
      while (bits >= 8) {
        bytes[at++] = acc & 0xff
        acc = Math.floor(acc / 256)
        bits -= 8
      }
    }
  }
  out.length = at
}

/** DELTA_BINARY_PACKED block layout: blocks of 128 values in 4 miniblocks of 32 (what parquet-mr and Arrow write). */
export const DELTA_BLOCK = 128
export const DELTA_MINIBLOCKS = 4
const MINIBLOCK = DELTA_BLOCK / DELTA_MINIBLOCKS

// one block's deltas less their minimum, as unsigned word pairs
const packedLo = new Uint32Array(DELTA_BLOCK)
const packedHi = new Uint32Array(DELTA_BLOCK)

/**
 * DELTA_BINARY_PACKED encoding of the signed 64-bit values [from, to) held as word pairs
 * (words[2i] low, words[2i + 1] high). Differences wrap modulo 2^64, as the format defines them.
 */
export function encodeDeltaBinaryPacked (out: PageBuffer, words: Int32Array, from: number, to: number): void {
  const count = to - from
  out.varint(DELTA_BLOCK)
  out.varint(DELTA_MINIBLOCKS)
  out.varint(count)
  if (count === 0) {
    out.zigzag64(0, 0)
    return
  }
  out.zigzag64(words[2 * from], words[2 * from + 1])
  for (let b = from + 1; b < to; b += DELTA_BLOCK) {
    const n = Math.min(DELTA_BLOCK, to - b)
    // the deltas and their minimum (signed)
    let minLo = 0
    let minHi = 0
    for (let j = 0; j < n; j++) {
      const i = b + j
      let lo = (words[2 * i] >>> 0) - (words[2 * i - 2] >>> 0)
      let borrow = 0
      if (lo < 0) {
        lo += 4294967296
        borrow = 1
      }
      const hi = (words[2 * i + 1] - words[2 * i - 1] - borrow) | 0
      packedLo[j] = lo
      packedHi[j] = hi
      if (j === 0 || hi < minHi || (hi === minHi && lo < minLo)) {
        minLo = lo
        minHi = hi
      }
    }
    out.zigzag64(minLo | 0, minHi)
    // less the minimum: unsigned, each miniblock's width from the OR of its values
    const widthsAt = out.length
    out.ensure(DELTA_MINIBLOCKS)
    out.bytes.fill(0, widthsAt, widthsAt + DELTA_MINIBLOCKS)
    out.length += DELTA_MINIBLOCKS
    for (let m = 0; m * MINIBLOCK < n; m++) {
      let orLo = 0
      let orHi = 0
      for (let j = m * MINIBLOCK; j < Math.min(n, (m + 1) * MINIBLOCK); j++) {
        let lo = packedLo[j] - minLo
        let borrow = 0
        if (lo < 0) {
          lo += 4294967296
          borrow = 1
        }
        const hi = (packedHi[j] - minHi - borrow) >>> 0
        packedLo[j] = lo
        packedHi[j] = hi
        orLo |= lo
        orHi |= hi
      }
      const width = orHi !== 0 ? 64 - Math.clz32(orHi) : 32 - Math.clz32(orLo)
      out.bytes[widthsAt + m] = width
      if (width > 0) packMiniblock(out, m * MINIBLOCK, Math.min(n, (m + 1) * MINIBLOCK), width)
    }
  }
}

// Bit-packs packedLo/Hi[from, to) at `width` bits into a whole miniblock (zero padding), LSB first.
function packMiniblock (out: PageBuffer, from: number, to: number, width: number): void {
  out.ensure(MINIBLOCK * width / 8)
  const bytes = out.bytes
  let at = out.length
  // fewer than 8 bits wait in acc between values: acc < 2^40, exact in a double; & 0xff takes its low byte
  let acc = 0
  let bits = 0
  if (width <= 32) {
    const mask = width === 32 ? 4294967296 : 2 ** width
    for (let j = from; j < from + MINIBLOCK; j++) {
      acc += (j < to ? packedLo[j] % mask : 0) * 2 ** bits
      bits += width
      while (bits >= 8) {
        bytes[at++] = acc & 0xff
        acc = Math.floor(acc / 256)
        bits -= 8
      }
    }
  } else {
    for (let j = from; j < from + MINIBLOCK; j++) {
      acc += (j < to ? packedLo[j] : 0) * 2 ** bits
      bits += 32
      while (bits >= 8) {
        bytes[at++] = acc & 0xff
        acc = Math.floor(acc / 256)
        bits -= 8
      }
      acc += (j < to ? packedHi[j] : 0) * 2 ** bits
      bits += width - 32
      while (bits >= 8) {
        bytes[at++] = acc & 0xff
        acc = Math.floor(acc / 256)
        bits -= 8
      }
    }
  }
  out.length = at
}

/**
 * DELTA_LENGTH_BYTE_ARRAY of byte strings: the lengths (DELTA_BINARY_PACKED), then the bytes.
 * Value k is entry codes[k] of the entries, entry e being data[offsets[e], offsets[e + 1]).
 */
export function encodeDeltaLengthByteArray (out: PageBuffer, data: Uint8Array, offsets: Int32Array, codes: Int32Array, from: number, to: number): void {
  const lengths = new Int32Array(2 * (to - from))
  for (let k = from; k < to; k++) lengths[2 * (k - from)] = offsets[codes[k] + 1] - offsets[codes[k]]
  encodeDeltaBinaryPacked(out, lengths, 0, to - from)
  for (let k = from; k < to; k++) out.range(data, offsets[codes[k]], offsets[codes[k] + 1])
}

/**
 * BYTE_STREAM_SPLIT of `count` values of `width` bytes at bytes[start...]: byte b of every value
 * in turn, for b = 0 .. width - 1.
 */
export function encodeByteStreamSplit (out: PageBuffer, bytes: Uint8Array, start: number, count: number, width: number): void {
  out.ensure(count * width)
  const dst = out.bytes
  const at = out.length
  for (let b = 0; b < width; b++) {
    const base = at + b * count
    for (let i = 0, s = start + b; i < count; i++, s += width) dst[base + i] = bytes[s]
  }
  out.length += count * width
}
