// The engine's own output files as inputs (re-compactions and rollups read them): every chunk is
// decoded by the fast reader, byte for byte what hyparquet reads, and never by the general reader;
// DuckDB reads the encodings and exact statistics the footer states; the page index lies where the
// format puts it and filters as the pages do; hostile variants of the new encodings are refused with
// CMP_ERR_BAD_PARQUET.
import t from 'tap'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parquetMetadata, parquetReadObjects, parquetSchema, type FileMetaData } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import { ByteWriter } from 'hyparquet-writer'
import { compact } from '../../src/compaction/compact.ts'
import { parquetHeader, schemaElement, writePageHeader } from '../../src/compaction/parquet.ts'
import { UnsupportedChunk, readChunk, type DecodedColumn } from '../../src/compaction/read/chunk-reader.ts'
import { MemoryAccount, Tab } from '../../src/compaction/account.ts'
import { PageBuffer, encodeByteStreamSplit, encodeDeltaBinaryPacked, encodeDeltaLengthByteArray, encodeHybrid } from '../../src/compaction/write/encodings.ts'
import { CompactorError } from '../../src/errors.ts'
import { generate } from '../../bench/generate.ts'
import type { DataOptions } from '../../bench/profiles.ts'
import { duck, lit } from '../support/duckdb.ts'
import { writeSegment, type RowSpec } from '../support/segments.ts'
import { HAVE_FIXTURES, fixtureFolders } from '../helpers.ts'

const DATA: DataOptions = {
  files: 4, rows: 24_000, metrics: 12, series: 150, overlap: 0.15, frequencyMs: 10_000,
  rowGroupSize: 3000, unsorted: 0, columns: 60, seed: 21,
}

const ALLOWED = new Set(['PLAIN', 'RLE', 'RLE_DICTIONARY', 'DELTA_BINARY_PACKED', 'DELTA_LENGTH_BYTE_ARRAY', 'BYTE_STREAM_SPLIT'])

/** Generated inputs, their compaction at 10 s and at 60 s, and the fixtures' compactions: our files. */
async function ownFiles (dir: string): Promise<string[]> {
  await generate(DATA, join(dir, 'in'))
  const inputs = (await readdir(join(dir, 'in'))).filter(f => f.endsWith('.parquet')).map(f => ({ path: join(dir, 'in', f) }))
  const out: string[] = []
  for (const [name, frequencyMs] of [['out', 10_000], ['rollup', 60_000]] as const) {
    await mkdir(join(dir, name), { recursive: true })
    const { files } = await compact({ inputs, outDir: join(dir, name), frequencyMs, parallelWrite: false })
    out.push(...files.map(f => join(dir, name, f.file_name)))
  }
  if (HAVE_FIXTURES) {
    for (const [folder, paths] of fixtureFolders()) {
      await mkdir(join(dir, folder), { recursive: true })
      const { files } = await compact({ inputs: paths.map(path => ({ path })), outDir: join(dir, folder), parallelWrite: false })
      out.push(...files.map(f => join(dir, folder, f.file_name)))
    }
  }
  return out
}

type Cell = bigint | boolean | string | null
const f64 = new Float64Array(1)
const bits = new BigInt64Array(f64.buffer)
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

function cellsOf (column: DecodedColumn, n: number): Cell[] {
  const out: Cell[] = []
  for (let i = 0; i < n; i++) {
    switch (column.kind) {
      case 'int64': out.push(column.valid[i] ? column.values[i] : null); break
      case 'double': out.push(column.valid[i] ? ((f64[0] = column.values[i]), bits[0]) : null); break
      case 'bool': out.push(column.valid[i] ? column.values[i] === 1 : null); break
      case 'text': out.push(column.indices[i] < 0 ? null : hex(Buffer.from(column.dictionary[column.indices[i]]))); break
      case 'bytes': out.push(column.valid[i] ? hex(column.data.subarray(column.offsets[i], column.offsets[i + 1])) : null); break
      default: throw new Error('a column of the general reader')
    }
  }
  return out
}

/** A value as hyparquet reads it (byte arrays as bytes), as a cell. */
function cellOf (v: unknown): Cell {
  if (v === null || v === undefined) return null
  if (typeof v === 'number') return ((f64[0] = v), bits[0])
  if (v instanceof Uint8Array) return hex(v)
  if (typeof v === 'string') return hex(Buffer.from(v)) // a string column, as UTF-8
  return v as bigint | boolean
}

function metadataOf (bytes: Buffer): FileMetaData {
  return parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer)
}

let files: string[] = []
t.before(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'own-files-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  files = await ownFiles(dir)
})

t.test('every chunk of our files is decoded by the fast reader, byte for byte what hyparquet reads, in the allowed encodings', async t => {
  const seen = new Set<string>()
  let chunks = 0
  for (const path of files) {
    const bytes = await readFile(path)
    const metadata = metadataOf(bytes)
    const elements = parquetSchema(metadata).children.map(c => c.element)
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer
    const rows = await parquetReadObjects({ file: buffer, metadata, compressors, utf8: false })
    let first = 0
    for (const group of metadata.row_groups) {
      const n = Number(group.num_rows)
      for (const [c, chunk] of group.columns.entries()) {
        const meta = chunk.meta_data!
        const name = meta.path_in_schema[0]
        for (const e of meta.encodings) if (!ALLOWED.has(e)) t.fail(`${name}: ${e}`)
        const encoding = meta.encoding_stats!.find(s => s.page_type === 'DATA_PAGE')!.encoding
        seen.add(`${name.startsWith('chq_') || name === 'metric_name' ? name : elements[c].type} ${encoding}`)
        let decoded: Cell[]
        try {
          decoded = cellsOf(readChunk(bytes, 0, meta, elements[c], n, new Tab(new MemoryAccount(Infinity), path)), n)
        } catch (err) {
          if (err instanceof UnsupportedChunk) t.fail(`${path} ${name}: left to the general reader (${err.message})`)
          throw err
        }
        const expected = rows.slice(first, first + n).map(r => cellOf(r[name]))
        const at = decoded.findIndex((v, i) => v !== expected[i])
        if (at >= 0) t.fail(`${name}, row ${first + at}: ${String(decoded[at])} read, hyparquet reads ${String(expected[at])}`)
        chunks++
      }
      first += n
    }
  }
  t.ok(chunks > 300, `${chunks} chunks of ${files.length} files decoded`)
  for (const expected of ['metric_name RLE_DICTIONARY', 'chq_rollup_p50 RLE_DICTIONARY', 'chq_rollup_sum BYTE_STREAM_SPLIT', 'chq_sketch PLAIN']) {
    t.ok(seen.has(expected), `${expected} among the chunks`)
  }
  t.ok([...seen].some(s => s.startsWith('chq_timestamp ')), 'timestamps')
  t.comment([...seen].sort().join('\n'))
})

t.test('re-compacting and rolling up our own files never calls the general reader', async t => {
  const actual = await import('../../src/compaction/read/chunk-reader.ts')
  let general = 0
  const { compact: watched } = await t.mockImport<typeof import('../../src/compaction/compact.ts')>('../../src/compaction/compact.ts', {
    '../../src/compaction/read/chunk-reader.ts': {
      ...actual,
      checkForGeneralReader: (...args: Parameters<typeof actual.checkForGeneralReader>) => {
        general++
        return actual.checkForGeneralReader(...args)
      },
    },
  })
  const dir = t.testdir({ x: {}, again: {}, rolled: {} })
  // the watch works: a DELTA_BYTE_ARRAY column is the general reader's
  const rows: RowSpec[] = Array.from({ length: 20 }, (_, i) => ({ name: 'm', tid: BigInt(i), ts: 1_700_000_000_000, values: [i], attrs: { resource_host: `h${i % 3}` } }))
  await writeSegment(join(dir, 'delta.parquet'), rows, { encodings: { resource_host: 'DELTA_BYTE_ARRAY' } })
  await watched({ inputs: [{ path: join(dir, 'delta.parquet') }], outDir: join(dir, 'x'), parallelWrite: false })
  t.ok(general > 0, 'a DELTA_BYTE_ARRAY chunk goes to the general reader')
  general = 0
  const ours = files.filter(f => f.includes('/out/')).map(path => ({ path }))
  const again = await watched({ inputs: ours, outDir: join(dir, 'again'), parallelWrite: false })
  const rolled = await watched({ inputs: ours, outDir: join(dir, 'rolled'), frequencyMs: 60_000, parallelWrite: false })
  t.equal(general, 0, 'no chunk of our files went to the general reader')
  t.equal(again.report.rows_out, again.report.rows_in, 're-compacted: every row is its own group again')
  t.ok(rolled.report.rows_out < rolled.report.rows_in, 'rolled up')
  const sum = async (paths: string[]) => (await duck(`SELECT sum(chq_rollup_count) AS c, count(*) AS n FROM read_parquet([${paths.map(lit).join(', ')}])`))[0]
  t.same(await sum(again.files.map(f => join(dir, 'again', f.file_name))), await sum(ours.map(o => o.path)), 'the same counts and rows')
})

t.test('DuckDB reads the encodings we state and our exact statistics: min/max of every row group of the key and rollup columns', async t => {
  for (const path of files.filter(f => f.includes('/out/') || f.includes('/rollup/')).slice(0, 3)) {
    const metadata = metadataOf(await readFile(path))
    const theirs = await duck(`SELECT row_group_id AS g, path_in_schema AS c, encodings, stats_min_value AS lo, stats_max_value AS hi, stats_null_count AS nulls, min_is_exact, max_is_exact
      FROM parquet_metadata(${lit(path)})`)
    let first = 0
    for (const [g, group] of metadata.row_groups.entries()) {
      const n = Number(group.num_rows)
      for (const chunk of group.columns) {
        const meta = chunk.meta_data!
        const name = meta.path_in_schema[0]
        const row = theirs.find(r => Number(r.g) === g && r.c === name)!
        t.same(String(row.encodings).split(', ').sort(), [...meta.encodings].sort(), `${name}: the encodings`)
        t.equal(row.nulls, meta.statistics!.null_count, `${name}: the null count`)
        if (name === 'metric_name' || name === 'chq_tid' || name === 'chq_timestamp' || name.startsWith('chq_rollup_')) {
          const [real] = await duck(`SELECT min("${name}")::VARCHAR AS lo, max("${name}")::VARCHAR AS hi FROM read_parquet(${lit(path)}, file_row_number = true)
            WHERE file_row_number >= ${first} AND file_row_number < ${first + n}`)
          t.equal(row.lo, real.lo, `row group ${g} ${name}: min`)
          t.equal(row.hi, real.hi, `row group ${g} ${name}: max`)
          t.equal(row.min_is_exact, true)
          t.equal(row.max_is_exact, true)
        }
      }
      first += n
    }
  }
})

t.test('the page index lies after the row groups (every ColumnIndex, then every OffsetIndex) and hyparquet filters by it as by the pages', async t => {
  for (const path of files.filter(f => f.includes('/out/')).slice(0, 2)) {
    const bytes = await readFile(path)
    const metadata = metadataOf(bytes)
    const chunks = metadata.row_groups.flatMap(g => g.columns)
    const dataEnd = Math.max(...chunks.map(c => Number(c.meta_data!.dictionary_page_offset ?? c.meta_data!.data_page_offset) + Number(c.meta_data!.total_compressed_size)))
    const footer = bytes.length - 8 - bytes.readUInt32LE(bytes.length - 8)
    let at = dataEnd
    const misplaced: string[] = []
    for (const c of chunks) {
      if (Number(c.column_index_offset) !== at) misplaced.push(`${c.meta_data!.path_in_schema[0]}: column index at ${c.column_index_offset}, ${at} expected`)
      at += c.column_index_length!
    }
    for (const c of chunks) {
      if (Number(c.offset_index_offset) !== at) misplaced.push(`${c.meta_data!.path_in_schema[0]}: offset index at ${c.offset_index_offset}, ${at} expected`)
      at += c.offset_index_length!
    }
    t.same(misplaced, [], `${chunks.length} column indexes right after the row groups, then as many offset indexes`)
    t.ok(at <= footer, 'before the footer')
    // each offset index points at its chunk's data pages, in order, the first at data_page_offset
    for (const c of chunks) {
      const { readOffsetIndex } = await import('hyparquet/src/indexes.js')
      const index = readOffsetIndex({ view: new DataView(bytes.buffer, bytes.byteOffset + Number(c.offset_index_offset), c.offset_index_length), offset: 0 })
      if (index.page_locations[0].offset !== c.meta_data!.data_page_offset) t.fail(`${c.meta_data!.path_in_schema[0]}: first page`)
      let rows = 0n
      for (const location of index.page_locations) {
        const reader = { view: new DataView(bytes.buffer, bytes.byteOffset), offset: Number(location.offset) }
        const header = parquetHeader(reader)
        if (header.type !== 'DATA_PAGE' || location.first_row_index !== rows) t.fail(`${c.meta_data!.path_in_schema[0]}: page at ${location.offset}`)
        rows += BigInt(header.data_page_header!.num_values)
      }
      if (rows !== c.meta_data!.num_values) t.fail(`${c.meta_data!.path_in_schema[0]}: ${rows} rows in the pages`)
    }
    t.pass('every offset index lists its chunk\'s data pages, in order, with their first rows')
    // a query that the column index narrows: the same rows with and without it
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer
    const all = await parquetReadObjects({ file: buffer, compressors })
    const names = [...new Set(all.map(r => r.metric_name as string))]
    for (const name of [names[0], names[Math.floor(names.length / 2)], 'zzz-absent']) {
      const filtered = await parquetReadObjects({ file: buffer, compressors, filter: { metric_name: { $eq: name } }, usePageIndex: true })
      t.same(filtered.map(r => r.chq_tid), all.filter(r => r.metric_name === name).map(r => r.chq_tid), `metric_name = ${name}`)
    }
  }
})

/** A column chunk of one uncompressed v1 data page: `rows` rows all present, the values as given. */
function chunkOf (type: 'INT64' | 'INT32' | 'DOUBLE' | 'FLOAT' | 'BYTE_ARRAY' | 'BOOLEAN', encoding: string, rows: number, values: Uint8Array): { bytes: Uint8Array, meta: Parameters<typeof readChunk>[2] } {
  const body = new PageBuffer(64)
  body.u32(0)
  encodeHybrid(body, new Uint8Array(rows).fill(1), rows, 1)
  body.view.setUint32(0, body.length - 4, true)
  body.raw(values)
  const writer = new ByteWriter()
  writePageHeader(writer, {
    type: 'DATA_PAGE',
    uncompressed_page_size: body.length,
    compressed_page_size: body.length,
    data_page_header: { num_values: rows, encoding: encoding as never, definition_level_encoding: 'RLE', repetition_level_encoding: 'RLE' },
  })
  writer.appendBytes(body.bytes.subarray(0, body.length))
  const bytes = new Uint8Array(writer.getBuffer())
  return {
    bytes,
    meta: {
      type, encodings: ['RLE', encoding as never], path_in_schema: ['c'], codec: 'UNCOMPRESSED', num_values: BigInt(rows),
      total_uncompressed_size: BigInt(bytes.length), total_compressed_size: BigInt(bytes.length), data_page_offset: 0n,
    },
  }
}

t.test('truncated pages of every encoding the writer emits are an Error, never a crash or an allocation of their claims', async t => {
  const rows = 300
  const values = (build: (out: PageBuffer) => void): Uint8Array => {
    const out = new PageBuffer(64)
    build(out)
    return out.bytes.slice(0, out.length)
  }
  const longs = new Int32Array(BigInt64Array.from({ length: rows }, (_, i) => BigInt(i) * 1_000_003n - 7n).buffer)
  const doubles = new Uint8Array(Float64Array.from({ length: rows }, (_, i) => i / 7).buffer)
  const blobs = new TextEncoder().encode('x'.repeat(rows * 3))
  const offsets = Int32Array.from({ length: rows + 1 }, (_, i) => 3 * i)
  const cases: Array<[string, 'INT64' | 'DOUBLE' | 'BYTE_ARRAY' | 'BOOLEAN', string, Uint8Array]> = [
    ['DELTA_BINARY_PACKED int64', 'INT64', 'DELTA_BINARY_PACKED', values(out => encodeDeltaBinaryPacked(out, longs, 0, rows))],
    ['BYTE_STREAM_SPLIT double', 'DOUBLE', 'BYTE_STREAM_SPLIT', values(out => encodeByteStreamSplit(out, doubles, 0, rows, 8))],
    ['BYTE_STREAM_SPLIT int64', 'INT64', 'BYTE_STREAM_SPLIT', values(out => encodeByteStreamSplit(out, new Uint8Array(longs.buffer), 0, rows, 8))],
    ['DELTA_LENGTH_BYTE_ARRAY bytes', 'BYTE_ARRAY', 'DELTA_LENGTH_BYTE_ARRAY', values(out => encodeDeltaLengthByteArray(out, blobs, offsets, Int32Array.from({ length: rows }, (_, i) => i), 0, rows))],
    ['RLE booleans', 'BOOLEAN', 'RLE', values(out => {
      out.u32(0)
      encodeHybrid(out, Uint8Array.from({ length: rows }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0), rows, 1)
      out.view.setUint32(0, out.length - 4, true)
    })],
  ]
  for (const [what, type, encoding, good] of cases) {
    const element = { name: 'c', repetition_type: 'OPTIONAL' as const, type }
    const read = (page: Uint8Array) => {
      const { bytes, meta } = chunkOf(type, encoding, rows, page)
      return readChunk(bytes, 0, meta, element, rows, new Tab(new MemoryAccount(64 * 1024 * 1024), 'hostile'))
    }
    t.equal(read(good).kind === 'values', false, `${what}: the page as written decodes on the fast path`)
    const wrong: string[] = []
    for (let cut = 0; cut < good.length; cut++) {
      try {
        read(good.subarray(0, cut))
        wrong.push(`${cut}: decoded`)
      } catch (err) {
        if (!(err instanceof Error) || err instanceof UnsupportedChunk || err instanceof RangeError || err instanceof CompactorError) wrong.push(`${cut}: ${String(err)}`)
      }
    }
    t.same(wrong, [], `${what}: each of ${good.length} truncations is an Error`)
  }
})

t.test('32-bit columns of other writers (INT32, UINT_32, FLOAT) in BYTE_STREAM_SPLIT and DELTA_BINARY_PACKED decode on the fast path', async t => {
  const ints = [-5, 7, 2 ** 31 - 1, -(2 ** 31), 0, 123_456]
  const read = (type: 'INT32' | 'FLOAT', encoding: string, values: Uint8Array, extra = {}) => {
    const { bytes, meta } = chunkOf(type, encoding, ints.length, values)
    return readChunk(bytes, 0, meta, { name: 'c', repetition_type: 'OPTIONAL', type, ...extra }, ints.length, new Tab(new MemoryAccount(Infinity), 'other'))
  }
  const split = (bytes: Uint8Array, width: number) => {
    const out = new PageBuffer(16)
    encodeByteStreamSplit(out, bytes, 0, bytes.length / width, width)
    return out.bytes.slice(0, out.length)
  }
  const int32 = new Uint8Array(Int32Array.from(ints).buffer)
  const asInt64 = (c: DecodedColumn) => (c.kind === 'int64' ? [...c.values] : [])
  t.same(asInt64(read('INT32', 'BYTE_STREAM_SPLIT', split(int32, 4))), ints.map(BigInt), 'INT32, BYTE_STREAM_SPLIT')
  t.same(asInt64(read('INT32', 'BYTE_STREAM_SPLIT', split(int32, 4), { converted_type: 'UINT_32' })), ints.map(v => BigInt(v >>> 0)), 'UINT_32, BYTE_STREAM_SPLIT: zero-extended')
  const delta = new PageBuffer(16)
  encodeDeltaBinaryPacked(delta, new Int32Array(BigInt64Array.from(ints.map(BigInt)).buffer), 0, ints.length)
  t.same(asInt64(read('INT32', 'DELTA_BINARY_PACKED', delta.bytes.slice(0, delta.length), { converted_type: 'UINT_32' })), ints.map(v => BigInt(v >>> 0)), 'UINT_32, DELTA_BINARY_PACKED: zero-extended')
  const floats = Float32Array.from([1.5, -2.25, 1e30, 0, -0, 3.1415927])
  const column = read('FLOAT', 'BYTE_STREAM_SPLIT', split(new Uint8Array(floats.buffer), 4))
  t.same(column.kind === 'double' ? [...column.values] : [], [...floats], 'FLOAT, BYTE_STREAM_SPLIT')
})

t.test('hostile DELTA headers in a segment (lying value counts, forbidden block layouts) are CMP_ERR_BAD_PARQUET', async t => {
  const dir = t.testdir({ good: {}, out: {} })
  const rows: RowSpec[] = Array.from({ length: 64 }, (_, i) => ({ name: 'm', tid: BigInt(i) * 1_000_003n, ts: 1_700_000_000_000 + i * 10_000, values: [i], attrs: { resource_host: `host-${i % 5}` } }))
  const path = join(dir, 'delta.parquet')
  await writeSegment(path, rows, { codec: 'UNCOMPRESSED', encodings: { chq_tid: 'DELTA_BINARY_PACKED', resource_host: 'DELTA_LENGTH_BYTE_ARRAY', chq_rollup_sum: 'BYTE_STREAM_SPLIT' } })
  const good = await compact({ inputs: [{ path }], outDir: join(dir, 'good') })
  t.equal(good.report.rows_out, 64, 'the file as written compacts')
  const bytes = await readFile(path)
  const metadata = metadataOf(bytes)
  /** Where a column's first page's values begin (v2 page: after the levels). */
  const valuesAt = (name: string): number => {
    const meta = metadata.row_groups[0].columns.find(c => c.meta_data!.path_in_schema[0] === name)!.meta_data!
    const reader = { view: new DataView(bytes.buffer, bytes.byteOffset), offset: Number(meta.data_page_offset) }
    const header = parquetHeader(reader)
    const v2 = header.data_page_header_v2!
    return reader.offset + v2.repetition_levels_byte_length + v2.definition_levels_byte_length
  }
  const mutations: Array<[string, string, number, number[]]> = [
    // header: block size 128 (80 01), 4 miniblocks, 64 values (40)
    ['chq_tid', 'miniblocks of 128/3 values', 2, [3]],
    ['chq_tid', 'a value count one more than the page', 3, [65]],
    ['chq_tid', 'a value count one less', 3, [63]],
    ['chq_tid', 'a block of 64 values', 0, [0xc0, 0x00]],
    ['resource_host', 'lengths claiming 65 values', 3, [65]],
  ]
  for (const [column, what, offset, patch] of mutations) {
    const copy = Buffer.from(bytes)
    const at = valuesAt(column)
    t.same([...copy.subarray(at, at + 4)], [0x80, 0x01, 0x04, 0x40], `${column}: the DELTA header where expected`)
    copy.set(patch, at + offset)
    const hostile = join(dir, 'hostile.parquet')
    await writeFile(hostile, copy)
    await t.rejects(compact({ inputs: [{ path: hostile, label: 'hostile.parquet' }], outDir: join(dir, 'out') }), { code: 'CMP_ERR_BAD_PARQUET', message: /hostile\.parquet/ }, `${column}: ${what}`)
  }
})
