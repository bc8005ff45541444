// The engine's output bytes do not change by accident: generated bundles (sorted, unsorted, wide,
// split into several files, rolled up) and the real fixtures compact to the very files whose
// SHA-256 were recorded in stable-bytes.json. A change that means to change the output (and bumps
// OUTPUT_FORMAT_VERSION) records them again: RECORD_STABLE_BYTES=1 tap test/compaction/stable-bytes.test.ts
import t from 'tap'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { compact } from '../../src/compaction/compact.ts'
import { generate } from '../../bench/generate.ts'
import type { DataOptions } from '../../bench/profiles.ts'
import { HAVE_FIXTURES, NO_FIXTURES, fixtureFolders } from '../helpers.ts'

const RECORD = process.env.RECORD_STABLE_BYTES === '1'
const RECORDED = join(import.meta.dirname, 'stable-bytes.json')

const SMALL: DataOptions = {
  files: 6, rows: 12_000, metrics: 12, series: 200, overlap: 0.15, frequencyMs: 10_000,
  rowGroupSize: 1500, unsorted: 0, columns: 44, seed: 11,
}

/** Generated bundles and how each is compacted. */
const CASES: Record<string, { data: DataOptions, frequencyMs: number, targetFileBytes?: number, recordsPerFile?: number, parallelWrite?: boolean }> = {
  sorted: { data: SMALL, frequencyMs: 10_000 },
  split: { data: SMALL, frequencyMs: 10_000, recordsPerFile: 2500 },
  // as the service runs it: files written on the compaction's own thread
  'split inline': { data: SMALL, frequencyMs: 10_000, recordsPerFile: 2500, parallelWrite: false },
  // files sized by bytes: the estimate, the files written again, and the same bytes either way
  bytes: { data: SMALL, frequencyMs: 10_000, targetFileBytes: 64 * 1024 },
  'bytes inline': { data: SMALL, frequencyMs: 10_000, targetFileBytes: 64 * 1024, parallelWrite: false },
  rollup: { data: SMALL, frequencyMs: 60_000 },
  unsorted: { data: { ...SMALL, unsorted: 0.5, seed: 12 }, frequencyMs: 10_000 },
  wide: { data: { ...SMALL, columns: 120, rows: 6000, seed: 13 }, frequencyMs: 10_000 },
}

type Hashes = Record<string, string[]>

/** SHA-256 of each output file in order, and of the files' metadata as the engine reports it. */
async function hashes (inputs: string[], outDir: string, frequencyMs: number, options: { targetFileBytes?: number, recordsPerFile?: number, parallelWrite?: boolean } = {}): Promise<string[]> {
  const { files } = await compact({ inputs: inputs.map(path => ({ path })), outDir, frequencyMs, ...options })
  const out: string[] = []
  for (const file of files) out.push(createHash('sha256').update(await readFile(join(outDir, file.file_name))).digest('hex'))
  out.push(createHash('sha256').update(JSON.stringify(files, (_k, v) => typeof v === 'bigint' ? v.toString() : v)).digest('hex'))
  return out
}

const recorded: Hashes = existsSync(RECORDED) ? JSON.parse(await readFile(RECORDED, 'utf8')) as Hashes : {}
const seen: Hashes = {}

for (const [name, { data, frequencyMs, ...options }] of Object.entries(CASES)) {
  t.test(`generated bundle '${name}' compacts to the recorded bytes`, async t => {
    const dir = t.testdir({ in: {}, out: {} })
    await generate(data, join(dir, 'in'))
    const info = JSON.parse(await readFile(join(dir, 'in', 'dataset.json'), 'utf8')) as { files: Array<{ name: string }> }
    seen[name] = await hashes(info.files.map(f => join(dir, 'in', f.name)), join(dir, 'out'), frequencyMs, options)
    if (!RECORD) t.same(seen[name], recorded[name], `${seen[name].length - 1} files and their metadata`)
  })
}

t.test('files written inline are the ones written on the writer thread, split by rows or by bytes', async t => {
  t.same(seen['split inline'], seen.split)
  t.same(seen['bytes inline'], seen.bytes)
  t.ok(seen.bytes.length > 3, `${seen.bytes.length - 1} files of 64 KiB at most`)
})

t.test('the real fixtures compact to the recorded bytes', HAVE_FIXTURES ? {} : { skip: NO_FIXTURES }, async t => {
  for (const [folder, paths] of fixtureFolders()) {
    const out = t.testdir()
    seen[`fixture ${folder}`] = await hashes(paths, out, 10_000)
    if (!RECORD) t.same(seen[`fixture ${folder}`], recorded[`fixture ${folder}`], folder)
  }
})

if (RECORD) {
  t.teardown(async () => {
    // fixtures absent here: keep what was recorded where they were present
    await writeFile(RECORDED, JSON.stringify({ ...recorded, ...seen }, null, 2) + '\n')
  })
}
