// A chunk read window by window (ChunkCursor) decodes the same values as the chunk read whole
// (readChunk), whatever the window sizes: levels and dictionary indices resume inside their runs,
// PLAIN values in place, other encodings from a page decoded once. And a hybrid stream read in
// pieces (HybridCursor) gives the values it encodes.
import t, { type Test } from 'tap'
import { mkdir, readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { parquetMetadata, parquetSchema } from 'hyparquet'
import { ChunkCursor, readChunk, type DecodedColumn } from '../../src/compaction/read/chunk-reader.ts'
import { HybridCursor, readHybrid } from '../../src/compaction/read/rle.ts'
import { PAGE_VALUES, PageBuffer, encodeHybrid } from '../../src/compaction/write/column-writer.ts'
import { valueAt, columnLength } from '../../src/compaction/read/batch-reader.ts'
import { MemoryAccount, Tab } from '../../src/compaction/account.ts'
import { compact } from '../../src/compaction/compact.ts'
import { duck, lit } from '../support/duckdb.ts'
import { writeSegment, type RowSpec } from '../support/segments.ts'
import { generate } from '../../bench/generate.ts'

/** A deterministic pseudo-random sequence (xorshift). */
function random (seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 4294967296
  }
}

t.test('HybridCursor: a stream read in pieces of any size gives what readHybrid gives', async t => {
  const next = random(7)
  for (const width of [0, 1, 3, 8, 13, 24, 31]) {
    const n = 5_000
    const values = new Int32Array(n)
    const max = width === 0 ? 1 : 2 ** Math.min(width, 30)
    // runs of repeats (RLE) between stretches of noise (bit-packed)
    for (let i = 0; i < n;) {
      const run = 1 + Math.floor(next() * 40)
      const v = Math.floor(next() * max)
      for (let k = 0; k < run && i < n; k++, i++) values[i] = next() < 0.5 ? v : Math.floor(next() * max)
    }
    const out = new PageBuffer()
    encodeHybrid(out, values, n, width)
    const bytes = out.bytes.slice(0, out.length)
    const whole = new Int32Array(n)
    readHybrid({ view: new DataView(bytes.buffer), offset: 0 }, width, whole, bytes.length)
    const cursor = new HybridCursor(bytes, 0, bytes.length, width)
    const pieces = new Int32Array(n)
    for (let at = 0; at < n;) {
      const k = Math.min(n - at, 1 + Math.floor(next() * 300))
      cursor.read(pieces, at, k)
      at += k
    }
    t.same([...pieces], [...whole], `width ${width}: the same ${n} values`)
    t.same([...whole], [...values], `width ${width}: the values encoded`)
  }
})

t.test('HybridCursor: a stream that ends early is refused, never read past', async t => {
  const values = Int32Array.from({ length: 64 }, (_, i) => i % 5)
  const out = new PageBuffer()
  encodeHybrid(out, values, values.length, 3)
  const bytes = out.bytes.slice(0, out.length)
  const cursor = new HybridCursor(bytes, 0, bytes.length - 1, 3)
  t.throws(() => cursor.read(new Int32Array(64), 0, 64), /ends/, 'one byte short: refused')
  t.throws(() => new HybridCursor(bytes, 0, bytes.length + 1, 3), /overruns/, 'a length past the bytes: refused')
})

/** Every value of a decoded column, as JS values (for comparison across kinds). */
function valuesOf (parts: readonly DecodedColumn[]): unknown[] {
  const out: unknown[] = []
  for (const part of parts) for (let i = 0; i < columnLength(part); i++) out.push(valueAt(part, i))
  return out
}

/** Reads every chunk of every row group of a file whole and window by window (windows from `sizes`, in turn), and compares. */
async function compareReads (t: Test, path: string, sizes: readonly number[]): Promise<number> {
  const bytes = await readFile(path)
  const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer)
  const elements = parquetSchema(metadata).children.map(c => c.element)
  const account = new MemoryAccount(Infinity)
  let compared = 0
  for (const group of metadata.row_groups) {
    const rows = Number(group.num_rows)
    for (const [c, chunk] of group.columns.entries()) {
      const meta = chunk.meta_data!
      const whole = valuesOf([readChunk(bytes, 0, meta, elements[c], rows, new Tab(account, path))])
      const cursor = new ChunkCursor(bytes, 0, 0, meta, elements[c], rows, account, path)
      const windows: DecodedColumn[] = []
      for (let at = 0, s = 0; at < rows; s++) {
        const k = Math.min(rows - at, sizes[s % sizes.length])
        windows.push(...cursor.read(k, new Tab(account, path)))
        at += k
      }
      cursor.close()
      const read = valuesOf(windows)
      const at = read.findIndex((v, i) => !same(v, whole[i]))
      t.equal(at, -1, `${meta.path_in_schema.join('.')} (${meta.encodings.join(', ')}): every row as read whole${at >= 0 ? ` (row ${at}: ${String(read[at])} / ${String(whole[at])})` : ''}`)
      compared++
    }
  }
  return compared
}

function same (a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b) === 0
  return Object.is(a, b)
}



const SIZES = [1, 7, 4096, 333, 8192, 64]

t.test('DuckDB-written chunks (dictionary and PLAIN, nulls, v1 and v2 pages) read the same in windows', async t => {
  const dir = t.testdir()
  for (const [name, options] of [['v1-dict', ''], ['v1-plain', ', DICTIONARY_SIZE_LIMIT 1'], ['v2', ', PARQUET_VERSION v2']] as const) {
    const path = join(dir, `${name}.parquet`)
    await duck(`COPY (SELECT
        CASE WHEN i % 7 = 3 THEN NULL ELSE 'v-' || (i * 7919 % 300) END AS s,
        CASE WHEN i % 11 = 0 THEN NULL ELSE i * 1000003 END AS n,
        CASE WHEN i % 13 = 0 THEN NULL ELSE (i % 97) / 4.0 END AS d,
        i % 5 = 0 AS b,
        CASE WHEN i % 3 = 0 THEN NULL ELSE encode('b-' || (i % 50)) END AS bl,
        (i // 100)::INT AS small
      FROM range(60000) t(i) ORDER BY i) TO ${lit(path)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 40000${options})`)
    const compared = await compareReads(t, path, SIZES)
    t.ok(compared >= 12, `${name}: ${compared} chunks compared`)
  }
})

t.test('the compactor\'s own files (DELTA_BINARY_PACKED, dictionaries, PLAIN) read the same in windows', async t => {
  const dir = t.testdir()
  const rows: RowSpec[] = []
  for (let s = 0; s < 40; s++) {
    for (let k = 0; k < 300; k++) {
      rows.push({ name: `m.${s % 7}`, tid: BigInt(s), ts: 1_756_339_200_000 + k * 10_000, values: [s + k / 3, k], attrs: { host: `h-${s % 9}`, n: BigInt(k % 4), ratio: k / 7 } })
    }
  }
  rows.sort((a, b) => (a.name! < b.name! ? -1 : a.name! > b.name! ? 1 : Number(BigInt(a.tid as bigint) - BigInt(b.tid as bigint)) || Number(a.ts) - Number(b.ts)))
  await writeSegment(join(dir, 'in.parquet'), rows)
  await mkdir(join(dir, 'out'))
  const { files } = await compact({ inputs: [{ path: join(dir, 'in.parquet') }], outDir: join(dir, 'out'), parallelWrite: false })
  let compared = 0
  for (const file of files) compared += await compareReads(t, join(dir, 'out', file.file_name), SIZES)
  t.ok(compared > 15, `${compared} chunks compared`)
})

t.test('chunks of several pages: windows that cross page boundaries read what the chunk read whole reads', async t => {
  const dir = t.testdir()
  await generate({ files: 1, rows: 150_000, metrics: 20, series: 300, overlap: 0, frequencyMs: 10_000, rowGroupSize: 1_000_000, unsorted: 0, columns: 30, seed: 3 }, join(dir, 'in'))
  const inputs = (await readdir(join(dir, 'in'))).filter(f => f.endsWith('.parquet')).map(f => ({ path: join(dir, 'in', f) }))
  await mkdir(join(dir, 'out'))
  // one file of one row group: every chunk of more than PAGE_VALUES rows has several pages
  const { files } = await compact({ inputs, outDir: join(dir, 'out'), parallelWrite: false, targetFileBytes: 64 * 1024 * 1024 })
  t.equal(files.length, 1, 'one file')
  t.ok(files[0].record_count > 2 * PAGE_VALUES, `${files[0].record_count} rows: at least three pages a chunk`)
  const compared = await compareReads(t, join(dir, 'out', files[0].file_name), [5_000, 1, 61_000, 8_192, 777])
  t.ok(compared >= 20, `${compared} chunks compared`)
})
