// The benchmark: for each profile, the compactor CLI, DuckDB (bench/duckdb-peer.ts) and the floor
// (bench/floor.ts), each as its own process, alternated A B C A B C ... and summarised by medians;
// outputs of the first round are checked against each other; then the memory check (default vs
// 4x the rows). Prints a markdown table and writes bench/results/bench-<time>.json.
//
//   npm run bench -- [--profiles default,rollup,wide,many] [--runs 3] [--floor-threads N]
//                    [--memory-runs 2] [--no-memory] [--settle SECONDS] [--max-noise CORES] [--keep]
//   npm run bench -- --outputs [...]   the outputs measure instead (bench/outputs.ts)
//
// --settle S: before each run, wait up to S seconds for other processes to leave the machine idle.
// --max-noise C: repeat a round (A B C) in which other processes kept more than C cores busy.
import { spawn } from 'node:child_process'
import { mkdir, readFile, rm, writeFile, copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { DatasetUnavailable, ensureDataset, type Dataset } from './cache.ts'
import { profileInputs } from './inputs.ts'
import { machine } from './machine.ts'
import { measure, median, outputBytes, settle } from './measure.ts'
import { BENCH_DIR, DATA_ROOT, PROFILES, RESULTS_DIR, type BenchProfile } from './profiles.ts'
import { markdownReport, type ProfileResult, type RunRecord, type ToolSummary, type MemoryCheck, type BenchResults } from './report.ts'

const ROOT = join(BENCH_DIR, '..')

/** A measured program: how to run it on a profile's inputs, and where its output goes. */
interface Tool {
  readonly name: string
  readonly label: string
  /** The output is one file (DuckDB) or a directory of files. */
  readonly outputIsFile: boolean
  argv (files: readonly string[], out: string, frequencyMs: number): string[]
}

function tools (floorThreads: number): Tool[] {
  const node = process.execPath
  return [
    {
      name: 'compactor', label: 'compactor (CLI)', outputIsFile: false,
      argv: (files, out, f) => [node, join(ROOT, 'bin/metric-compactor.js'), 'compact', '-q', '--frequency-ms', String(f), '-o', out, ...files],
    },
    {
      name: 'duckdb', label: 'DuckDB SQL (no sketch merge)', outputIsFile: true,
      argv: (files, out, f) => [node, join(BENCH_DIR, 'duckdb-peer.ts'), '--frequency-ms', String(f), '-o', out, ...files],
    },
    {
      name: 'floor', label: `floor: read + write, no merge${floorThreads > 1 ? ` (${floorThreads} reader threads)` : ''}`, outputIsFile: false,
      argv: (files, out) => [node, join(BENCH_DIR, 'floor.ts'), '--threads', String(floorThreads), '-o', out, ...files],
    },
  ]
}

interface Options {
  profiles: BenchProfile[]
  runs: number
  floorThreads: number
  memory: boolean
  memoryRuns: number
  settleMs: number
  maxNoise: number
  keep: boolean
}

function parseOptions (argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      profiles: { type: 'string', default: 'default,rollup,wide,many' },
      runs: { type: 'string', default: '3' },
      'floor-threads': { type: 'string', default: '1' },
      'memory-runs': { type: 'string', default: '2' },
      'no-memory': { type: 'boolean', default: false },
      settle: { type: 'string', default: '0' },
      'max-noise': { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  })
  const profiles = values.profiles.split(',').map(s => s.trim()).filter(Boolean).map(name => {
    const profile = PROFILES[name]
    if (!profile) throw new Error(`unknown profile '${name}' (known: ${Object.keys(PROFILES).join(', ')})`)
    return profile
  })
  const runs = Number(values.runs)
  if (!(Number.isInteger(runs) && runs >= 1)) throw new Error(`--runs must be a positive integer, got ${values.runs}`)
  return {
    profiles, runs,
    floorThreads: Math.max(1, Number(values['floor-threads'])),
    memory: !values['no-memory'],
    memoryRuns: Math.max(1, Number(values['memory-runs'])),
    settleMs: Math.max(0, Number(values.settle) * 1000),
    maxNoise: values['max-noise'] === undefined ? Infinity : Number(values['max-noise']),
    keep: values.keep,
  }
}

const log = (line: string): void => { process.stderr.write(line + '\n') }
const fmt = (ms: number): string => (ms / 1000).toFixed(2) + ' s'
const mib = (bytes: number | null): string => (bytes === null ? '?' : (bytes / 1048576).toFixed(0) + ' MiB')

/** Reads every input once so that the first measured run does not pay for a cold page cache. */
async function warmUp (files: readonly string[]): Promise<void> {
  for (const f of files) await readFile(f)
}

/** Runs a tool once on a data set; throws with its stderr when it fails. */
async function runTool (tool: Tool, data: Dataset, frequencyMs: number, out: string, run: number, profile: string, settleMs: number): Promise<RunRecord> {
  await rm(out, { recursive: true, force: true })
  if (settleMs > 0) await settle(settleMs)
  const m = await measure(tool.argv(data.files, out, frequencyMs), ROOT)
  if (m.exitCode !== 0) throw new Error(`${tool.name} on ${profile} (run ${run}) exited with ${m.exitCode}:\n${m.stderr || m.stdout}`)
  const bytes = await outputBytes(out)
  const cpu = m.cpuMs === null ? '?' : fmt(m.cpuMs)
  const others = m.otherCores === null ? '?' : m.otherCores.toFixed(2)
  log(`  ${profile} run ${run}: ${tool.name.padEnd(9)} ${fmt(m.wallMs).padStart(8)}  cpu ${cpu.padStart(8)}  peak RSS ${mib(m.peakRssBytes).padStart(8)}  ` +
    `output ${mib(bytes).padStart(7)}  others busy ${others} cores`)
  return {
    tool: tool.name, run, wallMs: Math.round(m.wallMs), cpuMs: m.cpuMs === null ? null : Math.round(m.cpuMs),
    peakRssBytes: m.peakRssBytes, outputBytes: bytes, otherCores: m.otherCores === null ? null : Math.round(m.otherCores * 100) / 100,
  }
}

/** Runs bench/check.ts on the first round's outputs; returns its problems (empty when the outputs agree). */
async function checkRound (dir: (tool: string) => string, rowsIn: number): Promise<{ problems: string[], summary: unknown }> {
  const argv = [join(BENCH_DIR, 'check.ts'), '--compactor', dir('compactor'), '--duckdb', dir('duckdb'), '--floor', dir('floor'), '--rows-in', String(rowsIn)]
  const { stdout, stderr, code } = await new Promise<{ stdout: string, stderr: string, code: number | null }>((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (b: Buffer) => { out += b })
    child.stderr.on('data', (b: Buffer) => { err += b })
    child.once('error', reject)
    child.once('close', c => resolve({ stdout: out, stderr: err, code: c }))
  })
  if (!stdout.trim()) return { problems: [`check.ts failed (exit ${code}): ${stderr.trim()}`], summary: null }
  const result = JSON.parse(stdout) as { problems: string[] }
  return { problems: result.problems, summary: result }
}

/**
 * With --max-noise, a round in which other processes kept more than that many cores busy during
 * any run is marked discarded (kept in the JSON, left out of the medians) and repeated, at most
 * --runs extra times per profile. Returns whether the round counts.
 */
function keepRound (round: RunRecord[], discardedSoFar: number, options: Options): boolean {
  const noisy = round.some(r => r.otherCores !== null && r.otherCores > options.maxNoise)
  if (!noisy || discardedSoFar >= options.runs) return true
  for (const r of round) r.discarded = true
  log(`  (round ${round[0].run} discarded: other processes kept more than ${options.maxNoise} cores busy; repeating it)`)
  return false
}

function summarize (tool: Tool, records: readonly RunRecord[], rowsIn: number): ToolSummary {
  const mine = records.filter(r => r.tool === tool.name && !r.discarded)
  const wall = median(mine.map(r => r.wallMs))
  const rss = mine.map(r => r.peakRssBytes).filter((v): v is number => v !== null)
  const cpu = mine.map(r => r.cpuMs).filter((v): v is number => v !== null)
  const others = mine.map(r => r.otherCores).filter((v): v is number => v !== null)
  return {
    tool: tool.name,
    label: tool.label,
    runs: mine.length,
    wallMs: wall,
    wallMinMs: Math.min(...mine.map(r => r.wallMs)),
    wallMaxMs: Math.max(...mine.map(r => r.wallMs)),
    rowsPerSecond: Math.round(rowsIn / (wall / 1000)),
    cpuMs: cpu.length > 0 ? median(cpu) : null,
    otherCores: others.length > 0 ? median(others) : null,
    peakRssBytes: rss.length > 0 ? median(rss) : null,
    outputBytes: median(mine.map(r => r.outputBytes)),
  }
}

async function benchProfile (profile: BenchProfile, options: Options, runDir: string): Promise<ProfileResult> {
  const data = await profileInputs(profile, log)
  await warmUp(data.files)
  const list = tools(options.floorThreads)
  const records: RunRecord[] = []
  const outDir = (name: string, run: number): string =>
    join(runDir, `${profile.name}-${name}-${run}${list.find(t => t.name === name)?.outputIsFile ? '.parquet' : ''}`)
  let check: ProfileResult['check'] = null
  log(`${profile.name}: ${data.info.rows} rows in ${data.files.length} files, ${profile.frequencyMs / 1000} s buckets, ${options.runs} runs`)
  for (let run = 1, kept = 0; kept < options.runs; run++) {
    const round: RunRecord[] = []
    for (const tool of list) round.push(await runTool(tool, data, profile.frequencyMs, outDir(tool.name, run), run, profile.name, options.settleMs))
    if (keepRound(round, run - 1 - kept, options)) kept++
    records.push(...round)
    if (run === 1) {
      const { problems, summary } = await checkRound(t => outDir(t, 1), data.info.rows)
      check = { ok: problems.length === 0, problems, summary }
      if (problems.length > 0) log(`\n!!! ${profile.name}: THE OUTPUTS DIFFER !!!\n  ${problems.join('\n  ')}\n`)
      else log(`  ${profile.name}: outputs agree (rows, keys, key hash, total count; compactor output sorted)`)
    }
    if (!options.keep) for (const tool of list) await rm(outDir(tool.name, run), { recursive: true, force: true })
  }
  const summaries = list.map(tool => summarize(tool, records, data.info.rows))
  const rowsOut = (check?.summary as { compactor?: { rows?: number } } | null)?.compactor?.rows ?? null
  return {
    name: profile.name, description: profile.description, frequencyMs: profile.frequencyMs, dataset: data.name,
    rowsIn: data.info.rows, rowsOut, files: data.files.length, columns: data.info.unionColumns, inputBytes: data.info.bytes,
    runs: records, tools: summaries, check,
  }
}

/** Peak RSS of the compactor on default vs default with 4x the rows and the same number of files, alternated. */
async function memoryCheck (options: Options, runDir: string): Promise<MemoryCheck> {
  const base = await ensureDataset('default', log)
  const big = await ensureDataset('default-x4', log)
  const compactor = tools(1)[0]
  const records: Array<RunRecord & { dataset: string }> = []
  log(`memory: compactor on default (${base.info.rows} rows) vs default-x4 (${big.info.rows} rows), ${options.memoryRuns} runs each`)
  for (let run = 1, kept = 0; kept < options.memoryRuns; run++) {
    const round: Array<RunRecord & { dataset: string }> = []
    for (const data of [base, big]) {
      await warmUp(data.files)
      const out = join(runDir, `memory-${data.name}-${run}`)
      round.push({ ...await runTool(compactor, data, 10_000, out, run, data.name, options.settleMs), dataset: data.name })
      await rm(out, { recursive: true, force: true })
    }
    if (keepRound(round, run - 1 - kept, options)) kept++
    records.push(...round)
  }
  const of = (name: string, data: Dataset) => {
    const mine = records.filter(r => r.dataset === name && !r.discarded)
    const rss = mine.map(r => r.peakRssBytes).filter((v): v is number => v !== null)
    const wallMs = median(mine.map(r => r.wallMs))
    return { dataset: name, rows: data.info.rows, files: data.files.length, wallMs, rowsPerSecond: Math.round(data.info.rows / (wallMs / 1000)), peakRssBytes: rss.length ? median(rss) : null }
  }
  const x1 = of('default', base)
  const x4 = of('default-x4', big)
  const ratio = x1.peakRssBytes && x4.peakRssBytes ? x4.peakRssBytes / x1.peakRssBytes : null
  return { runs: records, x1, x4, peakRssRatio: ratio }
}

async function main (): Promise<number> {
  const options = parseOptions(process.argv.slice(2))
  if (Number(process.versions.node.split('.')[0]) < 24) throw new Error(`node ${process.version}: run with the project's node (npm run bench)`)
  const started = new Date()
  const runDir = join(DATA_ROOT, 'runs')
  await mkdir(runDir, { recursive: true })
  const results: BenchResults = {
    started: started.toISOString(),
    finished: '',
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim().replace(/ --$/, ''),
    options: {
      profiles: options.profiles.map(p => p.name), runs: options.runs, floorThreads: options.floorThreads,
      memoryRuns: options.memory ? options.memoryRuns : 0, settleSeconds: options.settleMs / 1000,
      maxNoise: Number.isFinite(options.maxNoise) ? options.maxNoise : null,
    },
    machine: machine(),
    profiles: [],
    memory: null,
  }
  for (const profile of options.profiles) {
    try {
      results.profiles.push(await benchProfile(profile, options, runDir))
    } catch (err) {
      if (!(err instanceof DatasetUnavailable)) throw err
      log(`${profile.name}: skipped: ${err.message}`)
    }
  }
  if (options.memory) results.memory = await memoryCheck(options, runDir)
  results.finished = new Date().toISOString()

  await mkdir(RESULTS_DIR, { recursive: true })
  const file = join(RESULTS_DIR, `bench-${started.toISOString().replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')}.json`)
  await writeFile(file, JSON.stringify(results, null, 2) + '\n')
  await copyFile(file, join(RESULTS_DIR, 'latest.json'))
  process.stdout.write('\n' + markdownReport(results) + '\n')
  log(`results: ${file}`)
  const failed = results.profiles.filter(p => p.check && !p.check.ok)
  if (failed.length > 0) {
    log(`\n!!! OUTPUT CHECK FAILED for ${failed.map(p => p.name).join(', ')}: see above !!!`)
    return 1
  }
  return 0
}

// `npm run bench -- --outputs [options of bench/outputs.ts]` runs the outputs measure instead
if (process.argv.includes('--outputs')) {
  const { outputsMain } = await import('./outputs.ts')
  process.exitCode = await outputsMain(process.argv.slice(2).filter(a => a !== '--outputs'))
} else {
  process.exitCode = await main()
}
