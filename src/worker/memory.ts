// Memory of processes as the kernel counts it: PSS (proportional set size) from
// /proc/PID/smaps_rollup, where pages shared between the service and its children (the node binary,
// libraries) are divided among them, so the tree's total is not counted twice. Linux only: elsewhere
// the readers give null and the watchdog and tree figures fall back to what Node reports.
import { closeSync, openSync, readFileSync, readdirSync, readSync, writeFileSync } from 'node:fs'

const buffer = Buffer.alloc(4096)

/** PSS of a process in bytes, or null when it cannot be read (gone, or not Linux). */
export function pssBytes (pid: number | 'self'): number | null {
  return kilobytes(`/proc/${pid}/smaps_rollup`, /\nPss:\s+(\d+) kB/)
}

/**
 * RSS of a process in bytes from /proc/PID/status (kernel counters: cheap, unlike PSS, which walks
 * the process's page tables under its memory-map lock), or null when it cannot be read. RSS is never
 * less than PSS, so an RSS under a limit is a PSS under it.
 */
export function rssBytes (pid: number): number | null {
  return kilobytes(`/proc/${pid}/status`, /\nVmRSS:\s+(\d+) kB/)
}

/** A "<n> kB" figure of a small /proc file, in bytes; null when the file or the figure is missing. */
function kilobytes (path: string, figure: RegExp): number | null {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return null
  }
  try {
    const n = readSync(fd, buffer, 0, buffer.length, 0)
    const match = figure.exec(buffer.toString('latin1', 0, n))
    return match ? Number(match[1]) * 1024 : null
  } catch {
    return null
  } finally {
    closeSync(fd)
  }
}

/** The pids of a process's children (those of every thread), empty when they cannot be read. */
export function childrenOf (pid: number): number[] {
  const pids: number[] = []
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      pids.push(...readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number))
    }
  } catch {}
  return pids
}

/** The memory of a process and its children (the service and its compaction children): PSS summed. */
export function treePssBytes (pid: number): number {
  return [pid, ...childrenOf(pid)].reduce((sum, p) => sum + (pssBytes(p) ?? 0), 0)
}

/** Makes the kernel's OOM killer pick this process first (raising one's own score needs no privilege). */
export function preferForOomKiller (): void {
  try {
    writeFileSync('/proc/self/oom_score_adj', '1000')
  } catch {}
}
