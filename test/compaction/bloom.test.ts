// The output files' metadata for readers (docs/DOMAIN.md section 5): split-block bloom filters on
// metric_name, chq_tid and the string columns (xxHash64, the SBBF layout, the 1 % sizing, the
// per-file budget), sorting_columns and column_orders. Checked against hyparquet's independent
// BigInt xxHash64 and SBBF, and read back with DuckDB (parquet_bloom_probe, parquet_metadata,
// parquet_file_metadata) and hyparquet.
import t from 'tap'
import type { RowGroup } from 'hyparquet'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ByteWriter } from 'hyparquet-writer'
import { parquetMetadata, parquetReadObjects } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import { xxhash64 as referenceXxhash64 } from 'hyparquet/src/xxhash.js'
import { hashParquetValue, readBloomFilter, sbbfContains } from 'hyparquet/src/bloom.js'
import { deserializeTCompactProtocol } from 'hyparquet/src/thrift.js'
import { sbbfInsert } from 'hyparquet-writer/src/bloom.js'
import {
  BLOOM_BUDGET_DIVISOR, BLOOM_FPP, SplitBlockBloomFilter, bloomFilterBytes, bloomFpp, bloomHeaderBytes, writeBloomFilter,
  writeBloomFilters, xxhash64, xxhash64Int64,
} from '../../src/compaction/write/bloom.ts'
import type { ColumnValues } from '../../src/compaction/write/column-writer.ts'
import { compact } from '../../src/compaction/compact.ts'
import { duck, lit } from '../support/duckdb.ts'
import { writeSegment, type RowSpec } from '../support/segments.ts'

/** A small seeded generator (mulberry32): the same data on every run. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

function randomInt64 (random: () => number): bigint {
  const hi = BigInt(Math.floor(random() * 4294967296))
  const lo = BigInt(Math.floor(random() * 4294967296))
  return BigInt.asIntN(64, (hi << 32n) | lo)
}

const out = new Uint32Array(2)
const hashOf = (): bigint => (BigInt(out[0]) << 32n) | BigInt(out[1])
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

t.test('xxHash64 (seed 0) gives the published test vectors and agrees with hyparquet\'s BigInt implementation', async t => {
  // cespare/xxhash xxhash_test.go TestSum (the 63-byte input exercises every code path)
  const vectors: Array<[string, bigint]> = [
    ['', 0xef46db3751d8e999n],
    ['a', 0xd24ec4f1a98c6e5bn],
    ['as', 0x1c330fb2d66be179n],
    ['asd', 0x631c37ce72a97393n],
    ['asdf', 0x415872f599cea71en],
    ['Call me Ishmael. Some years ago--never mind how long precisely-', 0x02a2e85470d6fd96n],
  ]
  for (const [input, expected] of vectors) {
    const bytes = utf8(input)
    xxhash64(bytes, 0, bytes.length, out)
    t.equal(hashOf(), expected, JSON.stringify(input))
  }
  // a sub-range hashes as the bytes alone
  const padded = utf8('xxasdfyy')
  xxhash64(padded, 2, 6, out)
  t.equal(hashOf(), 0x415872f599cea71en, 'bytes [start, end) of a larger buffer')

  const random = prng(1)
  let differ = 0
  for (let length = 0; length <= 300; length++) {
    const bytes = Uint8Array.from({ length }, () => Math.floor(random() * 256))
    xxhash64(bytes, 0, length, out)
    if (hashOf() !== referenceXxhash64(bytes)) differ++
  }
  t.equal(differ, 0, 'every length from 0 to 300 bytes (stripes, 8-, 4- and 1-byte tails)')

  const values = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 32n, -(2n ** 32n), 0x00000000ffffffffn]
  for (let i = 0; i < 2000; i++) values.push(randomInt64(random))
  differ = 0
  for (const v of values) {
    const words = new Int32Array(BigInt64Array.of(v).buffer)
    xxhash64Int64(words[0], words[1], out)
    if (hashOf() !== hashParquetValue(v, { name: 'chq_tid', type: 'INT64' })) differ++
  }
  t.equal(differ, 0, `${values.length} int64 values hashed from their words equal the hash of their 8 PLAIN bytes`)
})

t.test('the filter sets the bits the parquet spec sets (hyparquet-writer\'s sbbfInsert) and never forgets a value', async t => {
  const random = prng(2)
  for (const numBytes of [32, 64, 1024, 32768]) {
    const ours = new SplitBlockBloomFilter(numBytes)
    const theirs = new Uint32Array(numBytes / 4)
    const hashes: Array<[number, number]> = []
    for (let i = 0; i < numBytes / 4; i++) {
      const hi = Math.floor(random() * 4294967296)
      const lo = Math.floor(random() * 4294967296)
      hashes.push([hi, lo])
      ours.insert(hi, lo)
      sbbfInsert(theirs, (BigInt(hi) << 32n) | BigInt(lo))
    }
    t.same([...ours.words], [...theirs], `${numBytes} bytes: the same words`)
    t.ok(hashes.every(([hi, lo]) => ours.mightContain(hi, lo)), 'every inserted hash is found')
  }
  t.throws(() => new SplitBlockBloomFilter(96), /power of two/)
  t.throws(() => new SplitBlockBloomFilter(16), /power of two/)
})

t.test('filters are the fewest power-of-two blocks whose expected false-positive rate is at most 1 %', async t => {
  t.equal(BLOOM_FPP, 0.01)
  for (const ndv of [1, 2, 10, 24, 25, 100, 1000, 6719, 10_000, 100_000]) {
    const bytes = bloomFilterBytes(ndv)
    const blocks = bytes / 32
    t.ok(bytes >= 32 && (bytes & (bytes - 1)) === 0, `${ndv} values: ${bytes} bytes, a power of two`)
    t.ok(bloomFpp(ndv, blocks) <= BLOOM_FPP, `${ndv} values: expected rate ${bloomFpp(ndv, blocks).toFixed(5)}`)
    if (blocks > 1) t.ok(bloomFpp(ndv, blocks / 2) > BLOOM_FPP, `${ndv} values: half the blocks would exceed 1 %`)
    if (ndv >= 25) {
      const bits = bytes * 8 / ndv
      t.ok(bits >= 10 && bits <= 21.5, `${ndv} values: ${bits.toFixed(1)} bits per value`)
    }
  }
  // measured: a full-size filter at the sizing limit's load
  const random = prng(3)
  const ndv = 12_400 // 24.2 per block of 512: just under the load the sizing allows
  const filter = new SplitBlockBloomFilter(bloomFilterBytes(ndv))
  t.equal(filter.words.byteLength, 16384)
  for (let i = 0; i < ndv; i++) filter.insert(Math.floor(random() * 4294967296), Math.floor(random() * 4294967296))
  let positives = 0
  const probes = 200_000
  for (let i = 0; i < probes; i++) if (filter.mightContain(Math.floor(random() * 4294967296), Math.floor(random() * 4294967296))) positives++
  const rate = positives / probes
  t.comment(`measured false-positive rate at ${(ndv / 512).toFixed(1)} values per block: ${(rate * 100).toFixed(3)} % (expected ${(bloomFpp(ndv, 512) * 100).toFixed(3)} %)`)
  t.ok(rate <= BLOOM_FPP * 1.15, 'within the stated rate (sampling noise aside)')
  t.ok(Math.abs(rate - bloomFpp(ndv, 512)) < 0.0015, 'the expected-rate formula matches the measured rate')
})

t.test('the bytes of a filter: BloomFilterHeader (numBytes, BLOCK, XXHASH, UNCOMPRESSED) and the blocks little-endian', async t => {
  for (const numBytes of [32, 64, 2048, 1 << 20]) {
    const filter = new SplitBlockBloomFilter(numBytes)
    filter.insert(0x12345678, 0x9abcdef0)
    const writer = new ByteWriter()
    writeBloomFilter(writer, filter)
    const bytes = new Uint8Array(writer.getBuffer())
    t.equal(bytes.length, bloomHeaderBytes(numBytes) + numBytes, `${numBytes}: header of ${bloomHeaderBytes(numBytes)} bytes, then the blocks`)
    const reader = { view: new DataView(bytes.buffer), offset: 0 }
    const header = deserializeTCompactProtocol(reader) as Record<string, unknown>
    t.same(header, { field_1: numBytes, field_2: { field_1: {} }, field_3: { field_1: {} }, field_4: { field_1: {} } }, 'numBytes; algorithm BLOCK; hash XXHASH; compression UNCOMPRESSED')
    t.equal(reader.offset, bloomHeaderBytes(numBytes))
    const view = new DataView(bytes.buffer, reader.offset)
    t.ok(filter.words.every((w, i) => view.getUint32(4 * i, true) === w), 'words little-endian')
  }
  t.same([...new Uint8Array((() => {
    const w = new ByteWriter()
    writeBloomFilter(w, new SplitBlockBloomFilter(32))
    return w.getBuffer()
  })()).subarray(0, 15)], [0x15, 0x40, 0x1c, 0x1c, 0, 0, 0x1c, 0x1c, 0, 0, 0x1c, 0x1c, 0, 0, 0], 'the header of a 32-byte filter, byte by byte')
})

/** Row groups as writeBloomFilters sees them: their rows, their compressed bytes, empty chunk metadata. */
function fakeGroups (rows: number[], bytes: number, columns: number): RowGroup[] {
  return rows.map(n => ({
    num_rows: BigInt(n),
    total_byte_size: 0n,
    total_compressed_size: BigInt(bytes),
    columns: Array.from({ length: columns }, () => ({ file_offset: 0n, meta_data: {} })),
  })) as unknown as RowGroup[]
}

t.test('the budget: columns whole, metric_name, then chq_tid, then string columns from the smallest up, each if it fits', async t => {
  const n = 2000 // two row groups of 1000
  const schema = [
    { name: 'attr_big', type: 'string' as const },
    { name: 'attr_converted', type: 'string' as const },
    { name: 'attr_null', type: 'string' as const },
    { name: 'attr_small', type: 'string' as const },
    { name: 'chq_sketch', type: 'bytes' as const },
    { name: 'chq_tid', type: 'int64' as const },
    { name: 'chq_timestamp', type: 'int64' as const },
    { name: 'metric_name', type: 'string' as const },
  ]
  const tids = BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 7919n - 100_000n)
  const columns: ColumnValues[] = [
    { kind: 'dict', dictionary: Array.from({ length: n }, (_, i) => `request-${i}`), indices: Int32Array.from({ length: n }, (_, i) => i) },
    { kind: 'strings', values: Array.from({ length: n }, (_, i) => (i % 3 === 0 ? null : `v${i % 4}`)) },
    { kind: 'dict', dictionary: [], indices: new Int32Array(n).fill(-1) },
    { kind: 'dict', dictionary: ['a', 'b', 'c'], indices: Int32Array.from({ length: n }, (_, i) => i % 3) },
    { kind: 'bytes', data: new Uint8Array(0), offsets: new Int32Array(n + 1), valid: new Uint8Array(n).fill(1) },
    { kind: 'int64', values: tids },
    { kind: 'int64', values: new BigInt64Array(n) },
    { kind: 'dict', dictionary: ['cpu', 'mem'], indices: Int32Array.from({ length: n }, (_, i) => (i < 1500 ? 0 : 1)) },
  ]
  const small = 2 * (32 + bloomHeaderBytes(32)) // one block per row group
  const big = 2 * (2048 + bloomHeaderBytes(2048)) // 1000 distinct per row group: 64 blocks
  t.equal(bloomFilterBytes(1000), 2048)

  const cases: Array<{ budget: number, chosen: string[], skipped: string[] }> = [
    { budget: 1 << 20, chosen: ['attr_big', 'attr_converted', 'attr_small', 'chq_tid', 'metric_name'], skipped: [] },
    // the key columns first; then the small string columns; the big one does not fit
    { budget: small + big + small + small + 100, chosen: ['attr_converted', 'attr_small', 'chq_tid', 'metric_name'], skipped: ['attr_big'] },
    // chq_tid does not fit: the string columns still get theirs, smallest first
    { budget: small + small + small + 10, chosen: ['attr_converted', 'attr_small', 'metric_name'], skipped: ['chq_tid', 'attr_big'] },
    { budget: small - 1, chosen: [], skipped: ['metric_name', 'chq_tid', 'attr_converted', 'attr_small', 'attr_big'] },
  ]
  for (const { budget, chosen, skipped } of cases) {
    const groups = fakeGroups([1000, 1000], budget * BLOOM_BUDGET_DIVISOR / 2, schema.length)
    const writer = new ByteWriter()
    writer.appendUint32(0) // something before, as the row groups are
    const summary = writeBloomFilters(writer, schema, columns, groups)
    t.equal(summary.budget, budget, `budget ${budget}: 1/${BLOOM_BUDGET_DIVISOR} of the row groups' bytes`)
    t.same(summary.columns, chosen, `budget ${budget}: filtered columns`)
    t.same(summary.skipped, skipped, `budget ${budget}: left out, in the order they were considered`)
    t.ok(summary.bytes <= budget, `budget ${budget}: ${summary.bytes} bytes written`)
    t.equal(writer.offset - 4, summary.bytes, 'what was written is what was counted')
    // every chunk of a chosen column with values has a filter, placed contiguously by column then row group
    let next = 4
    schema.forEach((column, c) => {
      groups.forEach((group, g) => {
        const meta = group.columns[c].meta_data!
        const expected = chosen.includes(column.name) && !(column.name === 'attr_null')
        t.equal(meta.bloom_filter_offset !== undefined, expected, `${column.name} row group ${g}: ${expected ? 'a filter' : 'none'}`)
        if (meta.bloom_filter_offset === undefined) return
        t.equal(Number(meta.bloom_filter_offset), next, 'right after the previous filter')
        next += meta.bloom_filter_length!
      })
    })
    // the filters of a chosen column find every value of their row group
    const bytes = new Uint8Array(writer.getBuffer())
    const tidGroup = groups[1].columns[schema.findIndex(c => c.name === 'chq_tid')].meta_data!
    if (tidGroup.bloom_filter_offset !== undefined) {
      const filter = readBloomFilter({ view: new DataView(bytes.buffer), offset: Number(tidGroup.bloom_filter_offset) })!
      t.ok(Array.from(tids.subarray(1000)).every(v => sbbfContains(filter.blocks, hashParquetValue(v, { name: 'chq_tid', type: 'INT64' })!)), 'row group 1 tids found by hyparquet')
      t.equal(filter.numBytes, 2048)
    }
  }
})

// ---------------------------------------------------------------------------------------------
// A generated file, end to end

const NAMES = 24
const SERIES = 100
const BUCKETS = 5
const T0 = 1_699_999_200_000

interface Generated { dir: string, files: string[], tids: Set<bigint> }

let generated: Promise<Generated> | null = null

/**
 * Compacts a generated bundle once (in the file's own test directory, shared by the tests below):
 * 24 names sharing long prefixes, 100 series each, 5 buckets, string attributes of several cardinalities.
 */
function generatedFiles (): Promise<Generated> {
  generated ??= (async () => {
    const dir = t.testdir({ out: {} })
    const random = prng(7)
    const rows: RowSpec[] = []
    const tids = new Set<bigint>()
    for (let m = 0; m < NAMES; m++) {
      const name = `service.http.server.request.duration.${String(m).padStart(2, '0')}`
      for (let s = 0; s < SERIES; s++) {
        const tid = randomInt64(random)
        tids.add(tid)
        for (let b = 0; b < BUCKETS; b++) {
          const i = rows.length
          rows.push({
            name, tid, ts: T0 + b * 10_000,
            // sketches of a few spread values: row groups of realistic weight, so the filters stay well within their budget
            values: Array.from({ length: 3 + (i % 6) }, () => random() * 1000),
            attrs: {
              attr_env: ['prod', 'staging', 'dev'][s % 3],
              attr_host: `host-${m}-${s}.cluster.example.internal`,
              attr_rare: i % 479 === 0 ? `rare-${i}` : null,
              attr_code: BigInt(s % 5),
            },
          })
        }
      }
    }
    // two inputs, rows interleaved, so that the compaction merges
    await writeSegment(join(dir, 'a.parquet'), rows.filter((_, i) => i % 2 === 0))
    await writeSegment(join(dir, 'b.parquet'), rows.filter((_, i) => i % 2 === 1))
    const result = await compact({ inputs: [{ path: join(dir, 'a.parquet') }, { path: join(dir, 'b.parquet') }], outDir: join(dir, 'out'), frequencyMs: 10_000 })
    return { dir, files: result.files.map(f => join(dir, 'out', f.file_name)), tids }
  })()
  return generated
}

/** The columns that get filters: the key columns and the string ones. */
const FILTERED = ['metric_name', 'chq_tid', 'attr_env', 'attr_host', 'attr_rare', 'chq_metric_type']

/** Each row's values of the filtered columns and its row group, as DuckDB reads the file. */
async function rowsByGroup (file: string): Promise<{ groups: number, rows: Array<Record<string, unknown> & { group: number }> }> {
  const sizes = await duck(`SELECT row_group_id, max(row_group_num_rows) AS n FROM parquet_metadata(${lit(file)}) GROUP BY ALL ORDER BY row_group_id`)
  const ends: number[] = []
  let end = 0
  for (const s of sizes) ends.push(end += Number(s.n))
  const rows = await duck(`SELECT ${FILTERED.join(', ')}, file_row_number FROM read_parquet(${lit(file)}, file_row_number = true) ORDER BY file_row_number`)
  return { groups: ends.length, rows: rows.map(r => ({ ...r, group: ends.findIndex(e => Number(r.file_row_number) < e) })) }
}

function sqlValue (column: string, v: unknown): string {
  return column === 'chq_tid' ? `${v as bigint}::BIGINT` : lit(v as string)
}

/** parquet_bloom_probe for many values of one column: for each value, the row groups whose filter excludes it. */
async function probe (file: string, column: string, values: unknown[]): Promise<Map<string, Set<number>>> {
  const excluded = new Map<string, Set<number>>()
  for (let i = 0; i < values.length; i += 400) {
    const batch = values.slice(i, i + 400)
    const sql = batch.map((v, k) => `SELECT ${k + i} AS k, row_group_id, bloom_filter_excludes FROM parquet_bloom_probe(${lit(file)}, ${lit(column)}, ${sqlValue(column, v)})`).join(' UNION ALL ')
    for (const row of await duck(sql)) {
      const key = String(values[Number(row.k)])
      if (!excluded.has(key)) excluded.set(key, new Set())
      if (row.bloom_filter_excludes === true) excluded.get(key)!.add(Number(row.row_group_id))
    }
  }
  return excluded
}

t.test('DuckDB: every row group has filters on metric_name, chq_tid and the string columns with values, none elsewhere', async t => {
  const { files } = await generatedFiles()
  for (const file of files) {
    const { groups, rows } = await rowsByGroup(file)
    t.comment(`${file.split('/').pop()}: ${rows.length} rows, ${groups} row group(s)`)
    const meta = await duck(`SELECT row_group_id, path_in_schema, bloom_filter_offset, bloom_filter_length FROM parquet_metadata(${lit(file)})`)
    for (const m of meta) {
      const column = m.path_in_schema as string
      const g = Number(m.row_group_id)
      if (FILTERED.includes(column)) {
        const hasValues = rows.some(r => r.group === g && r[column] !== null)
        t.equal(m.bloom_filter_offset !== null, hasValues, `${column} row group ${g}: ${hasValues ? 'a filter' : 'all null, none'}`)
      } else t.equal(m.bloom_filter_offset, null, `${column} row group ${g}: no filter`)
    }
    const total = await duck(`SELECT sum(bloom_filter_length) AS bloom, (SELECT sum(c) FROM (SELECT DISTINCT row_group_id, row_group_compressed_bytes AS c FROM parquet_metadata(${lit(file)}))) AS data FROM parquet_metadata(${lit(file)})`)
    t.comment(`bloom filters ${total[0].bloom} bytes for ${total[0].data} bytes of row groups`)
    t.ok(Number(total[0].bloom) <= Number(total[0].data) / BLOOM_BUDGET_DIVISOR, `within the budget of 1/${BLOOM_BUDGET_DIVISOR} of the row groups`)
  }
})

t.test('DuckDB: parquet_bloom_probe never excludes a present value; absent values pass at most at twice the stated rate', async t => {
  const { files, tids } = await generatedFiles()
  const random = prng(11)
  let trials = 0
  let falsePositives = 0
  for (const file of files) {
    const { rows } = await rowsByGroup(file)
    for (const column of FILTERED) {
      // present: each distinct value of the file, never excluded from a row group that holds it
      const holders = new Map<string, Set<number>>()
      const values: unknown[] = []
      for (const r of rows) {
        if (r[column] === null) continue
        const key = String(r[column])
        if (!holders.has(key)) {
          holders.set(key, new Set())
          values.push(r[column])
        }
        holders.get(key)!.add(r.group)
      }
      const excluded = await probe(file, column, values)
      let wrong = 0
      for (const [key, groups] of holders) for (const g of groups) if (excluded.get(key)?.has(g)) wrong++
      t.equal(wrong, 0, `${column}: none of ${values.length} present values excluded where present`)

      // absent: 1,000 values not in the file; a row group with a filter that lets one pass is a false positive
      const absent: unknown[] = []
      while (absent.length < 1000) {
        if (column === 'chq_tid') {
          const v = randomInt64(random)
          if (!tids.has(v)) absent.push(v)
        } else absent.push(`absent-${column}-${Math.floor(random() * 1e9)}`)
      }
      const meta = await duck(`SELECT row_group_id FROM parquet_metadata(${lit(file)}) WHERE path_in_schema = ${lit(column)} AND bloom_filter_offset IS NOT NULL`)
      const filtered = new Set(meta.map(m => Number(m.row_group_id)))
      const absentExcluded = await probe(file, column, absent)
      let columnTrials = 0
      let columnPositives = 0
      for (const v of absent) {
        for (const g of filtered) {
          columnTrials++
          if (!absentExcluded.get(String(v))?.has(g)) columnPositives++
        }
      }
      t.comment(`${column}: ${columnPositives} false positives in ${columnTrials} absent probes (${(100 * columnPositives / Math.max(1, columnTrials)).toFixed(2)} %)`)
      t.ok(columnPositives <= 2 * BLOOM_FPP * columnTrials, `${column}: at most twice the stated ${BLOOM_FPP * 100} %`)
      trials += columnTrials
      falsePositives += columnPositives
    }
  }
  t.ok(trials >= 1000 * FILTERED.length, `${trials} absent probes against filters`)
  t.comment(`measured false-positive rate: ${(100 * falsePositives / trials).toFixed(3)} % of ${trials} (stated ${BLOOM_FPP * 100} %)`)
  t.ok(falsePositives <= 2 * BLOOM_FPP * trials)
})

t.test('the filters lie after the row groups and before the footer, by column then row group, each a header and its blocks', async t => {
  const { files } = await generatedFiles()
  for (const file of files) {
    const bytes = new Uint8Array(await readFile(file))
    const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer)
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const footerStart = bytes.length - 8 - view.getUint32(bytes.length - 8, true)
    let groupsEnd = 0
    for (const group of metadata.row_groups) {
      for (const chunk of group.columns) {
        const m = chunk.meta_data!
        groupsEnd = Math.max(groupsEnd, Number(m.dictionary_page_offset ?? m.data_page_offset) + Number(m.total_compressed_size))
      }
    }
    const places: Array<{ column: number, group: number, offset: number, length: number }> = []
    metadata.row_groups.forEach((group, g) => group.columns.forEach((chunk, c) => {
      const m = chunk.meta_data!
      if (m.bloom_filter_offset !== undefined) places.push({ column: c, group: g, offset: Number(m.bloom_filter_offset), length: m.bloom_filter_length! })
    }))
    t.ok(places.length > 0)
    places.sort((a, b) => a.column - b.column || a.group - b.group)
    t.ok(places[0].offset >= groupsEnd, 'the first filter after the last row group')
    const last = places[places.length - 1]
    t.ok(last.offset + last.length <= footerStart, 'the last one before the footer')
    let contiguous = true
    for (let i = 1; i < places.length; i++) if (places[i].offset !== places[i - 1].offset + places[i - 1].length) contiguous = false
    t.ok(contiguous, 'one run, by column in schema order, row groups in order')
    for (const place of places) {
      const reader = { view, offset: place.offset }
      const header = deserializeTCompactProtocol(reader) as { field_1: number, field_2: unknown, field_3: unknown, field_4: unknown }
      const numBytes = header.field_1
      if (!(numBytes >= 32 && (numBytes & (numBytes - 1)) === 0 && reader.offset - place.offset + numBytes === place.length &&
        JSON.stringify([header.field_2, header.field_3, header.field_4]) === '[{"field_1":{}},{"field_1":{}},{"field_1":{}}]')) {
        t.fail(`filter at ${place.offset}: ${JSON.stringify(header)}, ${place.length} bytes`)
      }
    }
    t.pass(`${places.length} headers: numBytes a power of two, BLOCK, XXHASH, UNCOMPRESSED, header + blocks = bloom_filter_length`)
  }
})

t.test('hyparquet reads the files unchanged, finds every present value in its own reading of the filters, and filters by them', async t => {
  const { files } = await generatedFiles()
  for (const file of files) {
    const bytes = await readFile(file)
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
    const metadata = parquetMetadata(buffer)
    const rows = await parquetReadObjects({ file: buffer, compressors, columns: [...FILTERED, 'chq_timestamp'] })
    const theirs = await duck(`SELECT ${FILTERED.join(', ')}, chq_timestamp FROM read_parquet(${lit(file)}, file_row_number = true) ORDER BY file_row_number`)
    t.equal(rows.length, theirs.length, 'as many rows as DuckDB reads')
    t.ok(rows.every((r, i) => FILTERED.every(c => r[c] === theirs[i][c]) && r.chq_timestamp === theirs[i].chq_timestamp), 'the same values')

    // hyparquet's own SBBF reading: every value of a chunk is in that chunk's filter
    const names = metadata.schema.slice(1)
    let start = 0
    let missing = 0
    let checked = 0
    for (const group of metadata.row_groups) {
      const end = start + Number(group.num_rows)
      group.columns.forEach((chunk, c) => {
        const m = chunk.meta_data!
        if (m.bloom_filter_offset === undefined) return
        const filter = readBloomFilter({ view: new DataView(buffer), offset: Number(m.bloom_filter_offset) })!
        for (let i = start; i < end; i++) {
          const v = rows[i][names[c].name]
          if (v === null || v === undefined) continue
          checked++
          if (!sbbfContains(filter.blocks, hashParquetValue(v, names[c])!)) missing++
        }
      })
      start = end
    }
    t.ok(checked > 0)
    t.equal(missing, 0, `${checked} values found in hyparquet's reading of their chunk's filter`)

    // hyparquet prunes row groups by the filters on an equality filter, with the right answer
    const tid = rows[Math.floor(rows.length / 2)].chq_tid as bigint
    const byTid = await parquetReadObjects({ file: buffer, compressors, columns: ['metric_name', 'chq_tid'], filter: { chq_tid: { $eq: tid } } })
    t.same(byTid.map(r => r.chq_tid), rows.filter(r => r.chq_tid === tid).map(r => r.chq_tid), 'rows of one tid')
    const none = await parquetReadObjects({ file: buffer, compressors, columns: ['metric_name'], filter: { attr_host: { $eq: 'no-such-host' } } })
    t.equal(none.length, 0, 'no rows for an absent attribute value')
  }
})

t.test('sorting_columns (metric_name, chq_tid, chq_timestamp ascending, nulls last) in every row group; column_orders for every column', async t => {
  const { files } = await generatedFiles()
  for (const file of files) {
    const bytes = await readFile(file)
    const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer)
    const leaves = metadata.schema.slice(1).map(e => e.name)
    const expected = ['metric_name', 'chq_tid', 'chq_timestamp'].map(name => ({ column_idx: leaves.indexOf(name), descending: false, nulls_first: false }))
    t.ok(expected.every(s => s.column_idx >= 0))
    t.ok(metadata.row_groups.length > 0)
    for (const [g, group] of metadata.row_groups.entries()) t.same(group.sorting_columns, expected, `row group ${g}`)

    const nulls = await duck(`SELECT count(*) FILTER (WHERE metric_name IS NULL OR chq_tid IS NULL OR chq_timestamp IS NULL) AS n,
      count(*) FILTER (WHERE NOT sorted) AS unsorted
      FROM (SELECT *, (metric_name, chq_tid, chq_timestamp) >= lag((metric_name, chq_tid, chq_timestamp)) OVER (ORDER BY file_row_number) IS NOT FALSE AS sorted
            FROM read_parquet(${lit(file)}, file_row_number = true))`)
    t.equal(Number(nulls[0].n), 0, 'no null key: nulls-last holds vacuously')
    t.equal(Number(nulls[0].unsorted), 0, 'rows in that order')

    const fileMeta = await duck(`SELECT column_orders FROM parquet_file_metadata(${lit(file)})`)
    const orders = (fileMeta[0].column_orders as { items: string[] }).items ?? fileMeta[0].column_orders
    t.equal((orders as string[]).length, leaves.length, 'one column order per column')
    t.ok((orders as string[]).every(o => o === 'ColumnOrder(TYPE_ORDER=TypeDefinedOrder())'), 'TYPE_DEFINED_ORDER')
  }
})
