// Bad and hostile files fail with a typed error that names the file; never a crash, a hang or an
// allocation sized by a length field: a file that lies is CMP_ERR_BAD_PARQUET, one that does not fit
// the compaction's memory CMP_ERR_INPUT_TOO_COSTLY. Unusable key values drop their rows with a reason.
import t, { type Test } from 'tap'
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parquetMetadata, type FileMetaData } from 'hyparquet'
import { ByteWriter } from 'hyparquet-writer'
import { parquetHeader, writeMetadata } from '../../src/compaction/parquet.ts'
import { CompactorError } from '../../src/errors.ts'
import { MemoryAccount, Tab } from '../../src/compaction/account.ts'
import { checkForGeneralReader } from '../../src/compaction/read/chunk-reader.ts'
import { compact } from '../../src/compaction/compact.ts'
import { MAX_PAGE_BYTES, readCompressors } from '../../src/compaction/codecs.ts'
import { openSegment } from '../../src/compaction/read/segment.ts'
import { bombName, writeDictionaryBomb, writeZstdBomb, type ZstdBombOptions } from '../support/hostile.ts'
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

/** The reservation the bombs are compacted under. */
const LIMIT = 64 * 1024 * 1024

/** Compacts one file under LIMIT; returns the error it raised (null on success), the RSS growth and the time taken. */
async function underLimit (path: string, outDir: string): Promise<{ err: CompactorError | null, grown: number, ms: number }> {
  const rss = process.memoryUsage().rss
  const started = performance.now()
  let err: CompactorError | null = null
  try {
    await compact({ inputs: [{ path, label: 'bomb.parquet' }], outDir, memoryLimitBytes: LIMIT, parallelWrite: false })
  } catch (e) {
    if (!(e instanceof CompactorError)) throw e
    err = e
  }
  return { err, grown: process.memoryUsage().rss - rss, ms: performance.now() - started }
}

/** Asserts the compaction of a bomb was over fast, with no allocation of its size. */
function overFast (t: Test, { grown, ms }: { grown: number, ms: number }, name: string): void {
  t.ok(grown < 100 * 1024 * 1024, `${name}: RSS grew ${Math.round(grown / 2 ** 20)} MiB`)
  t.ok(ms < 5000, `${name}: over in ${Math.round(ms)} ms`)
}

t.test('the dictionary bomb (64M strings in one 256 MiB page, the footer lying small) is CMP_ERR_BAD_PARQUET before its page is decompressed', async t => {
  const dir = t.testdir()
  const path = join(dir, 'bomb.parquet')
  await writeDictionaryBomb(path)
  t.ok((await stat(path)).size < 12 * 1024, 'the file is ~10 KB')
  const outcome = await underLimit(path, dir)
  t.equal(outcome.err?.code, 'CMP_ERR_BAD_PARQUET')
  t.match(outcome.err?.message, /bomb\.parquet.*pages declare \d+ uncompressed bytes, the footer's total_uncompressed_size/)
  t.same(outcome.err?.details, { file: 'bomb.parquet' })
  overFast(t, outcome, 'dictionary bomb')
})

t.test('a dictionary claiming more entries than its column chunk has values is CMP_ERR_BAD_PARQUET', async t => {
  const dir = t.testdir()
  const path = join(dir, 'bomb.parquet')
  await writeDictionaryBomb(path, { honestSizes: true })
  const outcome = await underLimit(path, dir)
  t.equal(outcome.err?.code, 'CMP_ERR_BAD_PARQUET')
  t.match(outcome.err?.message, /dictionary page claims 67108864 entries, the column chunk has 4 values/)
  overFast(t, outcome, 'dictionary over its values')
})

t.test('a dictionary whose strings do not fit the reservation is CMP_ERR_INPUT_TOO_COSTLY before they are made', async t => {
  const dir = t.testdir()
  const path = join(dir, 'bomb.parquet')
  // 8M empty strings: a 32 MiB page that fits the limit, strings that do not
  await writeDictionaryBomb(path, { entries: 8 * 1024 * 1024, honestSizes: true, honestValues: true })
  const outcome = await underLimit(path, dir)
  t.equal(outcome.err?.code, 'CMP_ERR_INPUT_TOO_COSTLY')
  t.equal(outcome.err?.status, 422)
  t.match(outcome.err?.message, /bomb\.parquet: \d+ more bytes would bring the compaction to \d+, over the 67108864 reserved for it/)
  t.equal(outcome.err?.details?.file, 'bomb.parquet')
  t.equal(outcome.err?.details?.budget_bytes, LIMIT)
  t.ok((outcome.err?.details?.needed_bytes as number) > 8 * 1024 * 1024 * 8, 'needed_bytes counts the strings')
  overFast(t, outcome, 'dictionary strings')
})

t.test('ZSTD bombs whose footer lies small are CMP_ERR_BAD_PARQUET before any page is decompressed', async t => {
  const dir = t.testdir()
  const cases: Record<string, ZstdBombOptions> = {
    'one page': {},
    '20 pages per column': { pagesPerColumn: 20 },
    '40 columns': { columns: 40 },
  }
  for (const [name, options] of Object.entries(cases)) {
    const path = join(dir, `${name}.parquet`)
    await writeZstdBomb(path, options)
    const outcome = await underLimit(path, dir)
    t.equal(outcome.err?.code, 'CMP_ERR_BAD_PARQUET', name)
    t.match(outcome.err?.message, /bomb\.parquet.*pages declare/, `${name}: the footer's sizes are checked against the pages'`)
    overFast(t, outcome, name)
  }
})

t.test('a ZSTD bomb with honest sizes is CMP_ERR_INPUT_TOO_COSTLY: its first page is charged, not decompressed', async t => {
  const dir = t.testdir()
  const path = join(dir, 'bomb.parquet')
  await writeZstdBomb(path, { honestSizes: true, pagesPerColumn: 20 })
  const outcome = await underLimit(path, dir)
  t.equal(outcome.err?.code, 'CMP_ERR_INPUT_TOO_COSTLY')
  t.equal(outcome.err?.details?.file, 'bomb.parquet')
  t.ok((outcome.err?.details?.needed_bytes as number) > MAX_PAGE_BYTES, 'the page\'s declared size is needed')
  overFast(t, outcome, 'honest bomb')
})

t.test('pages of 0 values are skipped, not decompressed: bomb pages holding no values compact under the limit', async t => {
  const dir = t.testdir()
  const path = join(dir, 'bomb.parquet')
  await writeZstdBomb(path, { honestSizes: true, emptyPages: true, pagesPerColumn: 3, columns: 2 })
  const outcome = await underLimit(path, dir)
  t.equal(outcome.err, null, 'compacted')
  overFast(t, outcome, 'empty pages')
})

t.test('a chunk left to the general reader is charged page by page while it is checked', async t => {
  const dir = t.testdir()
  for (const honestSizes of [true, false]) {
    const path = join(dir, `bomb-${honestSizes}.parquet`)
    await writeZstdBomb(path, { honestSizes })
    const segment = await openSegment(path, 0)
    t.teardown(() => segment.close())
    const index = segment.columnIndex.get(bombName(0))!
    const [lo, hi] = segment.chunkRanges[0][index]
    const bytes = new Uint8Array(await segment.file.slice(lo, hi))
    const meta = segment.metadata.row_groups[0].columns[index].meta_data!
    const account = new MemoryAccount(LIMIT)
    const check = (): unknown => checkForGeneralReader(bytes, lo, meta, segment.elements[index], segment.numRows, new Tab(account, 'bomb.parquet'))
    if (honestSizes) t.throws(check, { code: 'CMP_ERR_INPUT_TOO_COSTLY' }, 'honest sizes: the page does not fit')
    else t.throws(check, /pages declare/, 'lying sizes: the footer is caught')
    t.equal(account.used, 0, 'nothing stays charged')
  }
})
