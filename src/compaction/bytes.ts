// Copying and checking byte ranges without creating a view object per range (subarray allocates):
// the per-row copies of sketches and values, and UTF-8 checks, stay allocation-free.

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
