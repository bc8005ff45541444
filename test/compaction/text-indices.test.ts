// String columns are decoded to a dictionary and an index per row in the narrowest signed type that
// holds every index (Int8Array up to 128 entries, Int16Array up to 32 768, else Int32Array),
// widened as a chunk's pages add entries; the values read are the ones written, nulls included.
import t, { type Test } from 'tap'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parquetMetadata, parquetSchema } from 'hyparquet'
import { readChunk, textIndices } from '../../src/compaction/read/chunk-reader.ts'
import { MemoryAccount, Tab } from '../../src/compaction/account.ts'
import { duck, lit } from '../support/duckdb.ts'

const ROWS = 50_000

/** Writes one string column of ROWS rows (every 7th null) with `distinct` values, in DuckDB; reads its chunk back. */
async function roundTrip (t: Test, dir: string, distinct: number, dictionary: boolean) {
  const path = join(dir, `s-${distinct}-${dictionary}.parquet`)
  const value = `CASE WHEN i % 7 = 3 THEN NULL ELSE 'v-' || (i * 7919 % ${distinct}) END`
  await duck(`COPY (SELECT ${value} AS s FROM range(${ROWS}) t(i) ORDER BY i) TO ${lit(path)}
    (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${ROWS}${dictionary ? '' : ', DICTIONARY_SIZE_LIMIT 1'})`)
  const expected = (await duck(`SELECT s FROM read_parquet(${lit(path)}, file_row_number = true) ORDER BY file_row_number`)).map(r => r.s as string | null)
  const bytes = await readFile(path)
  const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer)
  t.equal(metadata.row_groups.length, 1, `${distinct} values: one row group`)
  const meta = metadata.row_groups[0].columns[0].meta_data!
  const element = parquetSchema(metadata).children[0].element
  const column = readChunk(bytes, 0, meta, element, ROWS, new Tab(new MemoryAccount(Infinity), path))
  return { column, expected, encodings: meta.encodings }
}

t.test('each chunk\'s indices are as narrow as its entries allow, and read the values written', async t => {
  const dir = t.testdir()
  for (const [distinct, dictionary, width] of [[5, true, 1], [128, true, 1], [129, true, 2], [2_000, true, 2], [40_000, false, 4], [100, false, 4]] as const) {
    const { column, expected, encodings } = await roundTrip(t, dir, distinct, dictionary)
    if (column.kind !== 'text') {
      t.fail(`${distinct} values: decoded as ${column.kind}`)
      continue
    }
    // a PLAIN chunk gets an entry per value, so its width follows the values, not the distinct ones
    const entries = column.dictionary.length
    t.equal(column.indices.BYTES_PER_ELEMENT, width, `${distinct} distinct values (${encodings.join(', ')}, ${entries} entries): ${width}-byte indices`)
    t.equal(column.indices.BYTES_PER_ELEMENT, textIndices(1, entries).BYTES_PER_ELEMENT, 'the narrowest type for its entries')
    const read = Array.from(column.indices, k => (k < 0 ? null : column.dictionary[k]))
    const at = read.findIndex((v, i) => v !== expected[i])
    t.equal(at, -1, `${distinct} values: every row reads what was written${at >= 0 ? ` (row ${at}: ${read[at]} / ${expected[at]})` : ''}`)
  }
})

t.test('textIndices: the narrowest signed type that holds every index and -1', async t => {
  t.ok(textIndices(3, 0) instanceof Int8Array, 'no entries: Int8Array')
  t.ok(textIndices(3, 128) instanceof Int8Array, '128 entries: Int8Array')
  t.ok(textIndices(3, 129) instanceof Int16Array, '129: Int16Array')
  t.ok(textIndices(3, 32_768) instanceof Int16Array, '32 768: Int16Array')
  t.ok(textIndices(3, 32_769) instanceof Int32Array, '32 769: Int32Array')
  const a = textIndices(2, 128)
  a[0] = 127
  a[1] = -1
  t.same([...a], [127, -1], '127 and -1 fit')
})
