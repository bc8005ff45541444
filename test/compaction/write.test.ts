import t from 'tap'
import fc from 'fast-check'
import { int64Column, metricTypeCode } from '../../src/compaction/write/segment-file.ts'

t.test('int64 columns built from words equal exact BigInt products', async t => {
  fc.assert(fc.property(fc.array(fc.integer({ min: -(2 ** 43), max: 2 ** 43 }), { minLength: 1, maxLength: 50 }), values => {
    const ms = Float64Array.from(values)
    const asMs = int64Column(ms, ms.length, 1)
    const asNs = int64Column(ms, ms.length, 1_000_000)
    return values.every((v, i) => asMs[i] === BigInt(v) && asNs[i] === BigInt(v) * 1_000_000n)
  }), { numRuns: 500 })
  const edge = Float64Array.from([0, -1, 1, 2 ** 32, -(2 ** 32), 2 ** 53 - 1, -(2 ** 53 - 1)])
  const out = int64Column(edge, edge.length, 1)
  t.same([...out], [...edge].map(v => BigInt(v)))
})

t.test('metric types map to their codes', async t => {
  t.equal(metricTypeCode('gauge'), 1)
  t.equal(metricTypeCode('count'), 2)
  t.equal(metricTypeCode('sum'), 2)
  t.equal(metricTypeCode('counter'), 2)
  t.equal(metricTypeCode('histogram'), 3)
  t.equal(metricTypeCode('exponential_histogram'), 4)
  t.equal(metricTypeCode('summary'), 5)
  t.equal(metricTypeCode('other'), 0)
  t.equal(metricTypeCode(null), 0)
})
