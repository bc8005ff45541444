// The estimate's footer walk: the same rows, columns and largest row group as a full metadata
// decode (hyparquet), on generated and real segments, and only CMP_ERR_BAD_PARQUET for broken ones.
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parquetMetadata } from 'hyparquet'
import { ByteWriter } from 'hyparquet-writer'
import { writeMetadata } from '../../src/compaction/parquet.ts'
import { footerFigures, readFooterFigures, type FooterFigures } from '../../src/guard/footer.ts'
import { fixtureFolders, needsFixtures } from '../helpers.ts'
import { writeSegment, type RowSpec } from '../support/segments.ts'

/**
 * What a full decode says: rows, leaf column names, the largest row group's size and all of them
 * (total_byte_size, or its chunks' total_uncompressed_size when larger); whether the file is proven
 * out of order is the caller's to say.
 */
function expected (file: Buffer, outOfOrder = false): FooterFigures {
  const metadata = parquetMetadata(new Uint8Array(file).buffer)
  const sizes = metadata.row_groups.map(g => Math.max(Number(g.total_byte_size), g.columns.reduce((n, c) => n + Number(c.meta_data?.total_uncompressed_size ?? 0), 0)))
  return {
    rows: Number(metadata.num_rows),
    columns: metadata.schema.slice(1).filter(e => !e.num_children).map(e => e.name),
    largestRowGroupBytes: sizes.reduce((m, n) => Math.max(m, n), 0),
    totalBytes: sizes.reduce((m, n) => m + n, 0),
    outOfOrder,
  }
}

function footerOf (file: Buffer): Buffer {
  const length = file.readUInt32LE(file.length - 8)
  return file.subarray(file.length - 8 - length, file.length - 8)
}

const rows = (n: number): RowSpec[] => Array.from({ length: n }, (_, i) => ({
  name: `m${i % 3}`, tid: BigInt(i), ts: 1_756_339_200_000 + i * 10_000, values: [i, i + 1], attrs: { 'resource.host': `h${i % 5}`, 'metric.n': BigInt(i), 'metric.ok': i % 2 === 0 },
}))

t.test('generated segments: the walk agrees with hyparquet (several row groups, codecs, legacy names, encodings)', async t => {
  const dir = t.testdir()
  const variants = [
    { rowGroupSize: 7 }, { codec: 'SNAPPY' as const }, { legacy: true, omitRollups: ['p90'] }, { tidAsString: true },
    { encodings: { 'resource.host': 'DELTA_BYTE_ARRAY' as const } }, {},
  ]
  for (const [i, options] of variants.entries()) {
    const path = join(dir, `s${i}.parquet`)
    await writeSegment(path, rows(40 + i), options)
    const file = readFileSync(path)
    // rows(n) cycles through names m0, m1, m2: groups of 7 rows are each m0..m2, proven out of order
    const outOfOrder = options.rowGroupSize === 7
    t.same(footerFigures(footerOf(file)), expected(file, outOfOrder), JSON.stringify(options))
    t.same(await readFooterFigures(path, 'x'), expected(file, outOfOrder))
  }
})

t.test('every real fixture: the walk agrees with hyparquet', needsFixtures, async t => {
  let n = 0
  for (const files of fixtureFolders().values()) {
    for (const path of files) {
      const file = readFileSync(path)
      t.same(footerFigures(footerOf(file)), expected(file), path)
      n++
    }
  }
  t.comment(`${n} fixture footers compared`)
})

t.test('broken files and footers: CMP_ERR_BAD_PARQUET naming the file, never a hang or another error', async t => {
  const dir = t.testdir()
  const path = join(dir, 'good.parquet')
  await writeSegment(path, rows(30), { rowGroupSize: 10 })
  const good = readFileSync(path)
  const footerStart = good.length - 8 - good.readUInt32LE(good.length - 8)
  const broken = join(dir, 'broken.parquet')
  const unexpected: string[] = []
  let refused = 0
  let read = 0
  const attempt = async (bytes: Buffer, what: string): Promise<void> => {
    writeFileSync(broken, bytes)
    try {
      const figures = await readFooterFigures(broken, 'b.parquet')
      // a flip inside a value can still parse; what it gives must be figures, not garbage types
      if (!Number.isSafeInteger(figures.rows) || !figures.columns.every(c => typeof c === 'string')) unexpected.push(`${what}: ${JSON.stringify(figures)}`)
      read++
    } catch (err) {
      const e = err as { code?: string, details?: { file?: string } }
      if (e.code !== 'CMP_ERR_BAD_PARQUET' || e.details?.file !== 'b.parquet') unexpected.push(`${what}: ${String(err)}`)
      refused++
    }
  }
  const lying = Buffer.from(good)
  lying.writeUInt32LE(0xfffffff0, good.length - 8)
  for (const [bytes, what] of [[Buffer.from('PAR1'), 'too short'], [Buffer.concat([Buffer.from('XXXX'), good.subarray(4)]), 'no magic'], [lying, 'footer length beyond the file']] as const) {
    writeFileSync(broken, bytes)
    await t.rejects(readFooterFigures(broken, 'b.parquet'), { code: 'CMP_ERR_BAD_PARQUET', details: { file: 'b.parquet' } }, what)
  }
  // every truncation of the footer and a bit flip in each of its bytes
  let random = 7
  for (let cut = footerStart; cut < good.length - 8; cut += 3) {
    const truncated = Buffer.concat([good.subarray(0, footerStart), good.subarray(footerStart, cut), Buffer.alloc(4), Buffer.from('PAR1')])
    truncated.writeUInt32LE(cut - footerStart, truncated.length - 8)
    await attempt(truncated, `footer cut at ${cut - footerStart}`)
  }
  for (let i = footerStart; i < good.length - 8; i++) {
    const flipped = Buffer.from(good)
    random = (random * 1103515245 + 12345) & 0x7fffffff
    flipped[i] ^= 1 << (random % 8)
    await attempt(flipped, `bit flip at ${i}`)
  }
  t.same(unexpected, [], 'every broken footer is CMP_ERR_BAD_PARQUET or readable figures')
  t.ok(refused > 100, `${refused} refused, ${read} still readable`)
  await t.rejects(readFooterFigures(join(dir, 'none.parquet'), 'none.parquet'), { code: 'CMP_ERR_INPUT_NOT_FOUND' })
})

t.test('a list claiming more elements than bytes left, or nesting past the limit, is refused at once', async t => {
  // FileMetaData { 2: list<struct> of 2^31 elements } and a struct nested 100 deep
  t.throws(() => footerFigures(Uint8Array.from([0x29, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07])), /truncated/)
  const deep = Buffer.concat([Buffer.from([0x1c]), Buffer.alloc(100, 0x1c), Buffer.alloc(101, 0)])
  t.throws(() => footerFigures(deep), /nested too deep/)
  t.throws(() => footerFigures(Uint8Array.from([0x15, 0x02, 0x00])), /no num_rows/, 'a footer without num_rows')
})

t.test('row counts are checked as the engine checks them: groups must add up to num_rows, none past MAX_ROW_GROUP_ROWS', async t => {
  // FileMetaData { 3: num_rows, 4: row_groups [ { 2: total_byte_size, 3: num_rows } ... ] }, zigzag varints
  const footer = (numRows: number, groups: number[]): Uint8Array => {
    const zz = (n: number): number[] => {
      let v = n * 2
      const out: number[] = []
      do { let b = v % 128; v = Math.floor(v / 128); if (v > 0) b |= 0x80; out.push(b) } while (v > 0)
      return out
    }
    return Uint8Array.from([0x36, ...zz(numRows), 0x19, (groups.length << 4) | 0x0c, ...groups.flatMap(n => [0x26, ...zz(100), 0x16, ...zz(n), 0x00]), 0x00])
  }
  t.same(footerFigures(footer(30, [10, 20])), { rows: 30, columns: [], largestRowGroupBytes: 100, totalBytes: 200, outOfOrder: false })
  t.throws(() => footerFigures(footer(31, [10, 20])), /row groups hold 30 rows, the footer says 31/)
  t.throws(() => footerFigures(footer(2 ** 40, [2 ** 40])), /a row group claims/)
})

t.test('a row group whose total_byte_size lies small counts its chunks\' declared sizes: the estimate stays an upper bound', async t => {
  const path = join(t.testdir(), 'lying.parquet')
  await writeSegment(path, rows(50))
  const file = readFileSync(path)
  const metadata = parquetMetadata(new Uint8Array(file).buffer)
  const declared = metadata.row_groups[0].columns.reduce((n, c) => n + Number(c.meta_data!.total_uncompressed_size), 0)
  metadata.row_groups[0].total_byte_size = 1n
  const writer = new ByteWriter()
  writeMetadata(writer, metadata)
  t.equal(footerFigures(Buffer.from(writer.getBuffer())).largestRowGroupBytes, declared)
})

t.test('out of order by the statistics: a row group\'s least name below the greatest of the one before, bounds taken as far as they are exact', async t => {
  // two row groups, names sorted: m0 rows, then m1 rows; their metric_name statistics are then rewritten
  const path = join(t.testdir(), 'two.parquet')
  await writeSegment(path, Array.from({ length: 20 }, (_, i) => ({ name: i < 10 ? 'm0' : 'm1', tid: BigInt(i), ts: 1_756_339_200_000 + i * 10_000, values: [i] })), { rowGroupSize: 10 })
  const metadata = parquetMetadata(new Uint8Array(readFileSync(path)).buffer)
  const name = metadata.schema.slice(1).filter(e => !e.num_children).findIndex(e => e.name === 'metric_name')
  t.ok(name >= 0 && metadata.row_groups.length === 2, 'a file of two row groups with metric_name')
  t.equal(footerFigures(footerOf(readFileSync(path))).outOfOrder, false, 'as written (sorted): not out of order')
  type Stats = { min?: string, max?: string, minExact?: boolean, maxExact?: boolean }
  const figures = (first: Stats | null, second: Stats | null) => {
    for (const [g, stats] of [first, second].entries()) {
      const meta = metadata.row_groups[g].columns[name].meta_data!
      meta.statistics = stats === null
        ? undefined
        : { null_count: 0n, min_value: stats.min, max_value: stats.max, is_min_value_exact: stats.minExact, is_max_value_exact: stats.maxExact }
    }
    const writer = new ByteWriter()
    writeMetadata(writer, metadata, 1000)
    return footerFigures(Buffer.from(writer.getBuffer()))
  }
  t.equal(figures({ min: 'm0', max: 'm1' }, { min: 'm1', max: 'm2' }).outOfOrder, false, 'a next least name equal to the greatest before: in order')
  t.equal(figures({ min: 'm0', max: 'm1' }, { min: 'm0', max: 'm2' }).outOfOrder, true, 'a next least name below the greatest before: out of order')
  t.equal(figures({ min: 'm0', max: 'm1' }, { min: 'm0', max: 'm2', minExact: false }).outOfOrder, true, 'a min cut short is still a prefix of the least name')
  t.equal(figures({ min: 'a', max: 'm1zzzz' }, { min: 'm1a', max: 'z' }).outOfOrder, true, 'an exact max: the byte after the common prefix decides')
  t.equal(figures({ min: 'a', max: 'm1zzzz', maxExact: false }, { min: 'm1a', max: 'z' }).outOfOrder, false, 'a max cut short and rounded up: its last four bytes prove nothing')
  t.equal(figures({ min: 'a', max: 'm1x' }, { min: 'm1', max: 'z' }).outOfOrder, true, 'two exact values: a shorter least name below its longer greatest')
  t.equal(figures({ min: 'a', max: 'm1x' }, { min: 'm1', max: 'z', minExact: false }).outOfOrder, false, 'a min cut short: its longer value may follow')
  t.equal(figures({ min: 'a', max: 'm1x' }, { min: 'm1', max: 'z', minExact: true }).outOfOrder, true, 'exact said, or not said (the default)')
  t.equal(figures({ min: 'm0', max: 'm1' }, null).outOfOrder, false, 'no statistics: nothing proven')
  const whole = figures({ min: 'm0', max: 'm1' }, { min: 'm0', max: 'm2' })
  t.ok(whole.totalBytes > whole.largestRowGroupBytes, 'the total counts both groups')
})
