// The CLI as a user runs it: its own process, real files, exit codes and messages.
import t from 'tap'
import { execFile } from 'node:child_process'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { noisyRows, writeSegment } from './support/segments.ts'

const run = promisify(execFile)
const BIN = join(import.meta.dirname, '..', 'bin', 'metric-compactor.js')

async function cli (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args])
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

async function twoSegments (dir: string): Promise<string[]> {
  const a = join(dir, 'a.parquet')
  const b = join(dir, 'b.parquet')
  await writeSegment(a, [
    { name: 'cpu', tid: 1n, ts: 1_700_000_000_000, values: [1, 2] },
    { name: 'cpu', tid: 2n, ts: 1_700_000_000_000, values: [3] },
  ])
  await writeSegment(b, [
    { name: 'cpu', tid: 1n, ts: 1_700_000_005_000, values: [4] },
    { name: 'mem', tid: 1n, ts: 1_700_000_000_000, values: [5] },
  ])
  return [a, b]
}

t.test('compact writes tbl_<segment_id>.parquet files, manifest.json and a summary line', async t => {
  const dir = t.testdir()
  const inputs = await twoSegments(dir)
  const out = join(dir, 'out')
  const { code, stdout, stderr } = await cli(['compact', '-o', out, ...inputs])
  t.equal(code, 0, stderr)
  t.match(stdout, /^compacted 2 file\(s\), 4 rows -> 3 rows in 1 file\(s\) \(1 sketch merges, none dropped\)/)
  const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'))
  t.equal(manifest.report.rows_in, 4)
  t.equal(manifest.report.rows_out, 3)
  t.equal(manifest.files.length, 1)
  t.type(manifest.files[0].segment_id, 'string', '64-bit ids are strings in JSON')
  t.match(manifest.files[0].segment_id, /^\d+$/)
  t.same(manifest.files[0].metric_names, ['cpu', 'mem'])
  t.same((await readdir(out)).sort(), ['manifest.json', `tbl_${manifest.files[0].segment_id}.parquet`])
})

t.test('--frequency-ms and --records-per-file are honoured', async t => {
  const dir = t.testdir()
  const inputs = await twoSegments(dir)
  const out = join(dir, 'out')
  const { code, stderr } = await cli(['compact', '--frequency-ms', '60000', '--records-per-file', '1', '-o', out, ...inputs])
  t.equal(code, 0, stderr)
  const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'))
  t.equal(manifest.report.frequency_ms, 60000)
  t.same(manifest.files.map((f: { record_count: number }) => f.record_count), [1, 1, 1], 'one series per file')
})

t.test('--target-file-bytes sizes the files by bytes (default 2 MiB, no row cap)', async t => {
  const dir = t.testdir()
  const input = join(dir, 'noisy.parquet')
  await writeSegment(input, noisyRows(80, 20, 1_700_000_000_000))
  const files = async (args: string[]): Promise<Array<{ record_count: number, file_size: number }>> => {
    const out = join(dir, `out${args.join('')}`)
    const { code, stderr } = await cli(['compact', ...args, '-o', out, input])
    t.equal(code, 0, stderr)
    return JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')).files
  }
  t.same((await files([])).map(f => f.record_count), [1600], 'by default one file holds every row')
  const small = await files(['--target-file-bytes', '65536'])
  t.ok(small.length >= 3, `${small.length} files`)
  t.ok(small.every(f => f.file_size <= 65_536 && f.record_count % 20 === 0), 'each within the target, whole series only')
})

t.test('bad input exits non-zero with a clear message naming the file, never a stack trace', async t => {
  const dir = t.testdir({ 'notes.parquet': 'this is not parquet at all' })
  const [good] = await twoSegments(dir)
  const cases: Array<{ args: string[], code: number, message: RegExp }> = [
    { args: ['compact', '-o', join(dir, 'o1'), good, join(dir, 'notes.parquet')], code: 1, message: /CMP_ERR_BAD_PARQUET: .*notes\.parquet/ },
    { args: ['compact', '-o', join(dir, 'o2'), join(dir, 'missing.parquet')], code: 1, message: /CMP_ERR_INPUT_NOT_FOUND: .*missing\.parquet/ },
    { args: ['compact', '--frequency-ms', '12345', '-o', join(dir, 'o3'), good], code: 1, message: /CMP_ERR_BAD_FREQUENCY: .*12345/ },
    { args: ['compact', '--frequency-ms', 'fast', '-o', join(dir, 'o3'), good], code: 1, message: /CMP_ERR_BAD_FREQUENCY: .*fast/ },
    { args: ['compact', good], code: 2, message: /missing -o OUTDIR/ },
    { args: ['compact', '--target-file-bytes', '65535', '-o', join(dir, 'o5'), good], code: 2, message: /--target-file-bytes must be an integer from 65536 to 1073741824, got '65535'/ },
    { args: ['compact', '--target-file-bytes', '1073741825', '-o', join(dir, 'o5'), good], code: 2, message: /--target-file-bytes must be an integer from 65536/ },
    { args: ['compact', '--target-file-bytes', '2MiB', '-o', join(dir, 'o5'), good], code: 2, message: /--target-file-bytes must be an integer/ },
    { args: ['compact', '--records-per-file', '0', '-o', join(dir, 'o5'), good], code: 2, message: /--records-per-file must be a positive integer/ },
    { args: ['compact', '-o', join(dir, 'o4')], code: 2, message: /no input files/ },
    { args: ['explode'], code: 2, message: /unknown command 'explode'/ },
  ]
  for (const c of cases) {
    const { code, stderr } = await cli(c.args)
    t.equal(code, c.code, c.args.join(' '))
    t.match(stderr, c.message)
    t.notMatch(stderr, /\n\s+at /, 'no stack trace')
  }
  t.same(await readdir(join(dir, 'o1')), [], 'a failed compaction leaves no output')
})

t.test('on a terminal, a progress bar shows rows read of the total', async t => {
  const hasScript = await run('script', ['--version']).then(() => true, () => false)
  if (!hasScript) {
    t.comment('util-linux `script` is not installed: no pseudo-terminal to test the progress bar on')
    return
  }
  const dir = t.testdir()
  const inputs = await twoSegments(dir)
  const command = [process.execPath, BIN, 'compact', '-o', join(dir, 'out'), ...inputs].map(a => `'${a}'`).join(' ')
  const { stdout } = await run('script', ['-qec', command, '/dev/null'])
  t.match(stdout, /compacting \[.*\] \d+% \| 4\/4 rows/, 'the bar counts rows read of the total')
  t.match(stdout, /compacted 2 file\(s\)/)
  const { stdout: piped } = await cli(['compact', '-o', join(dir, 'out2'), ...inputs])
  t.notMatch(piped, /compacting \[/, 'no bar when output is not a terminal')
})

t.test('--help prints the usage', async t => {
  const { code, stdout } = await cli(['compact', '--help'])
  t.equal(code, 0)
  t.match(stdout, /usage: metric-compactor compact/)
})


t.test('the command keeps the type-stripped sources in NODE_COMPILE_CACHE, and a second run finds them there', async t => {
  const dir = t.testdir()
  const inputs = await twoSegments(dir)
  const cache = join(dir, 'cache')
  // every process and thread of a run (the command, the process it replaces itself with, the
  // writer thread) shares one directory per Node version: no directory nests inside it
  const entries = async (): Promise<number> => {
    let n = 0
    const versions = await readdir(cache)
    t.equal(versions.length, 1, 'one directory for the Node version')
    for (const version of versions) {
      const files = await readdir(join(cache, version), { withFileTypes: true })
      t.same(files.filter(f => f.isDirectory()).map(f => f.name), [], 'and nothing nested inside it')
      n += files.length
    }
    return n
  }
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_COMPILE_CACHE: cache }
  delete env.NODE_DISABLE_COMPILE_CACHE
  await run(process.execPath, [BIN, 'compact', '-q', '-o', join(dir, 'out1'), ...inputs], { env })
  const first = await entries()
  t.ok(first > 20, `the modules of a compaction are cached (${first} entries)`)
  await run(process.execPath, [BIN, 'compact', '-q', '-o', join(dir, 'out2'), ...inputs], { env })
  t.equal(await entries(), first, 'a second run compiles nothing new')
})

t.test('the command compacts with 1 MiB semi-spaces, unless its node was given a size', async t => {
  const dir = t.testdir()
  const inputs = await twoSegments(dir)
  // a preload that reports, as the process exits, the flags it ran with and its new space's size
  const preload = join(dir, 'report.mjs')
  await writeFile(preload, `import { writeFileSync } from 'node:fs'
import v8 from 'node:v8'
import { isMainThread } from 'node:worker_threads'
if (isMainThread) process.on('exit', () => writeFileSync(process.env.REPORT_FILE, JSON.stringify({
  execArgv: process.execArgv, newSpace: v8.getHeapSpaceStatistics().find(s => s.space_name === 'new_space').space_size })))
`)
  const report = async (nodeArgs: string[], out: string, nodeOptions = ''): Promise<{ execArgv: string[], newSpace: number }> => {
    const file = join(dir, `${out}.json`)
    const env = { ...process.env, NODE_OPTIONS: `--import=${pathToFileURL(preload).href} ${nodeOptions}`, REPORT_FILE: file }
    await run(process.execPath, [...nodeArgs, BIN, 'compact', '-q', '-o', join(dir, out), ...inputs], { env })
    t.ok((await readdir(join(dir, out))).includes('manifest.json'), `${out}: compacted`)
    return JSON.parse(await readFile(file, 'utf8'))
  }
  const plain = await report([], 'plain')
  t.ok(plain.execArgv.includes('--max-semi-space-size=1'), 'started without the flag, it runs with it')
  t.ok(plain.newSpace <= 2 * 1024 * 1024, `its new space is at most two 1 MiB semi-spaces (${plain.newSpace} bytes)`)
  const chosen = await report(['--max-semi-space-size=8'], 'chosen')
  t.same(chosen.execArgv.filter(a => a.startsWith('--max-semi-space-size')), ['--max-semi-space-size=8'], 'a size given to node is kept')
  const optioned = await report([], 'optioned', '--max-semi-space-size=8')
  t.same(optioned.execArgv.filter(a => a.startsWith('--max-semi-space-size')), [], 'a size in NODE_OPTIONS: not replaced')
  t.ok(optioned.newSpace > 2 * 1024 * 1024, `and its new space is NODE_OPTIONS' (${optioned.newSpace} bytes)`)
})
