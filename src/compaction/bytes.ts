// Copying byte ranges without creating a view object per copy (subarray allocates): the per-row
// copies of sketches and values stay allocation-free.

/** Copies src[start, end) to dst at `at`; returns the end position in dst. */
export function copyBytes (dst: Uint8Array, at: number, src: Uint8Array, start: number, end: number): number {
  if (end - start > 256) {
    dst.set(src.subarray(start, end), at)
    return at + end - start
  }
  for (let k = start; k < end; k++) dst[at++] = src[k]
  return at
}
