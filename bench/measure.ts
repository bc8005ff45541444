// Runs one command as its own process and measures it: wall time from spawn to exit, and the
// process's own peak RSS from the OS (getrusage maxrss, written at exit by the rss.ts preload).
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
  exitCode: number | null
  stdout: string
  stderr: string
}

const RSS_PRELOAD = pathToFileURL(join(BENCH_DIR, 'rss.ts')).href

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
    const rss = await readFile(rssFile, 'utf8').catch(() => null)
    return { wallMs, peakRssBytes: rss === null ? null : Number(rss), exitCode: code, stdout, stderr }
  } finally {
    await rm(scratch, { recursive: true, force: true })
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
