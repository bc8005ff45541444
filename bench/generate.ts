// Writes a synthetic bundle of cooked-metric segments in the current schema, as lakerunner writes
// them: every column optional, ZSTD, sorted by (metric_name, chq_tid, chq_timestamp), real
// sketches-go sketches with rollups computed from them. Deterministic from the seed.
//
//   node bench/generate.ts --profile default --out bench/data/default [--seed N] [--files N] [--rows N]
//     [--scale F] [--metrics N] [--series N] [--overlap F] [--frequency-ms N] [--row-group-size N]
//     [--unsorted F] [--columns N]
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ParquetWriter, fileWriter } from 'hyparquet-writer'
import type { DecodedArray } from 'hyparquet'
import { parquetSchema, ROLLUP_COLUMNS, SketchAccumulator, zstdCompress } from '../src/compaction/index.ts'
import { buildModel, FIXED_COLUMN_COUNT, type Model } from './dataset.ts'
import { Prng } from './prng.ts'
import { DATA_ROOT, dataOptionsFor, type DataOptions } from './profiles.ts'
import { fillSketch, planRows, type SegmentRows } from './rows.ts'

/** Bumped whenever the generator's output changes, so cached data sets are rebuilt. */
export const GENERATOR_VERSION = 2
/** First bucket of every data set: 2025-10-15T00:00:00Z. */
export const START_MS = Date.UTC(2025, 9, 15)
/** The file that describes a complete data set; written last. */
export const DATASET_FILE = 'dataset.json'

const CUSTOMER_ID = '2d5d1c2e-7a5b-4c1f-9a3e-6f0b8e4d2c11'
const ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'

/** What a data set holds, as dataset.json records it. */
export interface DatasetInfo {
  generator: number
  options: DataOptions
  files: Array<{ name: string, rows: number, bytes: number, sorted: boolean, columns: number }>
  rows: number
  uniqueKeys: number
  duplicatedKeys: number
  unionColumns: number
  buckets: number
  firstBucketMs: number
  lastBucketMs: number
  bytes: number
  seconds: number
}

/** Writes the data set described by options into dir (its old parquet files removed); returns its description. */
export async function generate (options: DataOptions, dir: string, log: (line: string) => void = () => {}): Promise<DatasetInfo> {
  const started = performance.now()
  checkOptions(options)
  await mkdir(dir, { recursive: true })
  for (const name of await readdir(dir)) if (name.endsWith('.parquet') || name === DATASET_FILE) await rm(join(dir, name))

  const rng = new Prng(options.seed)
  const attributeCount = options.columns - FIXED_COLUMN_COUNT
  const uniqueKeys = options.rows - (options.files > 1 ? Math.round(options.rows * options.overlap / 2) : 0)
  const model = buildModel(rng, options.metrics, options.series, attributeCount, Math.ceil(uniqueKeys / options.series))
  const plan = planRows(rng, options.rows, options.files, model.seriesByRank, options.overlap, options.unsorted)
  const files: DatasetInfo['files'] = []
  const union = new Set<string>()
  const acc = new SketchAccumulator()
  for (const [f, rows] of plan.files.entries()) {
    const name = `seg-${String(f).padStart(4, '0')}.parquet`
    const columns = segmentColumns(model, rows, options, rng, acc)
    for (const c of columns) union.add(c.name)
    await writeColumns(join(dir, name), columns, options.rowGroupSize)
    const { size } = await stat(join(dir, name))
    files.push({ name, rows: rows.series.length, bytes: size, sorted: rows.sorted, columns: columns.length })
    log(`${name}: ${rows.series.length} rows, ${columns.length} columns, ${(size / 1048576).toFixed(1)} MiB`)
  }
  const info: DatasetInfo = {
    generator: GENERATOR_VERSION,
    options,
    files,
    rows: files.reduce((n, f) => n + f.rows, 0),
    uniqueKeys: plan.uniqueKeys,
    duplicatedKeys: plan.duplicatedKeys,
    unionColumns: union.size,
    buckets: plan.buckets,
    firstBucketMs: START_MS,
    lastBucketMs: START_MS + (plan.buckets - 1) * options.frequencyMs,
    bytes: files.reduce((n, f) => n + f.bytes, 0),
    seconds: Math.round(performance.now() - started) / 1000,
  }
  await writeFile(join(dir, DATASET_FILE), JSON.stringify(info, null, 2) + '\n')
  return info
}

function checkOptions (o: DataOptions): void {
  const positive = ['files', 'rows', 'metrics', 'series', 'frequencyMs', 'rowGroupSize'] as const
  for (const k of positive) if (!(Number.isSafeInteger(o[k]) && o[k] > 0)) throw new Error(`${k} must be a positive integer, got ${o[k]}`)
  if (!(o.overlap >= 0 && o.overlap < 1)) throw new Error(`overlap must be in [0, 1), got ${o.overlap}`)
  if (!(o.unsorted >= 0 && o.unsorted <= 1)) throw new Error(`unsorted must be in [0, 1], got ${o.unsorted}`)
  if (!(Number.isSafeInteger(o.columns) && o.columns >= FIXED_COLUMN_COUNT)) throw new Error(`columns must be at least ${FIXED_COLUMN_COUNT}, got ${o.columns}`)
  if (o.series < o.metrics) throw new Error(`series (${o.series}) must be at least metrics (${o.metrics})`)
}

interface Column {
  name: string
  type: 'string' | 'bytes' | 'int64' | 'double'
  data: DecodedArray
}

/** Every column of one segment, sorted by name; attribute columns with no value in this file are left out. */
function segmentColumns (model: Model, rows: SegmentRows, options: DataOptions, rng: Prng, acc: SketchAccumulator): Column[] {
  const n = rows.series.length
  const { metrics, seriesMetric, tidWords, seriesScale } = model
  const perMetric = (pick: (m: number) => string | null): Array<string | null> => Array.from(rows.series, s => pick(seriesMetric[s]))
  const tid = new BigInt64Array(n)
  const tidOut = new Int32Array(tid.buffer)
  const ts = new BigInt64Array(n)
  const tsns = new BigInt64Array(n)
  const ids = new Array<string>(n)
  const sketches = new Array<Uint8Array>(n)
  const rollups = ROLLUP_COLUMNS.map(() => new Float64Array(n))
  const scratch = new Float64Array(ROLLUP_COLUMNS.length)
  for (let i = 0; i < n; i++) {
    const s = rows.series[i]
    tidOut[2 * i] = tidWords[2 * s]
    tidOut[2 * i + 1] = tidWords[2 * s + 1]
    const bucketMs = START_MS + rows.bucket[i] * options.frequencyMs
    ts[i] = BigInt(bucketMs)
    // the data point's own time, inside its bucket
    tsns[i] = BigInt(bucketMs + rng.int(options.frequencyMs)) * 1_000_000n + BigInt(rng.int(1_000_000))
    ids[i] = rowId(rng)
    fillSketch(acc, rng, metrics[seriesMetric[s]], seriesScale[s])
    sketches[i] = acc.encode()
    acc.rollups(scratch)
    for (let r = 0; r < ROLLUP_COLUMNS.length; r++) rollups[r][i] = scratch[r]
  }
  const columns: Column[] = [
    { name: 'metric_name', type: 'string', data: perMetric(m => metrics[m].name) },
    { name: 'chq_tid', type: 'int64', data: tid },
    { name: 'chq_timestamp', type: 'int64', data: ts },
    { name: 'chq_tsns', type: 'int64', data: tsns },
    { name: 'chq_metric_type', type: 'string', data: perMetric(m => metrics[m].type) },
    { name: 'chq_customer_id', type: 'string', data: new Array<string>(n).fill(CUSTOMER_ID) },
    { name: 'chq_telemetry_type', type: 'string', data: new Array<string>(n).fill('metrics') },
    { name: 'chq_description', type: 'string', data: perMetric(m => metrics[m].description) },
    { name: 'chq_unit', type: 'string', data: perMetric(m => metrics[m].unit) },
    { name: 'chq_scope_name', type: 'string', data: perMetric(m => metrics[m].scopeName) },
    { name: 'chq_scope_url', type: 'string', data: perMetric(m => metrics[m].scopeUrl) },
    { name: 'chq_id', type: 'string', data: ids },
    { name: 'chq_sketch', type: 'bytes', data: sketches },
    ...ROLLUP_COLUMNS.map((name, k) => ({ name, type: 'double' as const, data: rollups[k] })),
  ]
  for (const attribute of model.attributes) {
    const values = new Array<string | null>(n)
    let present = false
    for (let i = 0; i < n; i++) {
      const v = rows.bucket[i] < attribute.fromBucket ? null : attribute.values[rows.series[i]]
      values[i] = v
      if (v !== null) present = true
    }
    // lakerunner's writer builds each file's schema from its rows: an all-null column is absent
    if (present) columns.push({ name: attribute.name, type: 'string', data: values })
  }
  return columns.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/** A 13-character base32 row id (chq_id). */
function rowId (rng: Prng): string {
  let s = ''
  for (let i = 0; i < 13; i++) s += ID_ALPHABET[rng.int(32)]
  return s
}

async function writeColumns (path: string, columns: readonly Column[], rowGroupSize: number): Promise<void> {
  const writer = new ParquetWriter({ writer: fileWriter(path), schema: parquetSchema(columns), codec: 'ZSTD', compressors: { ZSTD: zstdCompress } })
  await writer.write({ columnData: columns.map(c => ({ name: c.name, data: c.data })), rowGroupSize })
  await writer.finish()
}

/** Parses the generator's command line into data options and an output directory. */
export function parseGenerateArgs (argv: readonly string[]): { options: DataOptions, out: string, profile: string } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      profile: { type: 'string', default: 'default' },
      out: { type: 'string', short: 'o' },
      seed: { type: 'string' },
      files: { type: 'string' },
      rows: { type: 'string' },
      scale: { type: 'string' },
      metrics: { type: 'string' },
      series: { type: 'string' },
      overlap: { type: 'string' },
      'frequency-ms': { type: 'string' },
      'row-group-size': { type: 'string' },
      unsorted: { type: 'string' },
      columns: { type: 'string' },
    },
  })
  const options = dataOptionsFor(values.profile)
  const number = (text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback
    const v = Number(text.replaceAll('_', ''))
    if (!Number.isFinite(v)) throw new Error(`not a number: '${text}'`)
    return v
  }
  options.seed = number(values.seed, options.seed)
  options.files = number(values.files, options.files)
  options.rows = Math.round(number(values.rows, options.rows) * number(values.scale, 1))
  options.metrics = number(values.metrics, options.metrics)
  options.series = number(values.series, options.series)
  options.overlap = number(values.overlap, options.overlap)
  options.frequencyMs = number(values['frequency-ms'], options.frequencyMs)
  options.rowGroupSize = number(values['row-group-size'], options.rowGroupSize)
  options.unsorted = number(values.unsorted, options.unsorted)
  options.columns = number(values.columns, options.columns)
  return { options, out: values.out ?? join(DATA_ROOT, values.profile), profile: values.profile }
}

if (import.meta.main) {
  const { options, out } = parseGenerateArgs(process.argv.slice(2))
  const info = await generate(options, out, line => process.stderr.write(line + '\n'))
  process.stdout.write(`${info.rows} rows (${info.uniqueKeys} unique keys, ${info.duplicatedKeys} in two files) in ${info.files.length} files, ` +
    `${info.unionColumns} columns, ${(info.bytes / 1048576).toFixed(1)} MiB, in ${info.seconds} s -> ${out}\n`)
}
