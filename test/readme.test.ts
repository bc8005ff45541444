// The README's promises: its two commands, and the curl examples of "HTTP service" run as written
// (with curl, against a service on a free port instead of 8080) over the real fixtures.
import t from 'tap'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { buildApp } from '../src/app.ts'
import { ENVIRONMENT, loadConfig } from '../src/config.ts'
import { FIXTURES_DIR, needsFixtures } from './helpers.ts'
import { ContractChecker, multipart, readTar, twoSegments } from './support/http.ts'

const README = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8')
const section = (title: string): string => {
  const start = README.indexOf(`## ${title}\n`)
  const end = README.indexOf('\n## ', start + 1)
  return README.slice(start, end === -1 ? undefined : end)
}
const shellBlocks = (text: string): string[] => [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map(m => m[1])

t.test('the top of the README gives the two commands: npm ci && npm start, and npm test', async t => {
  const blocks = shellBlocks(section('Two commands')).map(b => b.trim())
  t.equal(blocks[0], 'npm ci && npm start')
  t.equal(blocks[1], 'npm test')
})

t.test('the README documents every environment variable the config reads', async t => {
  const http = section('HTTP service')
  for (const name of Object.keys(ENVIRONMENT)) t.match(http, `\`${name}\``, name)
})

/** Runs a script with bash -euo pipefail in cwd, without blocking the event loop. */
function bash (script: string, cwd: string): Promise<{ status: number | null, stdout: string, stderr: string }> {
  return new Promise(resolve => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { cwd })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => { stdout += d })
    child.stderr.on('data', d => { stderr += d })
    child.on('close', status => resolve({ status, stdout, stderr }))
  })
}

const haveCurl = spawnSync('curl', ['--version']).status === 0
t.test('the curl examples of "HTTP service" work as written against the fixtures', { ...needsFixtures, ...(haveCurl || process.env.CI ? {} : { skip: 'curl is not installed: the curl examples are not run; under CI they are' }) }, async t => {
  // a checkout's layout: <dir>/main (the working directory) beside <dir>/shared (the fixtures)
  const dir = t.testdir({ main: {}, tmp: {} })
  const cwd = join(dir, 'main')
  symlinkSync(join(FIXTURES_DIR, '..'), join(dir, 'shared'))
  writeFileSync(join(cwd, 'README.md'), README)
  mkdirSync(join(cwd, 'data'))
  // this process blocks its loop while it checks outputs: no event-loop guard here (test/routes/health.test.ts has it)
  const app = await buildApp(loadConfig({}, { storageRoot: join(cwd, 'data'), tempDir: join(dir, 'tmp'), maxEventLoopDelayMs: 600_000 }), { logger: false })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as AddressInfo).port

  const examples = shellBlocks(section('HTTP service')).filter(b => b.includes('curl'))
  t.ok(examples.length >= 5)
  const contract = new ContractChecker()
  for (const example of examples) {
    const script = example.replaceAll('localhost:8080', `127.0.0.1:${port}`)
    const bodies = [...script.matchAll(/-d '(\{[\s\S]*?\})'/g)].map(m => JSON.parse(m[1]))
    for (const body of bodies) contract.validate(t, contract.schema('BundleManifest'), body, 'the example manifest')
    // asynchronously: the service answering curl runs in this process
    const run = await bash(script, cwd)
    t.equal(run.status, 0, `runs: ${example.split('\n')[0]}\n${run.stderr}`)
    const shown = example.match(/^# (\{.*\})$/m)?.[1]
    if (shown) t.equal(run.stdout.trim(), shown, 'prints what the README shows')
  }
  for (const tar of ['out.tar', 'rollup.tar', 'bundle.tar']) {
    const entries = await readTar(readFileSync(join(cwd, tar)))
    t.equal(entries.at(-1)?.name, 'manifest.json', `${tar} is complete`)
  }
  t.equal(readFileSync(join(cwd, 'out.parquet')).subarray(0, 4).toString(), 'PAR1')
  const stored = execFileSync('find', [join(cwd, 'data', 'lake'), '-name', '*.parquet'], { encoding: 'utf8' }).trim().split('\n')
  t.equal(stored.length, 1, 'the stored output is under the prefix')
  t.match(stored[0], /data\/lake\/db\/[0-9a-f-]{36}\/demo\/20250827\/metrics\/\d\d\/tbl_\d+\.parquet$/)
})

const haveGo = spawnSync('go', ['version']).status === 0
const profilingSkip = process.env.CI ? undefined : !haveCurl ? 'curl is not installed: the profiling commands are not run; under CI they are' : !haveGo ? '`go` is not installed (apt-get install golang-go): the profiling commands are not run; under CI they are' : undefined
t.test('the commands of "Profiling a slow compaction" work as written (captures of 1 s instead of 30)', profilingSkip ? { skip: profilingSkip } : {}, async t => {
  t.ok(haveGo, 'go is installed (CI installs golang-go)')
  const dir = t.testdir({ main: {}, tmp: {}, data: {} })
  const cwd = join(dir, 'main')
  // the token examples go to a service with DEBUG_TOKEN, the others to one without (loopback only)
  // each service compacts all along, so that its profiles have something to show
  const upload = await multipart(await Promise.all((await twoSegments(join(dir, 'data'))).map(async p => ({ name: basename(p), data: readFileSync(p) }))))
  let done = false
  const busy: Array<Promise<void>> = []
  const start = async (debugToken: string | undefined): Promise<number> => {
    const app = await buildApp(loadConfig({}, { storageRoot: join(dir, 'data'), tempDir: join(dir, 'tmp'), debugToken }), { logger: false })
    t.teardown(() => app.close())
    await app.listen({ host: '127.0.0.1', port: 0 })
    busy.push((async () => { while (!done) await app.inject({ method: 'POST', url: '/compact', ...upload }) })())
    return (app.server.address() as AddressInfo).port
  }
  const open = await start(undefined)
  const secured = await start('sesame')
  const blocks = shellBlocks(section('Profiling a slow compaction'))
  t.ok(blocks.length >= 4)
  t.notOk(blocks.some(b => b.includes('-http=')), 'the interactive command is not in a sh block')
  for (const block of blocks) {
    const withToken = block.includes('DEBUG_TOKEN')
    const script = (withToken ? 'export DEBUG_TOKEN=sesame\n' : '') + block
      .replaceAll('localhost:8080', `127.0.0.1:${withToken ? secured : open}`)
      .replaceAll('seconds=30', 'seconds=1')
    const run = await bash(script, cwd)
    t.equal(run.status, 0, `runs: ${block.split('\n')[0]}\n${run.stderr}`)
    if (block.includes('go tool pprof -top')) t.match(run.stdout, /flat%\s+sum%\s+cum\s+cum%/, `pprof lists functions: ${block.split('\n')[0]}`)
    if (block.includes('-tags')) t.match(run.stdout, /thread: Total .*\n(\s+.*: (main|worker-\d+)\n)+/, 'time by thread')
    for (const file of ['cpu.pb.gz', 'heap.pb.gz']) {
      if (block.includes(`-o ${file}`)) t.same([...readFileSync(join(cwd, file)).subarray(0, 2)], [0x1f, 0x8b], `${file} is a gzipped profile`)
    }
  }
  done = true
  await Promise.all(busy)
})
