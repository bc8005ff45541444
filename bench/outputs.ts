// The outputs measure (issue 14): are the compactor's files as small and as fast to query as the
// files DuckDB itself writes from the very same rows?
//
// For each profile: the compactor CLI compacts the profile's inputs (default settings); DuckDB
// rewrites the rows of those files, sorted by the key, into one file of its own:
//   COPY (SELECT * FROM read_parquet([our files], union_by_name = true)
//         ORDER BY metric_name, chq_tid, chq_timestamp) TO 'duck.parquet' (FORMAT parquet, COMPRESSION zstd)
// and, as a second peer, each of our files alone into a file of its own (the same files holding the
// same rows: what is left of a difference once the number of files is the same). Then: bytes (and
// bytes per row) of each, and a query set timed in DuckDB on our files against DuckDB's files,
// alternated (ours, duck, same, ours ...), each run in a fresh DuckDB instance, the OS page cache
// warm for all; each query's result must be the same on every side, or the measure fails.
// Prints a markdown table and writes bench/results/outputs-<time>.json.
//
//   node bench/outputs.ts [--profiles default,wide,rollup,recompact] [--rounds 15] [--threads N]
//                         [--attribute resource_k8s_pod_name] [--data DIR] [--keep]
//                         [--target-file-bytes N]   # the compactor's target (its default unless given)
//   npm run bench -- --outputs [the same options]
//
// --data DIR: the inputs are the data set in DIR (written by bench/generate.ts) for every profile
// given, instead of the profile's cached one (for a quick check on small data).
import { mkdir, readFile, rm, stat, writeFile, copyFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { parseArgs } from 'node:util'
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api'
import { sqlIdentifier, sqlString } from './duckdb-peer.ts'
import { DatasetUnavailable } from './cache.ts'
import { compactWithCli, profileInputs } from './inputs.ts'
import { machine } from './machine.ts'
import { median } from './measure.ts'
import { DATA_ROOT, PROFILES, RESULTS_DIR, type BenchProfile } from './profiles.ts'
import type { BenchResults } from './report.ts'

/** Rounds below this make a smoke run, not the measure. */
export const MIN_ROUNDS = 15
/** The attribute column of queries 4 and 5 unless --attribute names another. */
export const DEFAULT_ATTRIBUTE = 'resource_k8s_pod_name'
/** The sort key the compactor writes and DuckDB's rewrite is ordered by. */
const SORT_KEY = ['metric_name', 'chq_tid', 'chq_timestamp']

interface Options {
  profiles: BenchProfile[]
  rounds: number
  threads: string | undefined
  attribute: string
  dataDir: string | undefined
  keep: boolean
  targetFileBytes: string | undefined
}

const log = (line: string): void => { process.stderr.write(line + '\n') }

function parseOptions (argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      profiles: { type: 'string', default: 'default,wide,rollup,recompact' },
      rounds: { type: 'string', default: String(MIN_ROUNDS) },
      threads: { type: 'string' },
      attribute: { type: 'string', default: DEFAULT_ATTRIBUTE },
      data: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'target-file-bytes': { type: 'string' },
    },
  })
  const profiles = values.profiles.split(',').map(s => s.trim()).filter(Boolean).map(name => {
    const profile = PROFILES[name]
    if (!profile) throw new Error(`unknown profile '${name}' (known: ${Object.keys(PROFILES).join(', ')})`)
    return profile
  })
  const rounds = Number(values.rounds)
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`--rounds must be a positive integer, got ${values.rounds}`)
  if (values.threads !== undefined && !(Number.isInteger(Number(values.threads)) && Number(values.threads) >= 1)) {
    throw new Error(`--threads must be a positive integer, got ${values.threads}`)
  }
  const target = values['target-file-bytes']
  if (target !== undefined && !(Number.isInteger(Number(target)) && Number(target) > 0)) throw new Error(`--target-file-bytes must be a positive integer, got ${target}`)
  return { profiles, rounds, threads: values.threads, attribute: values.attribute, dataDir: values.data, keep: values.keep, targetFileBytes: target }
}

/** One side of the comparison: a set of parquet files and how DuckDB reads them. */
interface Side {
  readonly name: 'ours' | 'duck' | 'same'
  readonly files: readonly string[]
}

/** The table function both sides are read through (union_by_name on both: our files may differ in columns). */
function source (side: Side): string {
  return `read_parquet([${side.files.map(sqlString).join(', ')}], union_by_name = true)`
}

/** What a side's files are: count, bytes, rows, row groups and footer bytes. */
export interface Layout {
  files: number
  bytes: number
  rows: number
  rowGroups: number
  footerBytes: number
  columns: number
}

/** The values the queries look for, chosen from the data, deterministically. */
export interface QueryParameters {
  /** The median metric_name by row count (ties by name). */
  name: string
  nameRows: number
  /** The median of the distinct chq_tid values. */
  tid: string
  /** The middle third of [first, last] chq_timestamp: from <= ts <= to. */
  from: string
  to: string
  attribute: string
  /** The attribute's value present in the fewest rows (ties by value). */
  rareValue: string
  rareRows: number
  /** A value that sorts right after the attribute's median distinct value and is in no row. */
  absentValue: string
}

export interface QueryResult {
  id: string
  title: string
  sql: string
  oursMs: number[]
  duckMs: number[]
  sameMs: number[]
  oursMedianMs: number
  duckMedianMs: number
  sameMedianMs: number
  /** ours / duck, of the medians. */
  ratio: number
  /** ours / same (DuckDB's rewrite of each of our files), of the medians. */
  sameRatio: number
  /** The result (the same on both sides), as JSON. */
  result: unknown
}

export interface ProfileOutputs {
  profile: string
  description: string
  dataset: string
  frequencyMs: number
  inputRows: number
  inputFiles: number
  ours: Layout
  duck: Layout
  same: Layout
  bytesRatio: number
  sameBytesRatio: number
  parameters: QueryParameters
  queries: QueryResult[]
}

export interface OutputsResults {
  started: string
  finished: string
  command: string
  options: { profiles: string[], rounds: number, threads: string | null, attribute: string, data: string | null, targetFileBytes: string | null }
  machine: BenchResults['machine']
  profiles: ProfileOutputs[]
}

async function rows (connection: DuckDBConnection, sql: string): Promise<Array<Record<string, unknown>>> {
  return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Array<Record<string, unknown>>
}

async function layout (connection: DuckDBConnection, side: Side): Promise<Layout> {
  const list = `[${side.files.map(sqlString).join(', ')}]`
  const [m] = await rows(connection, `SELECT count(*) AS files, sum(num_rows) AS rows, sum(num_row_groups) AS row_groups,
      sum(footer_size) AS footer FROM parquet_file_metadata(${list})`)
  const columns = await rows(connection, `DESCRIBE SELECT * FROM ${source(side)}`)
  let bytes = 0
  for (const f of side.files) bytes += (await stat(f)).size
  return {
    files: Number(m.files), bytes, rows: Number(m.rows), rowGroups: Number(m.row_groups), footerBytes: Number(m.footer), columns: columns.length,
  }
}

/** The union's columns with their DuckDB types, by name. */
async function columnTypes (connection: DuckDBConnection, side: Side): Promise<Map<string, string>> {
  const described = await rows(connection, `DESCRIBE SELECT * FROM ${source(side)}`)
  return new Map(described.map(r => [String(r.column_name), String(r.column_type)]))
}

async function chooseParameters (connection: DuckDBConnection, ours: Side, attribute: string, types: Map<string, string>): Promise<QueryParameters> {
  const src = source(ours)
  for (const c of SORT_KEY) if (!types.has(c)) throw new Error(`the compactor's output has no ${c} column`)
  const names = await rows(connection, `SELECT metric_name AS name, count(*) AS n FROM ${src} GROUP BY ALL ORDER BY n, name`)
  if (names.length === 0) throw new Error('the compactor\'s output has no rows')
  const mid = names[(names.length - 1) >> 1]
  const [tid] = await rows(connection, `SELECT quantile_disc(t, 0.5)::VARCHAR AS tid FROM (SELECT DISTINCT chq_tid AS t FROM ${src})`)
  const [span] = await rows(connection, `SELECT min(chq_timestamp)::VARCHAR AS lo, max(chq_timestamp)::VARCHAR AS hi FROM ${src}`)
  const lo = BigInt(String(span.lo))
  const width = BigInt(String(span.hi)) - lo
  if (types.get(attribute) !== 'VARCHAR') {
    const strings = [...types].filter(([c, t]) => t === 'VARCHAR' && !SORT_KEY.includes(c) && !c.startsWith('chq_')).map(([c]) => c)
    throw new Error(`--attribute ${attribute}: no such string column in the compactor's output (string attribute columns: ${strings.join(', ') || 'none'})`)
  }
  const a = sqlIdentifier(attribute)
  const [rare] = await rows(connection, `SELECT ${a} AS v, count(*) AS n FROM ${src} WHERE ${a} IS NOT NULL GROUP BY ALL ORDER BY n, v LIMIT 1`)
  if (rare === undefined) throw new Error(`--attribute ${attribute}: the column is null in every row`)
  const [middle] = await rows(connection, `SELECT quantile_disc(v, 0.5) AS v FROM (SELECT DISTINCT ${a} AS v FROM ${src} WHERE ${a} IS NOT NULL)`)
  let absent = `${String(middle.v)}~absent`
  while (Number((await rows(connection, `SELECT count(*) AS n FROM ${src} WHERE ${a} = ${sqlString(absent)}`))[0].n) > 0) absent += '~'
  return {
    name: String(mid.name), nameRows: Number(mid.n), tid: String(tid.tid),
    from: String(lo + width / 3n), to: String(lo + (2n * width) / 3n),
    attribute, rareValue: String(rare.v), rareRows: Number(rare.n), absentValue: absent,
  }
}

/** A query of the set, as SQL over a side. */
interface QueryDef {
  id: string
  title: string
  sql: (src: string) => string
  /** What the result must show whatever the files: some rows, or none. */
  expect: 'rows' | 'none' | 'any'
}

/**
 * The query set. The lookups (1-5) read every column of the rows they find, as `SELECT *` would,
 * and return their count and a sum of row hashes over all columns (sorted by name), so that the
 * answer is small and the same on both sides only if every value is; (6) scans two columns.
 */
export function querySet (p: QueryParameters, columns: readonly string[]): QueryDef[] {
  const digest = `count(*) AS rows, sum(hash(${[...columns].sort().map(sqlIdentifier).join(', ')}))::VARCHAR AS digest`
  const a = sqlIdentifier(p.attribute)
  return [
    { id: 'name', title: '(1) by metric_name', expect: 'rows', sql: src => `SELECT ${digest} FROM ${src} WHERE metric_name = ${sqlString(p.name)}` },
    { id: 'tid', title: '(2) by chq_tid', expect: 'rows', sql: src => `SELECT ${digest} FROM ${src} WHERE chq_tid = ${p.tid}` },
    {
      id: 'name_time', title: '(3) by name, middle third of time', expect: 'any',
      sql: src => `SELECT ${digest} FROM ${src} WHERE metric_name = ${sqlString(p.name)} AND chq_timestamp BETWEEN ${p.from} AND ${p.to}`,
    },
    { id: 'rare', title: `(4) rare ${p.attribute}`, expect: 'rows', sql: src => `SELECT ${digest} FROM ${src} WHERE ${a} = ${sqlString(p.rareValue)}` },
    { id: 'absent', title: `(5) absent ${p.attribute}`, expect: 'none', sql: src => `SELECT ${digest} FROM ${src} WHERE ${a} = ${sqlString(p.absentValue)}` },
    {
      id: 'scan', title: '(6) full-scan aggregate by name', expect: 'rows',
      sql: src => `SELECT metric_name, count(*) AS rows, sum(chq_rollup_sum) AS sum FROM ${src} GROUP BY metric_name ORDER BY metric_name`,
    },
  ]
}

/** Runs one query in a fresh DuckDB instance (no cache of DuckDB's survives between runs); times the query alone. */
async function timeQuery (sql: string, threads: string | undefined): Promise<{ ms: number, result: unknown[][] }> {
  const instance = await DuckDBInstance.create(':memory:', threads ? { threads } : {})
  const connection = await instance.connect()
  try {
    await connection.run('SELECT 1')
    const started = performance.now()
    const reader = await connection.runAndReadAll(sql)
    const ms = performance.now() - started
    return { ms, result: reader.getRowsJson() as unknown[][] }
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
}

/** Equal results: the same shape and values; doubles within 1e-9 relative (a sum's order depends on the scan's split). */
export function sameResult (a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b)
    return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b))
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameResult(v, b[i]))
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort()
    const kb = Object.keys(b).sort()
    return sameResult(ka, kb) && ka.every(k => sameResult((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  }
  return a === b
}

const short = (v: unknown): string => {
  const s = JSON.stringify(v)
  return s.length > 300 ? s.slice(0, 300) + '...' : s
}

async function measureProfile (profile: BenchProfile, options: Options): Promise<ProfileOutputs> {
  const data = await profileInputs(profile, log, { dataDir: options.dataDir })
  const work = join(DATA_ROOT, 'runs', `outputs-${profile.name}`)
  await rm(work, { recursive: true, force: true })
  await mkdir(work, { recursive: true })
  log(`${profile.name}: compacting ${data.info.rows} rows in ${data.files.length} files (${profile.frequencyMs / 1000} s buckets) with the CLI ...`)
  const target = options.targetFileBytes === undefined ? [] : ['--target-file-bytes', options.targetFileBytes]
  const oursFiles = await compactWithCli(data.files, join(work, 'ours'), profile.frequencyMs, target)
  if (oursFiles.length === 0) throw new Error(`${profile.name}: the compactor wrote no parquet file`)
  const ours: Side = { name: 'ours', files: oursFiles }
  const duck: Side = { name: 'duck', files: [join(work, 'duck.parquet')] }
  await mkdir(join(work, 'same'))
  const same: Side = { name: 'same', files: oursFiles.map(f => join(work, 'same', basename(f))) }

  const instance = await DuckDBInstance.create(':memory:')
  const connection = await instance.connect()
  let parameters: QueryParameters
  let oursLayout: Layout
  let duckLayout: Layout
  let sameLayout: Layout
  let columns: string[]
  try {
    log(`${profile.name}: DuckDB rewrites the same rows into ${duck.files[0]} ...`)
    await connection.run(`COPY (SELECT * FROM ${source(ours)} ORDER BY ${SORT_KEY.join(', ')}) TO ${sqlString(duck.files[0])} (FORMAT parquet, COMPRESSION zstd)`)
    for (const [i, f] of ours.files.entries()) {
      await connection.run(`COPY (SELECT * FROM read_parquet(${sqlString(f)}) ORDER BY ${SORT_KEY.join(', ')}) TO ${sqlString(same.files[i])} (FORMAT parquet, COMPRESSION zstd)`)
    }
    oursLayout = await layout(connection, ours)
    duckLayout = await layout(connection, duck)
    sameLayout = await layout(connection, same)
    if (oursLayout.rows !== duckLayout.rows) throw new Error(`${profile.name}: DuckDB's rewrite has ${duckLayout.rows} rows, ours ${oursLayout.rows}`)
    if (oursLayout.rows !== sameLayout.rows) throw new Error(`${profile.name}: DuckDB's rewrite of each file has ${sameLayout.rows} rows, ours ${oursLayout.rows}`)
    const oursTypes = await columnTypes(connection, ours)
    columns = [...oursTypes.keys()]
    for (const other of [duck, same]) {
      const types = await columnTypes(connection, other)
      const differ = [...new Set([...oursTypes.keys(), ...types.keys()])].filter(c => oursTypes.get(c) !== types.get(c))
      if (differ.length > 0) throw new Error(`${profile.name}: columns read differently from ours and ${other.name}: ${differ.map(c => `${c} ${oursTypes.get(c)} / ${types.get(c)}`).join(', ')}`)
    }
    parameters = await chooseParameters(connection, ours, options.attribute, oursTypes)
  } finally {
    connection.closeSync()
    instance.closeSync()
  }
  log(`${profile.name}: ${oursLayout.rows} rows; ours ${oursLayout.bytes} bytes in ${oursLayout.files} files, DuckDB's ${duckLayout.bytes} bytes, DuckDB's per file ${sameLayout.bytes}`)
  log(`${profile.name}: name ${parameters.name} (${parameters.nameRows} rows), tid ${parameters.tid}, time [${parameters.from}, ${parameters.to}], ` +
    `${parameters.attribute} rare ${parameters.rareValue} (${parameters.rareRows} rows), absent ${parameters.absentValue}`)

  // the OS page cache warm for every side: every byte read once, then every query run once untimed
  const sides = [ours, duck, same]
  for (const f of sides.flatMap(side => side.files)) await readFile(f)
  const queries = querySet(parameters, columns)
  const expected: unknown[][][] = []
  for (const q of queries) {
    const a = await timeQuery(q.sql(source(ours)), options.threads)
    for (const other of [duck, same]) {
      const b = await timeQuery(q.sql(source(other)), options.threads)
      if (!sameResult(a.result, b.result)) throw new Error(`${profile.name} ${q.title}: the answers differ\n  ours: ${short(a.result)}\n  ${other.name}: ${short(b.result)}`)
    }
    const found = q.id === 'scan' ? a.result.length : Number(a.result[0]?.[0])
    if (q.expect === 'rows' && !(found > 0)) throw new Error(`${profile.name} ${q.title}: no rows found (${short(a.result)})`)
    if (q.expect === 'none' && found !== 0) throw new Error(`${profile.name} ${q.title}: ${found} rows found for an absent value`)
    expected.push(a.result)
  }

  const times = queries.map(() => ({ ours: [] as number[], duck: [] as number[], same: [] as number[] }))
  for (let round = 1; round <= options.rounds; round++) {
    for (const [i, q] of queries.entries()) {
      for (const side of sides) {
        const { ms, result } = await timeQuery(q.sql(source(side)), options.threads)
        if (!sameResult(result, expected[i])) throw new Error(`${profile.name} ${q.title} round ${round}: ${side.name} answered ${short(result)}, not ${short(expected[i])}`)
        times[i][side.name].push(ms)
      }
    }
    log(`  ${profile.name} round ${round}/${options.rounds}: ` + queries.map((q, i) => `${q.id} ${times[i].ours.at(-1)!.toFixed(1)}/${times[i].duck.at(-1)!.toFixed(1)}/${times[i].same.at(-1)!.toFixed(1)}`).join('  ') + ' ms')
  }
  if (!options.keep) await rm(work, { recursive: true, force: true })

  return {
    profile: profile.name, description: profile.description, dataset: data.name, frequencyMs: profile.frequencyMs,
    inputRows: data.info.rows, inputFiles: data.files.length,
    ours: oursLayout, duck: duckLayout, same: sameLayout, bytesRatio: oursLayout.bytes / duckLayout.bytes, sameBytesRatio: oursLayout.bytes / sameLayout.bytes,
    parameters,
    queries: queries.map((q, i) => {
      const oursMedianMs = median(times[i].ours)
      const duckMedianMs = median(times[i].duck)
      const sameMedianMs = median(times[i].same)
      return {
        id: q.id, title: q.title, sql: q.sql('SRC'),
        oursMs: times[i].ours.map(round2), duckMs: times[i].duck.map(round2), sameMs: times[i].same.map(round2),
        oursMedianMs: round2(oursMedianMs), duckMedianMs: round2(duckMedianMs), sameMedianMs: round2(sameMedianMs),
        ratio: oursMedianMs / duckMedianMs, sameRatio: oursMedianMs / sameMedianMs, result: expected[i],
      }
    }),
  }
}

const round2 = (v: number): number => Math.round(v * 100) / 100
const ms = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2))
const group = (n: number): string => n.toLocaleString('en-US').replaceAll(',', ' ')
const size = (bytes: number): string => (bytes >= 1048576 ? `${(bytes / 1048576).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`)

/** The results as markdown: the summary table, the files' layout, and what the queries looked for. */
export function outputsReport (r: OutputsResults): string {
  const m = r.machine
  const titles = r.profiles[0]?.queries.map(q => q.title) ?? []
  const lines = [
    `Command: \`${r.command}\` (${r.options.rounds} rounds${r.options.rounds < MIN_ROUNDS ? `: fewer than ${MIN_ROUNDS}, a smoke run, not the measure` : ''})`,
    `Machine: ${m.nproc} cores (${m.cpu}), node ${m.node}, DuckDB ${m.duckdb}; load average at start ${m.loadavg.map(v => v.toFixed(2)).join(' ')}; ` +
      `engine at ${m.commit}${m.dirty ? ' (uncommitted changes in src/ or bin/)' : ''}`,
    `Run ${r.started} .. ${r.finished}. Each query: median of ${r.options.rounds} runs per side, alternated ours/duck/same, each in a fresh DuckDB ` +
      `instance (threads ${r.options.threads ?? 'default'}); OS page cache warm for every side. Cells: ours ms / DuckDB's ms = ratio (below 1.0 ours is faster or smaller).`,
    '',
    `| profile | rows | bytes ours / DuckDB's | ratio | bytes per row ours / DuckDB's | ${titles.join(' | ')} |`,
    `|---|---|---|---|---|${titles.map(() => '---|').join('')}`,
  ]
  for (const p of r.profiles) {
    lines.push(`| ${p.profile} | ${group(p.ours.rows)} | ${size(p.ours.bytes)} / ${size(p.duck.bytes)} | **${p.bytesRatio.toFixed(2)}** | ` +
      `${(p.ours.bytes / p.ours.rows).toFixed(1)} / ${(p.duck.bytes / p.duck.rows).toFixed(1)} | ` +
      p.queries.map(q => `${ms(q.oursMedianMs)} / ${ms(q.duckMedianMs)} = **${q.ratio.toFixed(2)}**`).join(' | ') + ' |')
  }
  lines.push('', 'Against DuckDB\'s rewrite of each of our files alone (the same files, the same rows in each):', '',
    `| profile | bytes ours / DuckDB's per file | ratio | ${titles.join(' | ')} |`, `|---|---|---|${titles.map(() => '---|').join('')}`)
  for (const p of r.profiles) {
    lines.push(`| ${p.profile} | ${size(p.ours.bytes)} / ${size(p.same.bytes)} | **${p.sameBytesRatio.toFixed(2)}** | ` +
      p.queries.map(q => `${ms(q.oursMedianMs)} / ${ms(q.sameMedianMs)} = **${q.sameRatio.toFixed(2)}**`).join(' | ') + ' |')
  }
  lines.push('', '| profile | input | files ours / DuckDB\'s | row groups ours / DuckDB\'s / DuckDB\'s per file | footer bytes ours / DuckDB\'s | columns |', '|---|---|---|---|---|---|')
  for (const p of r.profiles) {
    lines.push(`| ${p.profile} | ${p.dataset}: ${group(p.inputRows)} rows in ${p.inputFiles} files, ${p.frequencyMs / 1000} s | ${p.ours.files} / ${p.duck.files} | ` +
      `${p.ours.rowGroups} / ${p.duck.rowGroups} / ${p.same.rowGroups} | ${group(p.ours.footerBytes)} / ${group(p.duck.footerBytes)} | ${p.ours.columns} |`)
  }
  lines.push('', '| profile | metric_name (rows) | chq_tid | middle third of chq_timestamp | attribute: rare value (rows) / absent value |', '|---|---|---|---|---|')
  for (const p of r.profiles) {
    const q = p.parameters
    lines.push(`| ${p.profile} | \`${q.name}\` (${q.nameRows}) | ${q.tid} | [${q.from}, ${q.to}] | \`${q.attribute}\`: \`${q.rareValue}\` (${q.rareRows}) / \`${q.absentValue}\` |`)
  }
  return lines.join('\n')
}

export async function outputsMain (argv: readonly string[]): Promise<number> {
  const options = parseOptions(argv)
  if (Number(process.versions.node.split('.')[0]) < 24) throw new Error(`node ${process.version}: run with the project's node`)
  const started = new Date()
  const results: OutputsResults = {
    started: started.toISOString(),
    finished: '',
    command: `node bench/outputs.ts ${argv.join(' ')}`.trim(),
    options: {
      profiles: options.profiles.map(p => p.name), rounds: options.rounds, threads: options.threads ?? null, attribute: options.attribute,
      data: options.dataDir ?? null, targetFileBytes: options.targetFileBytes ?? null,
    },
    machine: machine(),
    profiles: [],
  }
  if (options.rounds < MIN_ROUNDS) log(`note: ${options.rounds} rounds, fewer than ${MIN_ROUNDS}: a smoke run, not the measure`)
  for (const profile of options.profiles) {
    try {
      results.profiles.push(await measureProfile(profile, options))
    } catch (err) {
      if (!(err instanceof DatasetUnavailable)) throw err
      log(`${profile.name}: skipped: ${err.message}`)
    }
  }
  results.finished = new Date().toISOString()
  await mkdir(RESULTS_DIR, { recursive: true })
  const file = join(RESULTS_DIR, `outputs-${started.toISOString().replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')}.json`)
  await writeFile(file, JSON.stringify(results, null, 2) + '\n')
  await copyFile(file, join(RESULTS_DIR, 'outputs-latest.json'))
  process.stdout.write('\n' + outputsReport(results) + '\n')
  log(`results: ${file}`)
  return 0
}

if (import.meta.main) process.exitCode = await outputsMain(process.argv.slice(2))
