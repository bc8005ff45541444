// The RLE / bit-packed hybrid encoding of parquet (definition levels, dictionary indices, RLE
// booleans), decoded into a typed array with every count bounded by the output and every read by the
// encoded bytes. hyparquet's decoder loops over a run's full declared count even past the output's
// end: a fuzzed header declaring 2^31 values at bit width 0 kept it busy for seconds per page, and a
// compaction for minutes (test/routes/compact-fuzz.test.ts). Here work is bounded by the output's
// length and the bytes present, whatever the headers claim.

export interface HybridReader { view: DataView, offset: number }

/**
 * Decodes output.length values of the given bit width (0..32) starting at reader.offset. `length`
 * is the encoded size; without it, a 4-byte little-endian length comes first (data page v1 levels).
 * Leaves reader.offset after the encoded bytes. Throws when the bytes end before the values do.
 * `strict` also refuses runs that claim more values than remain (an RLE run past the end, a
 * bit-packed run past the end of its last group of 8), which no writer produces: data that passes
 * is safe for decoders that trust the run headers.
 */
export function readHybrid (reader: HybridReader, bitWidth: number, output: Int32Array | Uint8Array, length?: number, strict = false): void {
  const { view } = reader
  let pos = reader.offset
  if (length === undefined) {
    if (pos + 4 > view.byteLength) throw new Error('hybrid-encoded data: no length prefix')
    length = view.getUint32(pos, true)
    pos += 4
  }
  if (!(bitWidth >= 0 && bitWidth <= 32)) throw new Error(`hybrid-encoded data: bit width ${bitWidth}`)
  const end = pos + length
  if (end > view.byteLength) throw new Error(`hybrid-encoded data of ${length} bytes overruns its page`)
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
  const valueBytes = (bitWidth + 7) >> 3
  let seen = 0
  while (seen < output.length) {
    // the run header: a ULEB128 varint of at most 5 bytes
    let header = 0
    for (let shift = 0; ; shift += 7) {
      if (pos >= end) throw new Error('hybrid-encoded data ends before its values')
      if (shift > 28) throw new Error('hybrid-encoded run header too long')
      const b = bytes[pos++]
      header += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) break
    }
    const runLength = Math.floor(header / 2)
    if (header % 2 === 0) {
      // RLE run: one value of ceil(width / 8) little-endian bytes, repeated
      if (pos + valueBytes > end) throw new Error('hybrid-encoded RLE run ends early')
      let value = 0
      for (let i = 0; i < valueBytes; i++) value += bytes[pos + i] * 2 ** (8 * i)
      pos += valueBytes
      const take = Math.min(runLength, output.length - seen)
      if (strict && runLength > take) throw new Error(`hybrid-encoded RLE run of ${runLength} values, ${take} remain`)
      output.fill(value, seen, seen + take)
      seen += take
    } else {
      // bit-packed run: runLength groups of 8 values, runLength x width bytes; only what the output takes is read
      const declaredBytes = runLength * bitWidth
      const take = Math.min(runLength * 8, output.length - seen)
      if (strict && runLength * 8 - take >= 8) throw new Error(`hybrid-encoded bit-packed run of ${runLength * 8} values, ${take} remain`)
      const needed = Math.ceil(take * bitWidth / 8)
      if (pos + needed > end) throw new Error('hybrid-encoded bit-packed run ends early')
      unpack(bytes, pos, bitWidth, output, seen, take)
      seen += take
      pos = Math.min(end, pos + declaredBytes)
    }
  }
  reader.offset = end
}

/**
 * Unpacks n values of `width` bits, least significant bit first, from value `first` of the
 * bit-packed run at bytes[pos...] into output[at...] (value `first` may start inside a byte).
 */
function unpack (bytes: Uint8Array, pos: number, width: number, output: Int32Array | Uint8Array, at: number, n: number, first = 0): void {
  if (width === 0) {
    output.fill(0, at, at + n)
    return
  }
  if (width <= 24) {
    // a 32-bit accumulator holds up to width + 7 bits
    const mask = (1 << width) - 1
    const bit = first * width
    let p = pos + (bit >> 3)
    let acc = 0
    let bits = 0
    if ((bit & 7) !== 0) {
      acc = bytes[p++] >> (bit & 7)
      bits = 8 - (bit & 7)
    }
    for (let i = 0; i < n; i++) {
      while (bits < width) {
        acc |= bytes[p++] << bits
        bits += 8
      }
      output[at + i] = acc & mask
      acc >>>= width
      bits -= width
    }
    return
  }
  // 25..32 bits (dictionaries of more than 16 M entries): bit by bit
  for (let i = 0; i < n; i++) {
    let value = 0
    const start = (first + i) * width
    for (let b = 0; b < width; b++) {
      const k = start + b
      value += ((bytes[pos + (k >> 3)] >> (k & 7)) & 1) * 2 ** b
    }
    output[at + i] = value
  }
}

/**
 * A hybrid-encoded stream read a few values at a time: where readHybrid decodes a page's values at
 * once, a cursor keeps its place (the run it is in, and how far into it) between reads, so that a
 * page of any length is decoded window by window. Bounds as readHybrid: every read stays inside
 * the encoded bytes, whatever the run headers claim.
 */
export class HybridCursor {
  private readonly bytes: Uint8Array
  private readonly width: number
  private readonly end: number
  private pos: number
  /** Values left in the current run. */
  private left = 0
  private rle = true
  private value = 0
  /** A bit-packed run: where its bytes start, and the index of its next value. */
  private runStart = 0
  private index = 0

  /** The stream of `length` bytes at bytes[start...] (bit width 0..32). */
  constructor (bytes: Uint8Array, start: number, length: number, bitWidth: number) {
    if (!(bitWidth >= 0 && bitWidth <= 32)) throw new Error(`hybrid-encoded data: bit width ${bitWidth}`)
    if (!(start >= 0 && length >= 0 && start + length <= bytes.length)) throw new Error(`hybrid-encoded data of ${length} bytes overruns its page`)
    this.bytes = bytes
    this.width = bitWidth
    this.pos = start
    this.end = start + length
  }

  /** Decodes the next n values into output[at, at + n). */
  read (output: Int32Array | Uint8Array, at: number, n: number): void {
    while (n > 0) {
      if (this.left === 0) this.nextRun()
      const take = Math.min(this.left, n)
      if (this.rle) output.fill(this.value, at, at + take)
      else {
        if (this.runStart + Math.ceil((this.index + take) * this.width / 8) > this.end) throw new Error('hybrid-encoded bit-packed run ends early')
        unpack(this.bytes, this.runStart, this.width, output, at, take, this.index)
        this.index += take
      }
      this.left -= take
      at += take
      n -= take
    }
  }

  private nextRun (): void {
    const bytes = this.bytes
    let header = 0
    for (let shift = 0; ; shift += 7) {
      if (this.pos >= this.end) throw new Error('hybrid-encoded data ends before its values')
      if (shift > 28) throw new Error('hybrid-encoded run header too long')
      const b = bytes[this.pos++]
      header += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) break
    }
    const runLength = Math.floor(header / 2)
    if (header % 2 === 0) {
      const valueBytes = (this.width + 7) >> 3
      if (this.pos + valueBytes > this.end) throw new Error('hybrid-encoded RLE run ends early')
      let value = 0
      for (let i = 0; i < valueBytes; i++) value += bytes[this.pos + i] * 2 ** (8 * i)
      this.pos += valueBytes
      this.rle = true
      this.value = value
      this.left = runLength
    } else {
      this.rle = false
      this.runStart = this.pos
      this.index = 0
      this.left = runLength * 8
      this.pos = Math.min(this.end, this.pos + runLength * this.width)
    }
  }
}
