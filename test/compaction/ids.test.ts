import t from 'tap'
import { OUTPUT_FORMAT_VERSION, fingerprint, metricFingerprints, segmentIdFor } from '../../src/compaction/ids.ts'

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
