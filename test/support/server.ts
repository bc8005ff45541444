// The service in its own process on a loopback port, as `npm start` runs it, for tests that need
// the real thing: its process tree, its logs, its temporary directory, its exit.
import type { Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const ROOT = join(import.meta.dirname, '..', '..')

export interface Running {
  child: ChildProcess
  base: string
  logs: Array<Record<string, unknown>>
  exited: Promise<number | null>
  tempDir: string
}

/** Starts `node <entry>` on a free loopback port; killed at the end of the test if still running. */
export async function start (t: Test, args: string[] = [join(ROOT, 'src', 'main.ts')], env: Record<string, string> = {}): Promise<Running> {
  // not t.testdir(): the tests call it for their own files, and each call empties it
  const dir = await mkdtemp(join(tmpdir(), 'metric-compactor-main-'))
  await mkdir(join(dir, 'root'))
  await mkdir(join(dir, 'tmp'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', STORAGE_ROOT: join(dir, 'root'), TEMP_DIR: join(dir, 'tmp'), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  const logs: Array<Record<string, unknown>> = []
  let stderr = ''
  child.stderr!.on('data', d => { stderr += d })
  const base = await new Promise<string>((resolve, reject) => {
    let buffered = ''
    child.stdout!.on('data', (data: Buffer) => {
      buffered += data
      const lines = buffered.split('\n')
      buffered = lines.pop()!
      for (const line of lines) {
        const entry = JSON.parse(line) as Record<string, unknown>
        logs.push(entry)
        const match = /^Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(String(entry.msg))
        if (match) resolve(match[1])
      }
    })
    exited.then(code => reject(new Error(`server exited ${code} before listening: ${stderr}`)))
  })
  return { child, base, logs, exited, tempDir: join(dir, 'tmp') }
}

/** No file is left in the process's temporary directory; SIGTERM then stops the server with exit 0. */
export async function stopsCleanly (t: Test, server: Running): Promise<void> {
  const [processDir, ...others] = await readdir(server.tempDir)
  t.same(others, [], 'one temporary directory, the process\'s')
  t.same(await readdir(join(server.tempDir, processDir)), [], 'and it is empty')
  server.child.kill('SIGTERM')
  t.equal(await server.exited, 0)
}

