// The machine a benchmark ran on, as its results record it: cores, memory, load, node, DuckDB, and
// the engine's commit (with whether src/ or bin/ had uncommitted changes).
import { spawnSync } from 'node:child_process'
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os'
import { join } from 'node:path'
import { BENCH_DIR } from './profiles.ts'
import type { BenchResults } from './report.ts'

const ROOT = join(BENCH_DIR, '..')

export function machine (): BenchResults['machine'] {
  const sh = (cmd: string, args: string[], cwd = ROOT): string => {
    const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' })
    return r.status === 0 ? r.stdout.trim() : ''
  }
  const duckdbVersion = (() => {
    try {
      return (JSON.parse(spawnSync(process.execPath, ['-p', 'JSON.stringify(require("@duckdb/node-api/package.json"))'], { cwd: ROOT, encoding: 'utf8' }).stdout) as { version: string }).version
    } catch {
      return 'unknown'
    }
  })()
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memTotalBytes: totalmem(),
    free: sh('free', ['-g']),
    loadavg: loadavg(),
    node: process.version,
    duckdb: duckdbVersion,
    commit: process.env.BENCH_ENGINE_COMMIT || sh('git', ['rev-parse', '--short', 'HEAD']) || 'unknown',
    dirty: sh('git', ['status', '--porcelain', '--', 'src', 'bin']) !== '',
  }
}
