// The benchmark's results (as written to bench/results/*.json) and their markdown rendering.

/** One measured run of one tool. */
export interface RunRecord {
  tool: string
  run: number
  wallMs: number
  /** User + system CPU time of the process (all threads). */
  cpuMs: number | null
  peakRssBytes: number | null
  outputBytes: number
  /** Cores other processes kept busy during the run: the machine's noise. */
  otherCores: number | null
  /** Left out of the medians (a noisy round, repeated). */
  discarded?: boolean
}

/** Medians of one tool's runs on one profile. */
export interface ToolSummary {
  tool: string
  label: string
  runs: number
  wallMs: number
  wallMinMs: number
  wallMaxMs: number
  /** Input rows per second of wall time. */
  rowsPerSecond: number
  cpuMs: number | null
  otherCores: number | null
  peakRssBytes: number | null
  outputBytes: number
}

export interface ProfileResult {
  name: string
  description: string
  frequencyMs: number
  dataset: string
  rowsIn: number
  rowsOut: number | null
  files: number
  columns: number
  inputBytes: number
  runs: RunRecord[]
  tools: ToolSummary[]
  /** The first round's output comparison (null if it did not run). */
  check: { ok: boolean, problems: string[], summary: unknown } | null
}

export interface MemorySide {
  dataset: string
  rows: number
  files: number
  wallMs: number
  rowsPerSecond: number
  peakRssBytes: number | null
}

export interface MemoryCheck {
  runs: Array<RunRecord & { dataset: string }>
  x1: MemorySide
  x4: MemorySide
  /** Peak RSS with 4x the rows over peak RSS with 1x. */
  peakRssRatio: number | null
}

export interface BenchResults {
  started: string
  finished: string
  command: string
  options: { profiles: string[], runs: number, floorThreads: number, memoryRuns: number, settleSeconds: number, maxNoise: number | null }
  machine: {
    nproc: number
    cpu: string
    memTotalBytes: number
    free: string
    loadavg: number[]
    node: string
    duckdb: string
    commit: string
    dirty: boolean
  }
  profiles: ProfileResult[]
  memory: MemoryCheck | null
}

const s = (ms: number): string => (ms / 1000).toFixed(2)
const mib = (bytes: number | null): string => (bytes === null ? '?' : (bytes / 1048576).toFixed(0))
const thousands = (n: number | null): string => (n === null ? '?' : n.toLocaleString('en-US'))
const ratio = (a: number | null, b: number | null): string => (a !== null && b !== null && b > 0 ? (a / b).toFixed(2) : '?')

function discarded (r: BenchResults): number {
  return r.profiles.reduce((n, p) => n + p.runs.filter(x => x.discarded).length, 0) + (r.memory?.runs.filter(x => x.discarded).length ?? 0)
}

/** The results as markdown: a header, the main table, and the memory check. */
export function markdownReport (r: BenchResults): string {
  const m = r.machine
  const lines = [
    `Command: \`${r.command}\` (${r.options.runs} runs per tool, alternated; medians)`,
    `Machine: ${m.nproc} cores (${m.cpu}), ${(m.memTotalBytes / 2 ** 30).toFixed(0)} GiB RAM, node ${m.node}, DuckDB ${m.duckdb}; ` +
      `load average at start ${m.loadavg.map(v => v.toFixed(2)).join(' ')}; engine at ${m.commit}${m.dirty ? ' (uncommitted changes in src/)' : ''}`,
    `Run ${r.started} .. ${r.finished}${r.options.settleSeconds > 0 ? `; each run waited up to ${r.options.settleSeconds} s for the machine to go idle` : ''}` +
      `${r.options.maxNoise !== null ? `; rounds with others busy > ${r.options.maxNoise} cores repeated (${discarded(r)} runs discarded)` : ''}`,
    '',
    'CPU s: user + system time of the process, all threads. Others busy: cores that other processes used during the run (the noise of a shared machine).',
    '',
    '| profile | rows in -> out | tool | wall s (median; min-max) | rows in/s | CPU s | peak RSS MiB | output MiB | compactor / tool, wall | compactor / tool, RSS | others busy (cores) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ]
  for (const p of r.profiles) {
    const compactor = p.tools.find(t => t.tool === 'compactor')
    for (const [i, t] of p.tools.entries()) {
      const isCompactor = t.tool === 'compactor'
      lines.push([
        i === 0 ? `**${p.name}**` : '',
        i === 0 ? `${thousands(p.rowsIn)} -> ${thousands(p.rowsOut)}` : '',
        t.label,
        `${s(t.wallMs)} (${s(t.wallMinMs)}-${s(t.wallMaxMs)})`,
        thousands(t.rowsPerSecond),
        t.cpuMs === null ? '?' : s(t.cpuMs),
        mib(t.peakRssBytes),
        mib(t.outputBytes),
        isCompactor ? '' : ratio(compactor?.wallMs ?? null, t.wallMs),
        isCompactor ? '' : ratio(compactor?.peakRssBytes ?? null, t.peakRssBytes),
        t.otherCores === null ? '?' : t.otherCores.toFixed(2),
      ].join(' | ').replace(/^/, '| ').replace(/$/, ' |'))
    }
  }
  lines.push('')
  for (const p of r.profiles) {
    lines.push(`- ${p.name}: ${p.description}; ${p.files} files, ${p.columns} columns in the union, ${mib(p.inputBytes)} MiB in; ` +
      `output check: ${p.check === null ? 'not run' : p.check.ok ? 'same rows and keys in both outputs' : `FAILED (${p.check.problems.join('; ')})`}`)
  }
  if (r.memory) {
    const { x1, x4 } = r.memory
    lines.push('', 'Memory check (compactor, default settings, alternated):', '',
      '| data | rows | files | wall s | rows/s | peak RSS MiB |', '|---|---|---|---|---|---|')
    for (const side of [x1, x4]) lines.push(`| ${side.dataset} | ${thousands(side.rows)} | ${side.files} | ${s(side.wallMs)} | ${thousands(side.rowsPerSecond)} | ${mib(side.peakRssBytes)} |`)
    lines.push('', `Peak RSS with 4x the rows / with 1x: **${r.memory.peakRssRatio === null ? '?' : r.memory.peakRssRatio.toFixed(2)}** (target <= 1.3)`)
  }
  return lines.join('\n')
}
