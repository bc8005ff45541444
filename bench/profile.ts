// A CPU profile of the compactor CLI on a profile's data (`node --cpu-prof`), then its top
// functions by self time (bench/profile-top.ts). Profiles land in bench/results/cpu-<profile>-<time>/.
//
//   npm run bench:profile -- [--profile default] [--top 10] [--interval-us 1000]
import { spawn } from 'node:child_process'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ensureDataset } from './cache.ts'
import { loadProfiles, topTable } from './profile-top.ts'
import { BENCH_DIR, DATA_ROOT, PROFILES, RESULTS_DIR } from './profiles.ts'

const { values } = parseArgs({
  options: {
    profile: { type: 'string', default: 'default' },
    top: { type: 'string', default: '10' },
    'interval-us': { type: 'string', default: '1000' },
  },
})
const profile = PROFILES[values.profile]
if (!profile) throw new Error(`unknown profile '${values.profile}' (known: ${Object.keys(PROFILES).join(', ')})`)
const data = await ensureDataset(profile.data, line => process.stderr.write(line + '\n'))
const stamp = new Date().toISOString().replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')
const profileDir = join(RESULTS_DIR, `cpu-${profile.name}-${stamp}`)
const out = join(DATA_ROOT, 'runs', `cpu-${profile.name}`)
await mkdir(profileDir, { recursive: true })
await rm(out, { recursive: true, force: true })
const argv = [
  '--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-interval=${values['interval-us']}`,
  join(BENCH_DIR, '..', 'bin/metric-compactor.js'), 'compact', '-q', '--frequency-ms', String(profile.frequencyMs), '-o', out, ...data.files,
]
const started = performance.now()
const code = await new Promise<number | null>((resolve, reject) => {
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'inherit', 'inherit'] })
  child.once('error', reject)
  child.once('close', resolve)
})
if (code !== 0) throw new Error(`the compactor exited with ${code}`)
const wall = (performance.now() - started) / 1000
await rm(out, { recursive: true, force: true })
const { profiles } = await loadProfiles(profileDir)
process.stdout.write(`compactor on '${profile.name}' (${data.info.rows} rows, ${data.files.length} files) under --cpu-prof: ${wall.toFixed(2)} s wall\n` +
  `profiles: ${profileDir}\n\n${topTable(profiles, Number(values.top))}\n`)
