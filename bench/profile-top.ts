// The top functions of a V8 CPU profile (.cpuprofile, as `node --cpu-prof` writes) by self time,
// with their inclusive time, as a markdown table. Given a directory, merges every profile in it
// (one per thread), so percentages are of the CPU time summed over threads.
//
//   node bench/profile-top.ts [--top 10] FILE.cpuprofile|DIR
import { readFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
  columnNumber: number
}

interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}

/** The parts of a .cpuprofile this script reads. */
export interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
  timeDeltas?: number[]
}

/** One function's share of the sampled time. */
export interface FunctionCost {
  name: string
  location: string
  selfMs: number
  totalMs: number
}

const ROOT_URL = new URL('..', import.meta.url).href

function location (frame: CallFrame): string {
  if (!frame.url) return ''
  const modules = frame.url.lastIndexOf('/node_modules/')
  const url = modules >= 0 ? frame.url.slice(modules + 1) : frame.url.startsWith(ROOT_URL) ? frame.url.slice(ROOT_URL.length) : frame.url
  return `${url}:${frame.lineNumber + 1}`
}

/** Self and inclusive time per function (name + location) over the given profiles, and the total sampled time. */
export function functionCosts (profiles: readonly CpuProfile[]): { costs: FunctionCost[], totalMs: number } {
  const costs = new Map<string, FunctionCost>()
  let totalMs = 0
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map(n => [n.id, n]))
    const parent = new Map<number, number>()
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
    const keyOf = new Map<number, string>()
    for (const n of profile.nodes) {
      const name = n.callFrame.functionName || '(anonymous)'
      const loc = location(n.callFrame)
      const key = `${name}\0${loc}`
      keyOf.set(n.id, key)
      if (!costs.has(key)) costs.set(key, { name, location: loc, selfMs: 0, totalMs: 0 })
    }
    const samples = profile.samples ?? []
    const deltas = profile.timeDeltas ?? []
    let time = profile.startTime
    const times = samples.map((_, i) => (time += deltas[i] ?? 0))
    for (let i = 0; i < samples.length; i++) {
      // a sample lasts until the next one (the profile's end for the last)
      const ms = ((i + 1 < samples.length ? times[i + 1] : profile.endTime) - times[i]) / 1000
      if (!(ms > 0)) continue
      totalMs += ms
      const leaf = samples[i]
      costs.get(keyOf.get(leaf)!)!.selfMs += ms
      const seen = new Set<string>()
      for (let id: number | undefined = leaf; id !== undefined && byId.has(id); id = parent.get(id)) {
        const key = keyOf.get(id)!
        if (seen.has(key)) continue // recursion counts once
        seen.add(key)
        costs.get(key)!.totalMs += ms
      }
    }
  }
  return { costs: [...costs.values()], totalMs }
}

/** Reads a .cpuprofile file, or every .cpuprofile in a directory. */
export async function loadProfiles (path: string): Promise<{ profiles: CpuProfile[], files: string[] }> {
  const files = (await stat(path)).isDirectory()
    ? (await readdir(path)).filter(f => f.endsWith('.cpuprofile')).sort().map(f => join(path, f))
    : [path]
  if (files.length === 0) throw new Error(`no .cpuprofile in ${path}`)
  const profiles = await Promise.all(files.map(async f => JSON.parse(await readFile(f, 'utf8')) as CpuProfile))
  return { profiles, files }
}

/** The top n functions by self time as a markdown table, with the sampled total. */
export function topTable (profiles: readonly CpuProfile[], n: number): string {
  const { costs, totalMs } = functionCosts(profiles)
  const top = costs.sort((a, b) => b.selfMs - a.selfMs).slice(0, n)
  const pct = (ms: number): string => (100 * ms / totalMs).toFixed(1)
  const lines = [
    `${(totalMs / 1000).toFixed(2)} s of samples${profiles.length > 1 ? ` over ${profiles.length} threads` : ''}; top ${n} functions by self time:`,
    '',
    '| # | self ms | self % | total % | function | location |',
    '|---|---|---|---|---|---|',
    ...top.map((c, i) => `| ${i + 1} | ${c.selfMs.toFixed(0)} | ${pct(c.selfMs)} | ${pct(c.totalMs)} | \`${c.name}\` | ${c.location ? `\`${c.location}\`` : ''} |`),
  ]
  return lines.join('\n')
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '10' } } })
  if (positionals.length !== 1) throw new Error('usage: profile-top.ts [--top N] FILE.cpuprofile|DIR')
  const { profiles, files } = await loadProfiles(positionals[0])
  process.stdout.write(`${files.join(', ')}\n\n${topTable(profiles, Number(values.top))}\n`)
}
