import t from 'tap'
import { OUTPUT_FORMAT_VERSION, ROW_ID_WIDTH, fingerprint, metricFingerprints, rowIdBytes, segmentIdFor } from '../../src/compaction/ids.ts'

function rowIds (segmentId: bigint, n: number): string[] {
  const bytes = rowIdBytes(segmentId, n)
  return Array.from({ length: n }, (_, i) => Buffer.from(bytes.subarray(i * ROW_ID_WIDTH, (i + 1) * ROW_ID_WIDTH)).toString('latin1'))
}

t.test('fingerprints match the docs/DOMAIN.md vectors', async t => {
  t.equal(fingerprint('metric_name:.*'), -4454695143127170692n)
  t.equal(fingerprint('metric_name:cpu_usage'), -6833194177026551670n)
})

t.test('a file\'s fingerprints are the wildcard plus one per name, sorted and unique', async t => {
  const fps = metricFingerprints(['cpu_usage', 'cpu_usage', 'mem'])
  t.equal(fps.length, 3)
  t.ok(fps.includes(-4454695143127170692n))
  t.ok(fps.includes(-6833194177026551670n))
  t.same([...fps].sort((a, b) => (a < b ? -1 : 1)), fps)
})

t.test('segment ids are positive 63-bit and deterministic', async t => {
  const a = segmentIdFor('k', ['x', 'y'], 0)
  t.equal(a, segmentIdFor('k', ['x', 'y'], 0))
  t.not(a, segmentIdFor('k', ['x', 'y'], 1))
  t.not(a, segmentIdFor('k', ['y', 'x'], 0))
  t.not(a, segmentIdFor('k2', ['x', 'y'], 0))
  t.equal(a, segmentIdFor('k', ['x', 'y'], 0, OUTPUT_FORMAT_VERSION), 'the current output format by default')
  t.not(a, segmentIdFor('k', ['x', 'y'], 0, OUTPUT_FORMAT_VERSION + 1), 'another output format version gives other ids')
  t.ok(a > 0n && a < (1n << 63n))
})

t.test('row ids are 13 base32 characters, deterministic and distinct', async t => {
  const ids = rowIds(123456789012345n, 50_000)
  t.same(ids, rowIds(123456789012345n, 50_000))
  t.equal(new Set(ids).size, ids.length)
  for (const id of ids.slice(0, 100)) t.match(id, /^[0-9a-hjkmnp-tv-z]{13}$/)
  t.not(rowIds(1n, 1)[0], rowIds(2n, 1)[0])
})
