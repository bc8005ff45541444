// The memory account: what the reader allocates is charged first and refused past the limit
// (CMP_ERR_INPUT_TOO_COSTLY); batches give their charges back once collected; a limit never changes
// what a compaction writes.
import t from 'tap'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { MemoryAccount } from '../../src/compaction/account.ts'
import { compact, outputSchema, type CompactionOptions } from '../../src/compaction/compact.ts'
import { CompactorError } from '../../src/errors.ts'
import { readBatch } from '../../src/compaction/read/batch-reader.ts'
import { ENGINE_COLUMNS } from '../../src/compaction/schema.ts'
import { openSegment } from '../../src/compaction/read/segment.ts'
import { writeSegment, type RowSpec } from '../support/segments.ts'

// the service's compaction children run with --expose-gc, tap's node does not
setFlagsFromString('--expose-gc')
globalThis.gc ??= runInNewContext('gc') as NodeJS.GCFunction

const MiB = 1024 * 1024

/** Sorted rows over `groups` metric names of `perGroup` rows each: 10 points per series, each its own bucket. */
function rows (groups: number, perGroup: number): RowSpec[] {
  const out: RowSpec[] = []
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < perGroup; i++) {
      out.push({
        name: `metric_${String(g).padStart(3, '0')}`,
        tid: BigInt(Math.floor(i / 10)),
        ts: 1_700_000_000_000 + (i % 10) * 10_000,
        values: [i, g],
        attrs: { resource_host: `host-${i % 7}`, resource_zone: `zone-${g % 3}` },
      })
    }
  }
  return out
}

/** Compacts and returns the error it raised, or null. */
async function failureOf (options: CompactionOptions): Promise<CompactorError | null> {
  try {
    await compact(options)
    return null
  } catch (err) {
    if (!(err instanceof CompactorError)) throw err
    return err
  }
}

/** Bytes one batch of a segment's first row group is charged, carrying what a compaction of it carries. */
async function batchCharge (path: string, lastGroup = 0): Promise<number> {
  const segment = await openSegment(path, 0)
  try {
    const carry = outputSchema([segment]).filter(c => !ENGINE_COLUMNS.has(c.name)).map(c => c.name)
    const account = new MemoryAccount(Infinity)
    await readBatch(segment, 0, lastGroup, carry, account)
    return account.used
  } finally {
    await segment.close()
  }
}

t.test('a charge past the limit is CMP_ERR_INPUT_TOO_COSTLY naming the file and the bytes; released bytes can be charged again', async t => {
  const account = new MemoryAccount(1000)
  account.charge(600, 'a.parquet')
  t.equal(account.used, 600)
  const err = t.throws(() => account.charge(500, 'a.parquet'), { code: 'CMP_ERR_INPUT_TOO_COSTLY' }) as CompactorError
  t.equal(err.status, 422)
  t.match(err.message, /a\.parquet: 500 more bytes would bring the compaction to 1100, over the 1000 reserved for it/)
  t.same(err.details, { file: 'a.parquet', needed_bytes: 1100, budget_bytes: 1000 })
  t.equal(account.used, 600, 'a refused charge is not counted')
  account.release(600)
  account.charge(1000, 'a.parquet')
  t.equal(account.used, 1000, 'the whole limit can be used')
  t.throws(() => new MemoryAccount(-1), { code: 'CMP_ERR_BAD_ARGUMENT' })
  const unlimited = new MemoryAccount(Infinity)
  unlimited.charge(2 ** 50, undefined)
  t.equal(unlimited.used, 2 ** 50, 'an unlimited account never refuses')
})

t.test('held bytes are released once their owner is collected: a charge that does not fit collects first', async t => {
  const account = new MemoryAccount(1000)
  let owner: object | null = { batch: new Uint8Array(800) }
  account.charge(800, 'a.parquet')
  account.hold(owner, 800)
  // a new task: the WeakRef made by hold() no longer keeps its target
  await new Promise(resolve => setImmediate(resolve))
  t.throws(() => account.charge(300, 'a.parquet'), { code: 'CMP_ERR_INPUT_TOO_COSTLY' }, 'a live owner keeps its bytes')
  owner = null
  t.equal(owner, null)
  await new Promise(resolve => setImmediate(resolve))
  account.charge(300, 'a.parquet')
  t.equal(account.used, 300, 'the dead owner\'s bytes were released by the charge')
})

t.test('a generous limit changes nothing: the outputs are byte for byte those of an unlimited compaction', async t => {
  const dir = t.testdir({ plain: {}, limited: {} })
  const all = rows(6, 300)
  const inputs = [
    // sorted, several row groups
    { path: join(dir, 'a.parquet'), rows: all.filter((_, i) => i % 2 === 0), options: { rowGroupSize: 200 } },
    // unsorted: read whole
    { path: join(dir, 'b.parquet'), rows: all.filter((_, i) => i % 3 === 0).reverse(), options: { rowGroupSize: 150 } },
    // a column left to the general reader, legacy names
    { path: join(dir, 'c.parquet'), rows: all.filter((_, i) => i % 5 === 0), options: { legacy: true, encodings: { 'resource.host': 'DELTA_BYTE_ARRAY' as const } } },
  ]
  for (const input of inputs) await writeSegment(input.path, input.rows, input.options)
  const base = { inputs: inputs.map(i => ({ path: i.path })), recordsPerFile: 400 }
  const plain = await compact({ ...base, outDir: join(dir, 'plain') })
  const limited = await compact({ ...base, outDir: join(dir, 'limited'), memoryLimitBytes: 1024 * MiB })
  t.ok(plain.files.length > 1, 'several files')
  t.same(limited.files, plain.files, 'the same files')
  t.same({ ...limited.report, duration_ms: 0 }, { ...plain.report, duration_ms: 0 }, 'the same report')
  const names = (await readdir(join(dir, 'plain'))).sort()
  t.same((await readdir(join(dir, 'limited'))).sort(), names)
  for (const name of names) {
    t.ok((await readFile(join(dir, 'limited', name))).equals(await readFile(join(dir, 'plain', name))), `${name}: the same bytes`)
  }
})

t.test('batches give their charges back: 40 row groups compact under a limit of a few row groups', async t => {
  const dir = t.testdir()
  const path = join(dir, 'in.parquet')
  await writeSegment(path, rows(40, 1000), { rowGroupSize: 1000 })
  const perBatch = await batchCharge(path)
  t.ok(perBatch > 100_000, `a batch is charged ${perBatch} bytes`)
  // alive at once: the batch output rows still refer to, the one being read, the sort-check keys, pages
  const limit = 4 * perBatch
  const options = { inputs: [{ path }], outDir: dir, recordsPerFile: 500, parallelWrite: false }
  const { report } = await compact({ ...options, memoryLimitBytes: limit })
  t.equal(report.rows_in, 40_000, 'every row group was read')
  t.ok(40 * perBatch > 2 * limit, 'without releases the batches would need ten times the limit')
  const err = await failureOf({ ...options, memoryLimitBytes: perBatch / 2 })
  t.equal(err?.code, 'CMP_ERR_INPUT_TOO_COSTLY', 'a limit below one batch is refused: the limit binds on this data')
  t.equal(err?.details?.file, 'in.parquet')
})

t.test('an unsorted segment is sorted in runs: it compacts under a limit far below its whole, to the bytes of its sorted copy', async t => {
  const dir = t.testdir({ sorted: {}, unsorted: {}, refused: {} })
  const data = rows(20, 1000)
  const sorted = join(dir, 'sorted.parquet')
  const unsorted = join(dir, 'unsorted.parquet')
  await writeSegment(sorted, data, { rowGroupSize: 1000 })
  await writeSegment(unsorted, [...data].reverse(), { rowGroupSize: 1000 })
  const perBatch = await batchCharge(sorted)
  const whole = await batchCharge(unsorted, 19)
  const limit = 6 * perBatch
  t.ok(whole > 2 * limit, `read whole it would be charged ${whole} bytes, over twice the limit of ${limit}`)
  const options = { recordsPerFile: 500, parallelWrite: false, memoryLimitBytes: limit, runRows: 2000 }
  const plain = await compact({ ...options, outDir: join(dir, 'sorted'), inputs: [{ path: sorted, segmentId: 's' }] })
  const runs = await compact({ ...options, outDir: join(dir, 'unsorted'), inputs: [{ path: unsorted, segmentId: 's' }] })
  t.equal(runs.report.rows_in, 20_000)
  t.same(runs.files, plain.files, 'the same files')
  for (const file of plain.files) {
    t.ok((await readFile(join(dir, 'unsorted', file.file_name))).equals(await readFile(join(dir, 'sorted', file.file_name))), `${file.file_name}: the same bytes`)
  }
  t.same((await readdir(join(dir, 'unsorted'))).sort(), plain.files.map(f => f.file_name).sort(), 'no run is left behind')
  const err = await failureOf({ ...options, outDir: join(dir, 'refused'), memoryLimitBytes: perBatch, inputs: [{ path: unsorted, label: 'unsorted.parquet' }] })
  t.equal(err?.code, 'CMP_ERR_INPUT_TOO_COSTLY', 'a limit below a run is refused')
  t.same(err?.details, { file: 'unsorted.parquet', needed_bytes: err?.details?.needed_bytes, budget_bytes: perBatch })
  t.same(await readdir(join(dir, 'refused')), [], 'a refused compaction leaves no run behind')
})
