// An input out of sort order is sorted in runs (merge/runs.ts), or in memory when it is one chunk:
// the result is that of its rows sorted stably in one piece, whatever the run size; its drops and
// alterations are counted once, on the input; the runs' bytes are reported as they are written and
// no run outlives the compaction.
import t from 'tap'
import { mkdir, readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { compact, type CompactionOptions, type CompactionResult } from '../../src/compaction/compact.ts'
import { CompactorError } from '../../src/errors.ts'
import { writeSegment, type RowSpec } from '../support/segments.ts'

const T0 = 1_700_000_000_000

/**
 * Rows of 4 names x 5 tids x 6 timestamps, each key three times with its own host and value, in a
 * scrambled order; and rows each input must drop or alter: no name, a sketch that does not decode,
 * a host whose bytes are not UTF-8, a tid of 2^63 or more.
 */
function scrambled (): RowSpec[] {
  const out: RowSpec[] = []
  for (let copy = 0; copy < 3; copy++) {
    for (let m = 0; m < 4; m++) {
      for (let tid = 0; tid < 5; tid++) {
        for (let i = 0; i < 6; i++) {
          out.push({ name: `m${m}`, tid: BigInt(tid), ts: T0 + i * 4_000, values: [copy * 100 + i], attrs: { resource_host: `host-${copy}-${m}-${tid}-${i}` } })
        }
      }
    }
  }
  out.push({ name: null, tid: 1n, ts: T0, values: [1] })
  out.push({ name: 'm1', tid: 2n, ts: T0, sketch: new Uint8Array([0xff, 0xfe]) })
  out.push({ name: 'm2', tid: 3n, ts: T0 + 8_000, values: [7], attrs: { resource_host: new Uint8Array([0x68, 0xc3, 0x28]) } })
  out.push({ name: 'm3', tid: 2n ** 63n + 5n, ts: T0, values: [9], attrs: { resource_host: 'high' } })
  // a permutation that sends each key's copies to different places (and so to different runs)
  const order = out.map((_, i) => i).sort((a, b) => ((a * 7919) % 373) - ((b * 7919) % 373) || a - b)
  return order.map(i => out[i])
}

/** The rows in sort order, stably: what an input in order holding the same rows would be. Rows without a name go last. */
function stablySorted (rows: readonly RowSpec[]): RowSpec[] {
  const key = (r: RowSpec): [string, bigint, number] => [r.name === null ? '\uffff' : String(r.name), BigInt.asIntN(64, BigInt(r.tid!)), Number(r.ts)]
  return [...rows].sort((a, b) => {
    const [na, ta, sa] = key(a)
    const [nb, tb, sb] = key(b)
    return na < nb ? -1 : na > nb ? 1 : ta < tb ? -1 : ta > tb ? 1 : sa - sb
  })
}

/** Whether a row of scrambled() is kept: it has a name and its sketch, if given, decodes. */
function usable (row: RowSpec): boolean {
  return row.name !== null && row.sketch === undefined
}

async function filesOf (dir: string, result: CompactionResult): Promise<Buffer[]> {
  return await Promise.all(result.files.map(f => readFile(join(dir, f.file_name))))
}

t.test('runs of any size give the result of the rows sorted in one piece: the first copy of a key supplies its columns', async t => {
  const dir = t.testdir({ in: {} })
  const rows = scrambled()
  const unsorted = join(dir, 'in', 'unsorted.parquet')
  const sorted = join(dir, 'in', 'sorted.parquet')
  await writeSegment(unsorted, rows, { rowGroupSize: 50, tidUnsigned: 'converted' })
  await writeSegment(sorted, stablySorted(rows), { rowGroupSize: 50, tidUnsigned: 'converted' })
  const base = { frequencyMs: 10_000, recordsPerFile: 12, parallelWrite: false }
  const run = async (name: string, path: string, extra: Partial<CompactionOptions> = {}): Promise<{ result: CompactionResult, bytes: Buffer[], spilled: number[] }> => {
    const outDir = join(dir, name)
    await mkdir(outDir)
    const spilled: number[] = []
    const result = await compact({ ...base, ...extra, outDir, inputs: [{ path, segmentId: 'in' }], onSpill: bytes => { spilled.push(bytes) } })
    t.same((await readdir(outDir)).sort(), result.files.map(f => f.file_name).sort(), `${name}: only the output files are left`)
    return { result, bytes: await filesOf(outDir, result), spilled }
  }
  const reference = await run('sorted', sorted)
  t.same(reference.spilled, [], 'an input in order is not spilled')
  t.ok(reference.result.files.length > 3, 'several files')
  t.equal(reference.result.report.dropped.missing_key, 1)
  t.equal(reference.result.report.dropped.bad_sketch, 1)
  t.equal(reference.result.report.replaced_utf8, 1)
  t.equal(reference.result.report.unsigned_tid, 1)
  // per series, 10 s buckets of 9, 6 and 3 rows (timestamps 0-8, 12-16, 20 s, three copies each): 8 + 5 + 2 merges; one more for the row with a bad host
  t.equal(reference.result.report.sketch_merges, 20 * 15 + 1, 'every copy of a key merged into its bucket')
  for (const runRows of [1, 7, 64, 1000]) {
    const got = await run(`runs-${runRows}`, unsorted, { runRows })
    let runs = 0
    for (let start = 0; start < rows.length; start += runRows) if (rows.slice(start, start + runRows).some(usable)) runs++
    if (runRows >= rows.length) runs = 0
    t.equal(got.spilled.length, runs, runs === 0 ? 'an input of one chunk is sorted in memory' : `${runRows} rows a run: ${runs} runs (a chunk of dropped rows writes none)`)
    t.ok(got.spilled.every(bytes => bytes > 0))
    t.same(got.result.files, reference.result.files, `${runRows} rows a run: the same files`)
    t.ok(got.bytes.every((b, i) => b.equals(reference.bytes[i])), `${runRows} rows a run: the same bytes`)
    const { duration_ms: _, inputs, ...report } = got.result.report
    const { duration_ms: __, inputs: referenceInputs, ...referenceReport } = reference.result.report
    t.same(report, { ...referenceReport, bytes_in: report.bytes_in }, `${runRows} rows a run: the same counts`)
    t.same(inputs.map(i => ({ ...i, name: '', bytes: 0 })), referenceInputs.map(i => ({ ...i, name: '', bytes: 0 })), 'counted on the input, once')
  }
})

t.test('a run the caller refuses stops the compaction with its error, and no run or file is left', async t => {
  const dir = t.testdir({ out: {} })
  const path = join(dir, 'unsorted.parquet')
  await writeSegment(path, scrambled(), { rowGroupSize: 50, tidUnsigned: 'converted' })
  let calls = 0
  const refusal = new CompactorError('CMP_ERR_TEMP_SPACE')
  const err = await compact({
    inputs: [{ path }], outDir: join(dir, 'out'), runRows: 100, parallelWrite: false,
    onSpill: () => { if (++calls === 2) throw refusal },
  }).then(() => null, (e: unknown) => e)
  t.equal(err, refusal, 'the caller\'s error')
  t.equal(calls, 2, 'nothing written after the refusal')
  t.same(await readdir(join(dir, 'out')), [], 'no run and no file left')
})

t.test('runs go to the directory the caller gives and are removed from it', async t => {
  const dir = t.testdir({ out: {}, spill: { 'other.txt': 'kept' } })
  const path = join(dir, 'unsorted.parquet')
  await writeSegment(path, scrambled(), { rowGroupSize: 50, tidUnsigned: 'converted' })
  const seen: string[][] = []
  const { report } = await compact({
    inputs: [{ path }], outDir: join(dir, 'out'), spillDir: join(dir, 'spill'), runRows: 100, parallelWrite: false,
    onSpill: async () => { seen.push(await readdir(join(dir, 'spill'))) },
  })
  t.equal(report.rows_in, scrambled().length)
  t.ok(seen.at(-1)!.filter(name => name.endsWith('.parquet')).length === seen.length, 'each run is in the directory given')
  t.same(await readdir(join(dir, 'spill')), ['other.txt'], 'the runs are gone, the rest is kept')
  t.notOk((await readdir(join(dir, 'out'))).some(name => name.startsWith('.')), 'nothing was spilled into the output directory')
})

t.test('runRows is checked', async t => {
  const dir = t.testdir()
  for (const runRows of [0, -1, 1.5, 2 ** 21]) {
    const err = await compact({ inputs: [{ path: join(dir, 'none.parquet') }], outDir: dir, runRows }).then(() => null, (e: unknown) => e)
    t.equal((err as CompactorError | null)?.code, 'CMP_ERR_BAD_ARGUMENT', `${runRows} refused`)
  }
})
