import t from 'tap'
import fc from 'fast-check'
import { PERCENTILES, ROLLUP_COLUMNS, ROLLUP_FIRST_PERCENTILE, compareUtf8, currentName, promote } from '../../src/compaction/schema.ts'

t.test('legacy column names translate to current names', async t => {
  const cases: Array<[string, string]> = [
    ['_cardinalhq.name', 'metric_name'],
    ['_cardinalhq.tid', 'chq_tid'],
    ['_cardinalhq.timestamp', 'chq_timestamp'],
    ['_cardinalhq.tsns', 'chq_tsns'],
    ['_cardinalhq.metric_type', 'chq_metric_type'],
    ['_cardinalhq.customer_id', 'chq_customer_id'],
    ['_cardinalhq.id', 'chq_id'],
    ['rollup_p90', 'chq_rollup_p90'],
    ['sketch', 'chq_sketch'],
    ['metric.cardinalhq.stats_collector_id', 'attr_cardinalhq_stats_collector_id'],
    ['resource.service.name', 'resource_service_name'],
    ['description', 'chq_description'],
    ['unit', 'chq_unit'],
    ['scope_name', 'chq_scope_name'],
    ['scope_url', 'chq_scope_url'],
    ['start_timestamp', 'start_timestamp'],
    ['type', 'type'],
    ['attr_Cluster Name', 'attr_Cluster Name'],
    ['resource_app_kubernetes_io/name', 'resource_app_kubernetes_io/name'],
    ['some.dotted.name', 'some_dotted_name'],
  ]
  for (const [legacy, current] of cases) t.equal(currentName(legacy), current, legacy)
})

t.test('current names pass through unchanged', async t => {
  for (const name of ['metric_name', 'chq_tid', 'chq_rollup_sum', 'chq_sketch', 'resource_service_name', 'attr_x']) {
    t.equal(currentName(name), name)
  }
})

t.test('type union follows docs/DOMAIN.md promotion rules', async t => {
  t.equal(promote('int64', 'int64'), 'int64')
  t.equal(promote('int64', 'double'), 'double')
  t.equal(promote('double', 'int64'), 'double')
  t.equal(promote('string', 'int64'), 'string')
  t.equal(promote('bytes', 'double'), 'string')
  t.equal(promote('bool', 'int64'), 'string')
  t.equal(promote('bool', 'bool'), 'bool')
  t.equal(promote('bytes', 'bytes'), 'bytes')
})

t.test('names compare in UTF-8 byte order, not UTF-16 order', async t => {
  // U+FF61 is above the surrogates in UTF-16 but below U+1F600 in UTF-8
  t.ok(compareUtf8('\uFF61', '\u{1F600}') < 0)
  t.ok('\uFF61' > '\u{1F600}', 'JS order disagrees, which is why the comparison exists')
  fc.assert(fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
    const expected = Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')))
    return Math.sign(compareUtf8(a, b)) === expected
  }), { numRuns: 2000 })
})

t.test('the percentile slots take their quantiles from their column names', async t => {
  t.same(PERCENTILES, [0.25, 0.5, 0.75, 0.9, 0.95, 0.99])
  t.equal(ROLLUP_FIRST_PERCENTILE + PERCENTILES.length, ROLLUP_COLUMNS.length, 'every slot from the first percentile on')
})
