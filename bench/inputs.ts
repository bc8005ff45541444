// A profile's inputs: its cached data set (bench/cache.ts), a data set in a folder given on the
// command line, or, for a profile with `recompactOf`, the compactor's own output of that other
// profile (made afresh by the working tree's CLI every time, since the writer keeps changing).
import { spawn } from 'node:child_process'
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet'
import { ensureDataset, type Dataset } from './cache.ts'
import { DATASET_FILE, type DatasetInfo } from './generate.ts'
import { BENCH_DIR, DATA_ROOT, PROFILES, type BenchProfile } from './profiles.ts'

const ROOT = join(BENCH_DIR, '..')

/** Where derived inputs (a profile's compacted output, to be compacted again) are written; gitignored. */
export const DERIVED_ROOT = join(DATA_ROOT, 'derived')

/** The argv of the compactor CLI with default settings (the benchmark's tool A). */
export function compactorArgv (files: readonly string[], out: string, frequencyMs: number): string[] {
  return [process.execPath, join(ROOT, 'bin/metric-compactor.js'), 'compact', '-q', '--frequency-ms', String(frequencyMs), '-o', out, ...files]
}

/** Runs the compactor CLI (not measured); throws with its output when it fails. Returns its parquet files, sorted by name. */
export async function compactWithCli (files: readonly string[], out: string, frequencyMs: number, extraArgs: readonly string[] = []): Promise<string[]> {
  await rm(out, { recursive: true, force: true })
  const argv = [...compactorArgv(files, out, frequencyMs), ...extraArgs]
  const { code, output } = await new Promise<{ code: number | null, output: string }>((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let text = ''
    child.stdout.on('data', (b: Buffer) => { text += b })
    child.stderr.on('data', (b: Buffer) => { text += b })
    child.once('error', reject)
    child.once('close', c => resolve({ code: c, output: text }))
  })
  if (code !== 0) throw new Error(`the compactor exited with ${code} on ${files.length} files -> ${out}:\n${output}`)
  return parquetFiles(out)
}

/** The *.parquet files of a folder, sorted by name, as absolute paths. */
export async function parquetFiles (dir: string): Promise<string[]> {
  return (await readdir(dir)).filter(n => n.endsWith('.parquet')).sort().map(n => join(dir, n))
}

/** Rows, bytes and columns of each file, read from the footers (hyparquet). */
export async function describeFiles (files: readonly string[]): Promise<{ files: DatasetInfo['files'], rows: number, bytes: number, unionColumns: number }> {
  const described: DatasetInfo['files'] = []
  const union = new Set<string>()
  for (const path of files) {
    const metadata = await parquetMetadataAsync(await asyncBufferFromFile(path))
    const columns = metadata.schema.slice(1).map(e => e.name)
    for (const c of columns) union.add(c)
    described.push({ name: basename(path), rows: Number(metadata.num_rows), bytes: (await stat(path)).size, sorted: true, columns: columns.length })
  }
  return {
    files: described,
    rows: described.reduce((n, f) => n + f.rows, 0),
    bytes: described.reduce((n, f) => n + f.bytes, 0),
    unionColumns: union.size,
  }
}

/** A data set written by bench/generate.ts into dir (its dataset.json names the files). */
export async function loadDataset (dir: string): Promise<Dataset> {
  let info: DatasetInfo
  try {
    info = JSON.parse(await readFile(join(dir, DATASET_FILE), 'utf8')) as DatasetInfo
  } catch (err) {
    throw new Error(`${dir}: no readable ${DATASET_FILE} (a folder written by bench/generate.ts is expected): ${(err as Error).message}`)
  }
  return { name: basename(dir), dir, info, files: info.files.map(f => join(dir, f.name)) }
}

export interface InputOptions {
  /** Take the data from this folder (written by bench/generate.ts) instead of the profile's cached data set. */
  dataDir?: string
  /** Where a recompact profile's input is written (default bench/data/derived/<profile>-input). */
  derivedDir?: string
}

/** The inputs of a profile, ready on disk. */
export async function profileInputs (profile: BenchProfile, log: (line: string) => void, options: InputOptions = {}): Promise<Dataset> {
  const base = options.dataDir !== undefined ? await loadDataset(options.dataDir) : await ensureDataset(profile.data, log)
  if (profile.recompactOf === undefined) return base
  const source = PROFILES[profile.recompactOf]
  if (!source) throw new Error(`profile '${profile.name}': recompactOf names an unknown profile '${profile.recompactOf}'`)
  if (source.recompactOf !== undefined) throw new Error(`profile '${profile.name}': '${source.name}' is itself a recompaction`)
  const dir = options.derivedDir ?? join(DERIVED_ROOT, `${profile.name}-input`)
  await mkdir(join(dir, '..'), { recursive: true })
  const started = performance.now()
  log(`${profile.name}: compacting ${base.name} as profile '${source.name}' does (${source.frequencyMs / 1000} s) into ${dir} ...`)
  const files = await compactWithCli(base.files, dir, source.frequencyMs)
  if (files.length === 0) throw new Error(`${profile.name}: the compactor wrote no parquet file into ${dir}`)
  const d = await describeFiles(files)
  const info: DatasetInfo = {
    ...base.info,
    files: d.files,
    rows: d.rows,
    uniqueKeys: d.rows,
    duplicatedKeys: 0,
    unionColumns: d.unionColumns,
    bytes: d.bytes,
    seconds: (performance.now() - started) / 1000,
  }
  return { name: `${base.name}, compacted as profile '${source.name}'`, dir, info, files }
}
