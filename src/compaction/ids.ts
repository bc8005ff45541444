// Deterministic identities: segment ids from the bundle and its inputs, and the metric-name
// fingerprints of docs/DOMAIN.md section 5.
import { createHash } from 'node:crypto'

const INT63_MASK = (1n << 63n) - 1n

/**
 * The version of the output files' bytes: raised whenever the writer would write different bytes
 * for the same rows, so that different bytes never share a segment id (a rolling deploy of a
 * changed writer cannot collide with the old one's files under the same name).
 */
export const OUTPUT_FORMAT_VERSION = 2

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
