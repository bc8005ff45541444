// OutputRows keeps rows in blocks: what is pushed reads back the same by index and by range,
// across block boundaries, while the first block grows, and after any prefix is dropped (the
// writer drops a file's rows once it is accepted and goes on appending).
import t, { type Test } from 'tap'
import { BLOCK_ROWS, OutputRows } from '../../src/compaction/write/output-rows.ts'
import { ROLLUP_COLUMNS, ROLLUP_COUNT, ROLLUP_SUM } from '../../src/compaction/schema.ts'
import { Prng } from '../../bench/prng.ts'

/**
 * What row k holds: every field a function of k, the sketch k % 23 + 1 bytes of k. Rollups: two
 * rows in three are a single point (count 1, every statistic k), kept as one value; the others
 * are not, and keep all eleven: counts of 2, a count of 1 with one percentile apart, and a count
 * of 1 whose sum is -0 and its other statistics 0 (the same number, not the same bytes).
 */
const expected = (k: number) => ({
  name: `m${k >> 10}`,
  bucket: 1_700_000_000_000 + 10_000 * k,
  segment: k % 17,
  row: 3 * k,
  tid: BigInt(k) * 0x1_0000_0001n - 7n,
  sketch: Uint8Array.from({ length: k % 23 + 1 }, (_, i) => (k + i) & 0xff),
  rollup: (r: number) => {
    if (r === ROLLUP_COUNT) return k % 3 === 2 && k % 5 !== 0 ? 2 : 1
    if (k % 3 !== 2) return k
    if (k % 5 !== 0) return k + r / 16
    if (k % 10 === 0) return r === ROLLUP_SUM ? -0 : 0
    return r === ROLLUP_COLUMNS.length - 1 ? k + 0.5 : k
  },
})

function push (rows: OutputRows, k: number): void {
  const e = expected(k)
  rows.copySketch(e.sketch, 0, e.sketch.length)
  const tid = new BigInt64Array([e.tid])
  rows.push(e.name, new Int32Array(tid.buffer), 0, e.bucket, e.segment, e.row, Float64Array.from(ROLLUP_COLUMNS, (_, r) => e.rollup(r)))
}

/** Checks rows [s, s + n) of the buffer, whose row 0 is pushed row `base`, by index and by range. */
function check (t: Test, rows: OutputRows, base: number, s: number, n: number): void {
  const bad: string[] = []
  const buckets = rows.bucketColumn(s, n)
  const tids = rows.tidColumn(s, n)
  const rollups = ROLLUP_COLUMNS.map((_, r) => rows.rollupColumn(r, s, n))
  const { data, offsets } = rows.sketchColumn(s, n)
  for (let i = 0; i < n && bad.length < 5; i++) {
    const e = expected(base + s + i)
    const sketch = data.subarray(offsets[i], offsets[i + 1])
    if (rows.name(s + i) !== e.name) bad.push(`name of ${s + i}`)
    if (rows.bucket(s + i) !== e.bucket || buckets[i] !== e.bucket) bad.push(`bucket of ${s + i}`)
    if (rows.sourceSegment(s + i) !== e.segment || rows.sourceRow(s + i) !== e.row) bad.push(`source of ${s + i}`)
    if (tids[i] !== e.tid) bad.push(`tid of ${s + i}`)
    if (rows.rollupCount(s + i) !== e.rollup(ROLLUP_COUNT)) bad.push(`count of ${s + i}`)
    for (let r = 0; r < rollups.length; r++) if (!Object.is(rollups[r][i], e.rollup(r))) bad.push(`rollup ${r} of ${s + i}`)
    if (rows.sketchLength(s + i) !== e.sketch.length || Buffer.compare(sketch, e.sketch) !== 0) bad.push(`sketch of ${s + i}`)
  }
  t.same(bad, [], `rows [${s}, ${s + n}) of ${rows.count} read back`)
}

t.test('rows read back by index and by range across blocks, while the first block grows', async t => {
  const rows = new OutputRows()
  const total = 2 * BLOCK_ROWS + 1234
  for (let k = 0; k < total; k++) {
    push(rows, k)
    if (k === 100) check(t, rows, 0, 0, 101) // the first block, still small
  }
  t.equal(rows.count, total)
  check(t, rows, 0, 0, total)
  check(t, rows, 0, BLOCK_ROWS - 5, 10) // a range over a block boundary
  check(t, rows, 0, BLOCK_ROWS, 1) // a block's first row alone
  check(t, rows, 0, total - 1, 1)
  t.throws(() => rows.bucketColumn(total - 1, 2), /output rows/, 'a range past the rows is refused')
})

t.test('dropping prefixes, then appending, keeps every row that is left, wherever the cuts fall', async t => {
  const random = new Prng(15)
  const rows = new OutputRows()
  let pushed = 0
  let dropped = 0
  for (let round = 0; round < 12; round++) {
    const more = Math.floor(random.next() * 1.5 * BLOCK_ROWS)
    for (let k = 0; k < more; k++) push(rows, pushed++)
    // a cut anywhere: at 0, inside a block, on a boundary, or everything
    const choices = [0, rows.count, Math.floor(random.next() * rows.count), BLOCK_ROWS - ((dropped) & (BLOCK_ROWS - 1))]
    const cut = Math.min(rows.count, choices[round % choices.length])
    rows.dropPrefix(cut)
    dropped += cut
    t.equal(rows.count, pushed - dropped, `round ${round}: ${rows.count} rows left`)
    if (rows.count > 0) {
      check(t, rows, dropped, 0, rows.count)
      check(t, rows, dropped, Math.floor(rows.count / 2), Math.ceil(rows.count / 2))
    }
  }
  t.throws(() => rows.dropPrefix(rows.count + 1), /dropping/, 'dropping more rows than there are is refused')
})

t.test('a row pushed without its sketch, or a second sketch before its row, is refused', async t => {
  const rows = new OutputRows()
  t.throws(() => rows.push('m', new Int32Array(2), 0, 0, 0, 0, new Float64Array(ROLLUP_COLUMNS.length)), /without its sketch/)
  rows.copySketch(Uint8Array.of(1, 2), 0, 2)
  t.throws(() => rows.copySketch(Uint8Array.of(3), 0, 1), /a sketch without its output row/)
})

t.test('a full block takes its rows\' bytes: 48 a row, 88 more for rollups that are not a single point, and the sketches', async t => {
  // each block has more rows that are not a single point than the one before, and longer
  // sketches: the block after starts its side table and sketch arena at the size the one before
  // took, and has to grow them
  const rows = new OutputRows()
  const full = Float64Array.from(ROLLUP_COLUMNS, (_, r) => r === ROLLUP_COUNT ? 2 : r + 0.5)
  const single = Float64Array.from(ROLLUP_COLUMNS, (_, r) => r === ROLLUP_COUNT ? 1 : 3)
  const blocks = 4
  let exact = 0
  for (let k = 0; k < blocks * BLOCK_ROWS + 1; k++) {
    const b = Math.floor(k / BLOCK_ROWS)
    const sketch = new Uint8Array(30 + b).fill(7)
    const isSingle = (k % BLOCK_ROWS) < blocks - b
    rows.copySketch(sketch, 0, sketch.length)
    rows.push('m', new Int32Array(2), 0, k, 0, k, isSingle ? single : full)
    if (b < blocks) exact += 48 + sketch.length + (isSingle ? 0 : 88)
  }
  // the full blocks exactly, and the block being filled at most a block of rows of the last size
  const bound = exact + BLOCK_ROWS * (48 + 88 + 30 + blocks)
  t.ok(rows.heldBytes() <= bound, `${rows.heldBytes()} bytes held for ${rows.count} rows, at most ${bound}`)
})
