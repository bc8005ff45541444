// Deterministic identities: segment ids from the bundle and its inputs, row ids (chq_id) from the
// segment id and row position, and the metric-name fingerprints of docs/DOMAIN.md section 5.
import { createHash } from 'node:crypto'

const INT63_MASK = (1n << 63n) - 1n

/**
 * The version of the output files' bytes: raised whenever the writer would write different bytes
 * for the same rows, so that different bytes never share a segment id (a rolling deploy of a
 * changed writer cannot collide with the old one's files under the same name).
 */
export const OUTPUT_FORMAT_VERSION = 1

/**
 * A positive 63-bit segment id: a hash of the output format's version, the bundle key, the inputs'
 * identities (segment ids or content hashes) and the output file's index. The same bundle gives
 * the same ids on a retry by the same writer.
 */
export function segmentIdFor (bundleKey: string, inputIds: readonly string[], fileIndex: number, formatVersion = OUTPUT_FORMAT_VERSION): bigint {
  const hash = createHash('sha256')
  hash.update(`format ${formatVersion}\0`)
  hash.update(bundleKey)
  for (const id of inputIds) hash.update('\0' + id)
  hash.update('\0#' + fileIndex)
  const id = hash.digest().readBigUInt64BE(0) & INT63_MASK
  return id === 0n ? 1n : id
}

// Crockford base32, lower case: 13 characters hold a 64-bit id.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'
const CODES = Array.from(ALPHABET, c => c.charCodeAt(0))

/** Width in bytes of a row id (chq_id). */
export const ROW_ID_WIDTH = 13

/**
 * Row ids of a file: chq_id for rows [0, n), 13 base32 ASCII characters of a 64-bit hash of
 * (segment id, row), packed in one buffer (row i at bytes [13 i, 13 i + 13)).
 */
export function rowIdBytes (segmentId: bigint, n: number): Uint8Array {
  const seedHi = Number((segmentId >> 32n) & 0xffffffffn) | 0
  const seedLo = Number(segmentId & 0xffffffffn) | 0
  const out = new Uint8Array(n * ROW_ID_WIDTH)
  for (let i = 0, o = 0; i < n; i++, o += ROW_ID_WIDTH) {
    const hi = fmix32(seedHi ^ Math.imul(i, 0x9E3779B1)) >>> 0
    const lo = fmix32(seedLo ^ fmix32(i + 0x7F4A7C15)) >>> 0
    // 64 bits as 13 groups of 5, most significant first (the first group has 4 bits)
    out[o] = CODES[hi >>> 28]
    out[o + 1] = CODES[(hi >>> 23) & 31]
    out[o + 2] = CODES[(hi >>> 18) & 31]
    out[o + 3] = CODES[(hi >>> 13) & 31]
    out[o + 4] = CODES[(hi >>> 8) & 31]
    out[o + 5] = CODES[(hi >>> 3) & 31]
    out[o + 6] = CODES[((hi & 7) << 2) | (lo >>> 30)]
    out[o + 7] = CODES[(lo >>> 25) & 31]
    out[o + 8] = CODES[(lo >>> 20) & 31]
    out[o + 9] = CODES[(lo >>> 15) & 31]
    out[o + 10] = CODES[(lo >>> 10) & 31]
    out[o + 11] = CODES[(lo >>> 5) & 31]
    out[o + 12] = CODES[lo & 31]
  }
  return out
}

function fmix32 (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h
}

/** H(s) of docs/DOMAIN.md section 5: h = 31*h + byte over the UTF-8 bytes, signed 64-bit wrap-around. */
export function fingerprint (s: string): bigint {
  let h = 0n
  for (const byte of Buffer.from(s, 'utf8')) h = BigInt.asIntN(64, 31n * h + BigInt(byte))
  return h
}

/** The fingerprints of a file holding these metric names: the wildcard plus one per name, sorted. */
export function metricFingerprints (names: readonly string[]): bigint[] {
  const set = new Set<bigint>([fingerprint('metric_name:.*')])
  for (const name of names) set.add(fingerprint('metric_name:' + name))
  return [...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}
