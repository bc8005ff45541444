// Bad and hostile files fail with a typed error that names the file; never a crash, a hang or an
// allocation sized by a length field. Unusable key values drop their rows with a reason.
import t from 'tap'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parquetMetadata, type FileMetaData } from 'hyparquet'
import { ByteWriter } from 'hyparquet-writer'
import { writeMetadata } from 'hyparquet-writer/src/metadata.js'
import { parquetHeader } from 'hyparquet/src/column.js'
import { CompactorError } from '../../src/errors.ts'
import { compact } from '../../src/compaction/compact.ts'
import { MAX_PAGE_BYTES, readCompressors } from '../../src/compaction/codecs.ts'
import { writeSegment, type RowSpec } from '../support/segments.ts'

function rows (n: number): RowSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `metric_${i % 3}`, tid: BigInt(i % 7) * 1_000_000_000_007n, ts: 1_700_000_000_000 + i * 10_000, values: [i, i + 1], attrs: { resource_host: `h${i % 5}` },
  })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.tid < b.tid ? -1 : a.tid > b.tid ? 1 : a.ts - b.ts))
}

/** Compacts one file and returns the error it raised (or null on success). */
async function failureOf (path: string, outDir: string): Promise<CompactorError | null> {
  try {
    await compact({ inputs: [{ path, label: 'hostile.parquet' }], outDir })
    return null
  } catch (err) {
    if (!(err instanceof CompactorError)) throw err
    return err
  }
}

/** Rewrites a file's footer with changed metadata, keeping its data pages. */
function withFooter (bytes: Buffer, change: (m: FileMetaData) => void): Buffer {
  const metadata = parquetMetadata(bytes)
  change(metadata)
  const writer = new ByteWriter()
  writeMetadata(writer, metadata)
  writer.appendUint32(0x31524150)
  const footer = new Uint8Array(writer.getBuffer())
  const dataEnd = bytes.length - 8 - bytes.readUInt32LE(bytes.length - 8)
  return Buffer.concat([bytes.subarray(0, dataEnd), footer])
}

t.test('files that are not parquet fail with CMP_ERR_BAD_PARQUET naming the file', async t => {
  const dir = t.testdir()
  const good = join(dir, 'good.parquet')
  await writeSegment(good, rows(200))
  const bytes = await readFile(good)
  const cases: Record<string, Buffer> = {
    empty: Buffer.alloc(0),
    'random bytes': Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)),
    'wrong magic': Buffer.concat([Buffer.from('PAR2'), bytes.subarray(4)]),
    'truncated tail': bytes.subarray(0, bytes.length - 100),
    'truncated to the header': bytes.subarray(0, 12),
    'footer length beyond the file': Buffer.concat([bytes.subarray(0, bytes.length - 8), Buffer.from([0xf0, 0xff, 0xff, 0xff]), Buffer.from('PAR1')]),
    'footer length of 2 GiB': Buffer.concat([Buffer.alloc(64), Buffer.from('PAR1'), Buffer.from([0, 0, 0, 0x80]), Buffer.from('PAR1')]),
  }
  for (const [name, content] of Object.entries(cases)) {
    const path = join(dir, `${name}.parquet`)
    await writeFile(path, content)
    const err = await failureOf(path, dir)
    t.equal(err?.code, 'CMP_ERR_BAD_PARQUET', name)
    t.match(err?.message, /hostile\.parquet/, `${name}: the error names the file`)
    t.same(err?.details, { file: 'hostile.parquet' }, `${name}: details name the file`)
  }
})

t.test('footers claiming huge sizes are refused before anything is allocated for them', async t => {
  const dir = t.testdir()
  const good = join(dir, 'good.parquet')
  await writeSegment(good, rows(200))
  const bytes = await readFile(good)
  const mutations: Record<string, (m: FileMetaData) => void> = {
    'a row group of 2^40 rows': m => { m.row_groups[0].num_rows = 2n ** 40n; m.num_rows = 2n ** 40n },
    'a chunk of 2^50 compressed bytes': m => { m.row_groups[0].columns[0].meta_data!.total_compressed_size = 2n ** 50n },
    'a chunk starting past the end': m => { m.row_groups[0].columns[1].meta_data!.data_page_offset = BigInt(bytes.length * 4) },
    'a chunk of 2^40 values': m => { m.row_groups[0].columns[2].meta_data!.num_values = 2n ** 40n },
    'row counts that disagree': m => { m.num_rows = m.num_rows + 5n },
  }
  for (const [name, change] of Object.entries(mutations)) {
    const path = join(dir, `${name}.parquet`)
    await writeFile(path, withFooter(bytes, change))
    const before = process.memoryUsage().rss
    const err = await failureOf(path, dir)
    t.equal(err?.code, 'CMP_ERR_BAD_PARQUET', name)
    t.ok(process.memoryUsage().rss - before < 256 * 1024 * 1024, `${name}: no large allocation`)
  }
})

t.test('a page declaring more than the page limit is refused without allocating it', async t => {
  for (const codec of ['ZSTD', 'SNAPPY', 'GZIP', 'BROTLI', 'LZ4', 'LZ4_RAW'] as const) {
    t.throws(() => readCompressors[codec]!(new Uint8Array(16), MAX_PAGE_BYTES + 1), { name: 'PageSizeError' }, codec)
    t.throws(() => readCompressors[codec]!(new Uint8Array(16), 2 ** 40), { name: 'PageSizeError' }, codec)
  }
})

t.test('corrupt pages and random mutations fail cleanly or compact correctly', async t => {
  const dir = t.testdir()
  const good = join(dir, 'good.parquet')
  await writeSegment(good, rows(300), { rowGroupSize: 100 })
  const bytes = await readFile(good)
  let seed = 12345
  const random = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    return seed % n
  }
  const outcomes = { ok: 0, bad_parquet: 0, unsupported_schema: 0 }
  for (let i = 0; i < 150; i++) {
    const mutated = Buffer.from(bytes)
    const kind = i % 3
    if (kind === 0) {
      for (let k = 0; k < 1 + random(8); k++) mutated[4 + random(mutated.length - 12)] ^= 1 << random(8)
    } else if (kind === 1) {
      mutated.fill(0xff, 4 + random(mutated.length - 40), undefined)
      mutated.write('PAR1', mutated.length - 4)
    } else {
      const at = 4 + random(mutated.length - 16)
      mutated.writeUInt32LE(0xfffffff0 - random(1000), at)
    }
    const path = join(dir, `m${i}.parquet`)
    await writeFile(path, kind === 1 ? mutated.subarray(0, mutated.length) : mutated)
    const err = await failureOf(path, join(dir))
    if (err === null) outcomes.ok++
    else if (err.code === 'CMP_ERR_BAD_PARQUET') outcomes.bad_parquet++
    else if (err.code === 'CMP_ERR_UNSUPPORTED_SCHEMA') outcomes.unsupported_schema++
    else t.fail(`mutation ${i}: unexpected ${err.code}: ${err.message}`)
  }
  t.comment(`mutations: ${JSON.stringify(outcomes)}`)
  t.equal(outcomes.ok + outcomes.bad_parquet + outcomes.unsupported_schema, 150, 'every mutation ended in a result or a typed error')
  t.ok(outcomes.bad_parquet > 0, 'corruption is detected')
})

t.test('key values that cannot be used drop their rows as missing_key or bad_key', async t => {
  const dir = t.testdir()
  const path = join(dir, 'keys.parquet')
  await writeSegment(path, [
    { name: 'a', tid: '42', ts: 1_700_000_000_000, values: [1] },
    { name: 'a', tid: 'not-a-number', ts: 1_700_000_000_000, values: [1] },
    { name: 'a', tid: '99999999999999999999', ts: 1_700_000_000_000, values: [1] },
    { name: 'a', tid: null, ts: 1_700_000_000_000, values: [1] },
    { name: null, tid: '7', ts: 1_700_000_000_000, values: [1] },
    { name: '', tid: '7', ts: 1_700_000_000_000, values: [1] },
    { name: 'b', tid: '7', ts: null, values: [1] },
    { name: 'b', tid: '8', ts: 2n ** 60n, values: [1] },
  ], { tidAsString: true })
  const { report } = await compact({ inputs: [{ path }], outDir: dir })
  t.equal(report.rows_in, 8)
  t.equal(report.rows_out, 1, 'the decimal-string tid parses')
  t.same(report.dropped, { missing_key: 4, bad_key: 3, nonfinite_rollup: 0, missing_sketch: 0, bad_sketch: 0 })
})

t.test('a chunk left to the general reader is checked first: a level run claiming 2^31 values is CMP_ERR_BAD_PARQUET, not a spin', async t => {
  const dir = t.testdir()
  const path = join(dir, 'delta.parquet')
  // DELTA_BYTE_ARRAY: a layout the fast reader hands to hyparquet; every other row null, so the chunk has definition levels
  const data = rows(64).map((r, i) => ({ ...r, attrs: { resource_host: i % 2 === 0 ? null : `h${i % 5}` } }))
  await writeSegment(path, data, { encodings: { resource_host: 'DELTA_BYTE_ARRAY' } })
  await mkdir(join(dir, 'ok'))
  await mkdir(join(dir, 'out'))
  t.equal(await failureOf(path, join(dir, 'ok')), null, 'the file as written compacts')

  const bytes = await readFile(path)
  const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer)
  const chunk = metadata.row_groups[0].columns.find(c => c.meta_data?.path_in_schema[0] === 'resource_host')!.meta_data!
  t.equal(chunk.encodings.includes('DELTA_BYTE_ARRAY'), true)
  const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.length), offset: Number(chunk.data_page_offset) }
  const header = parquetHeader(reader)
  const v2 = header.data_page_header_v2!
  t.ok(v2.definition_levels_byte_length >= 5, 'the page has room for a 5-byte run header')
  // the first level run becomes an RLE run of 2^31 - 1 values (value byte 1 follows)
  const levels = reader.offset + v2.repetition_levels_byte_length
  Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x0f, 0x01]).copy(bytes, levels)
  const hostile = join(dir, 'hostile.parquet')
  await writeFile(hostile, bytes)
  const err = await failureOf(hostile, join(dir, 'out'))
  t.equal(err?.code, 'CMP_ERR_BAD_PARQUET')
  t.match(err?.message, /hostile\.parquet.*(RLE run|levels|run)/)
})
