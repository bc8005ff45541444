// The benchmark's data sets (generator parameters) and profiles (a data set + a compaction setting).
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Generator parameters: everything that determines the bytes of a data set. */
export interface DataOptions {
  files: number
  rows: number
  metrics: number
  series: number
  /** Share of all rows whose (name, tid, bucket) key also appears in another file. */
  overlap: number
  /** Bucket width of the data, in ms. */
  frequencyMs: number
  rowGroupSize: number
  /** Share of files written out of sort order (time-major). */
  unsorted: number
  /** Columns per file (24 fixed + attributes); sparse attributes absent from a file are left out of it. */
  columns: number
  seed: number
}

/** A benchmark case: which data set, compacted at which bucket width. */
export interface BenchProfile {
  readonly name: string
  readonly data: string
  readonly frequencyMs: number
  readonly description: string
  /**
   * The inputs are the compactor's output of this other profile (its data compacted at its
   * frequency by the CLI of the working tree, made afresh by bench/inputs.ts), not the data set.
   */
  readonly recompactOf?: string
}

const DEFAULT_DATA: DataOptions = {
  files: 20, rows: 1_000_000, metrics: 200, series: 5_000, overlap: 0.15, frequencyMs: 10_000,
  rowGroupSize: 10_000, unsorted: 0, columns: 44, seed: 1,
}

/** Data sets by name; several profiles may share one. */
export const DATASETS: Readonly<Record<string, DataOptions>> = {
  default: DEFAULT_DATA,
  wide: { ...DEFAULT_DATA, columns: 150 },
  many: { ...DEFAULT_DATA, files: 50 },
  /** wide with one row group per file (about 50 000 rows), as real segments are written. */
  'wide-1rg': { ...DEFAULT_DATA, columns: 150, rowGroupSize: 1_000_000 },
  /** wide in row groups of 8 192 rows. */
  'wide-8k': { ...DEFAULT_DATA, columns: 150, rowGroupSize: 8192 },
  /** default with every file written out of sort order (time-major): 50 000 rows each, sorted in memory. */
  unsorted: { ...DEFAULT_DATA, unsorted: 1 },
  /** The same rows in 5 files of 200 000: each sorted into 4 runs on disk. */
  'unsorted-large': { ...DEFAULT_DATA, files: 5, unsorted: 1 },
  /** The memory check: default with 4x the rows, same number of files. */
  'default-x4': { ...DEFAULT_DATA, rows: 4 * DEFAULT_DATA.rows },
}

export const PROFILES: Readonly<Record<string, BenchProfile>> = {
  default: { name: 'default', data: 'default', frequencyMs: 10_000, description: '1M rows, 20 files, 44 columns, ~15 % overlap, 10 s -> 10 s' },
  rollup: { name: 'rollup', data: 'default', frequencyMs: 60_000, description: 'the default data rolled up 10 s -> 60 s' },
  wide: { name: 'wide', data: 'wide', frequencyMs: 10_000, description: '1M rows, 20 files, 150 columns (mostly sparse strings)' },
  many: { name: 'many', data: 'many', frequencyMs: 10_000, description: '1M rows, 50 files, 44 columns' },
  'wide-1rg': { name: 'wide-1rg', data: 'wide-1rg', frequencyMs: 10_000, description: 'wide with one row group per file (~50 000 rows each)' },
  'wide-8k': { name: 'wide-8k', data: 'wide-8k', frequencyMs: 10_000, description: 'wide in row groups of 8 192 rows' },
  unsorted: { name: 'unsorted', data: 'unsorted', frequencyMs: 10_000, description: 'default with every file out of sort order (time-major), 50 000 rows each: sorted in memory' },
  'unsorted-large': { name: 'unsorted-large', data: 'unsorted-large', frequencyMs: 10_000, description: 'unsorted in 5 files of 200 000 rows: each sorted into 4 runs on disk' },
  'real-wide': {
    name: 'real-wide', data: 'real-wide', frequencyMs: 10_000,
    description: 'the real fixtures, time-shifted copies: ~1M rows, 159 columns, 17 files of one row group (skipped without the fixtures)',
  },
  recompact: {
    name: 'recompact', data: 'default', frequencyMs: 10_000, recompactOf: 'default',
    description: "the compactor's own output of default (925k rows) compacted again, 10 s -> 10 s",
  },
}

/** bench/ as an absolute path. */
export const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url))
/** Where data sets are cached (gitignored). */
export const DATA_ROOT = join(BENCH_DIR, 'data')
/** Where results are written (gitignored). */
export const RESULTS_DIR = join(BENCH_DIR, 'results')

/** The generator parameters of a profile or data set name. */
export function dataOptionsFor (name: string): DataOptions {
  const data = DATASETS[name] ?? DATASETS[PROFILES[name]?.data ?? '']
  if (!data) throw new Error(`unknown profile or data set '${name}' (known: ${[...Object.keys(PROFILES), ...Object.keys(DATASETS)].join(', ')})`)
  return { ...data }
}
