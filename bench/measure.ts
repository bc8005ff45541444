// Runs one command as its own process and measures it: wall time from spawn to exit, the process's
// own peak RSS and CPU time from the OS (getrusage, written at exit by the rss.js preload), and the
// CPU that other processes used meanwhile (machine-wide busy time from /proc/stat minus its own).
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { BENCH_DIR } from './profiles.ts'

/** One measured process run. */
export interface Measurement {
  wallMs: number
  /** Peak resident set size in bytes (null if the process died before reporting it). */
  peakRssBytes: number | null
  /** User + system CPU time of the process, all threads. */
  cpuMs: number | null
  /** Average number of cores other processes kept busy during the run (null where /proc/stat is missing). */
  otherCores: number | null
  exitCode: number | null
  stdout: string
  stderr: string
}

const RSS_PRELOAD = pathToFileURL(join(BENCH_DIR, 'rss.js')).href

/** Spawns argv[0] with the rest as arguments; resolves when it exits, with its time and peak RSS. */
export async function measure (argv: readonly string[], cwd: string): Promise<Measurement> {
  const scratch = await mkdtemp(join(tmpdir(), 'bench-rss-'))
  const rssFile = join(scratch, 'rss')
  const env = {
    ...process.env,
    NODE_OPTIONS: [process.env.NODE_OPTIONS, `--import=${RSS_PRELOAD}`].filter(Boolean).join(' '),
    BENCH_RSS_FILE: rssFile,
  }
  try {
    const busyBefore = await machineBusyMs()
    const started = performance.now()
    const { code, stdout, stderr } = await new Promise<{ code: number | null, stdout: string, stderr: string }>((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
      const out: Buffer[] = []
      const err: Buffer[] = []
      child.stdout.on('data', (b: Buffer) => out.push(b))
      child.stderr.on('data', (b: Buffer) => err.push(b))
      child.once('error', reject)
      child.once('close', c => resolve({ code: c, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }))
    })
    const wallMs = performance.now() - started
    const busyAfter = await machineBusyMs()
    const report = await readFile(rssFile, 'utf8').then(t => JSON.parse(t) as { maxRssBytes: number, cpuMs: number }, () => null)
    const cpuMs = report?.cpuMs ?? null
    const otherCores = busyBefore !== null && busyAfter !== null && cpuMs !== null ? Math.max(0, (busyAfter - busyBefore - cpuMs) / wallMs) : null
    return { wallMs, peakRssBytes: report?.maxRssBytes ?? null, cpuMs, otherCores, exitCode: code, stdout, stderr }
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

/** CPU time all processes have spent busy since boot (all cores; /proc/stat, USER_HZ = 100), or null. */
export async function machineBusyMs (): Promise<number | null> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice
    const f = line.trim().split(/\s+/).slice(1).map(Number)
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) * 10
  } catch {
    return null
  }
}

/**
 * Waits until other processes leave the machine nearly idle (below `cores` busy over a 1 s sample),
 * for at most maxMs; returns the busy cores of the last sample.
 */
export async function settle (maxMs: number, cores = 0.25): Promise<number | null> {
  const deadline = performance.now() + maxMs
  for (;;) {
    const a = await machineBusyMs()
    await new Promise(resolve => setTimeout(resolve, 1000))
    const b = await machineBusyMs()
    if (a === null || b === null) return null
    const busy = (b - a) / 1000
    if (busy < cores || performance.now() >= deadline) return busy
  }
}

/** Bytes of the parquet output at path: the file itself, or the sum of the *.parquet files in a directory. */
export async function outputBytes (path: string): Promise<number> {
  const info = await stat(path)
  if (info.isFile()) return info.size
  let total = 0
  for (const name of await readdir(path)) if (name.endsWith('.parquet')) total += (await stat(join(path, name))).size
  return total
}

/** The median of a non-empty list. */
export function median (values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
