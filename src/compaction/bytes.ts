// Bytes without a view object per range (subarray allocates): copying and checking ranges, so that
// the per-row copies of sketches and values and the UTF-8 checks stay allocation-free, and the one
// growable buffer (page bodies, the sketch arena, a decoded byte-string column).

/**
 * A growable byte buffer: bytes[0, length) hold what was written, and writers write at `length`
 * after ensure(). It grows to twice its capacity, or to what is needed when that is more. `onGrow`,
 * when given, hears the new capacity and the old one before the new bytes are allocated: it may
 * charge them to a memory account, and throw to refuse them.
 */
export class ByteBuffer {
  bytes: Uint8Array
  length = 0
  private readonly onGrow: ((capacity: number, previous: number) => void) | undefined

  constructor (capacity: number, onGrow?: (capacity: number, previous: number) => void) {
    this.bytes = new Uint8Array(capacity)
    this.onGrow = onGrow
  }

  /** Makes room for n more bytes at `length`. */
  ensure (n: number): void {
    if (this.length + n > this.bytes.length) this.grow(this.length + n)
  }

  /** Empties the buffer; its capacity stays. */
  reset (): void {
    this.length = 0
  }

  /** Drops bytes [0, n), moving the rest to the front. */
  dropPrefix (n: number): void {
    this.bytes.copyWithin(0, n, this.length)
    this.length -= n
  }

  /** Replaces the bytes with a larger copy of at least `needed` bytes. */
  protected grow (needed: number): void {
    const capacity = Math.max(this.bytes.length * 2, needed)
    this.onGrow?.(capacity, this.bytes.length)
    const bytes = new Uint8Array(capacity)
    bytes.set(this.bytes.subarray(0, this.length))
    this.bytes = bytes
  }
}

/** Copies src[start, end) to dst at `at`; returns the end position in dst. */
export function copyBytes (dst: Uint8Array, at: number, src: Uint8Array, start: number, end: number): number {
  if (end - start > 256) {
    dst.set(src.subarray(start, end), at)
    return at + end - start
  }
  for (let k = start; k < end; k++) dst[at++] = src[k]
  return at
}

/**
 * Whether src[start, end) is valid UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF), checked in place: no view or string is made.
 */
export function validUtf8 (src: Uint8Array, start: number, end: number): boolean {
  let i = start
  while (i < end) {
    const c = src[i]
    if (c < 0x80) {
      i++
      continue
    }
    if (c < 0xC2 || c > 0xF4) return false
    const n = c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3
    if (i + n >= end) return false // a sequence cut short
    const c1 = src[i + 1]
    if ((c1 & 0xC0) !== 0x80) return false
    if (n >= 2) {
      if ((src[i + 2] & 0xC0) !== 0x80) return false
      if (c === 0xE0 && c1 < 0xA0) return false // overlong
      if (c === 0xED && c1 >= 0xA0) return false // a surrogate
      if (c === 0xF0 && c1 < 0x90) return false // overlong
      if (c === 0xF4 && c1 >= 0x90) return false // past U+10FFFF
    }
    if (n === 3 && (src[i + 3] & 0xC0) !== 0x80) return false
    i += n + 1
  }
  return true
}
