#!/usr/bin/env node
// Entry point of the `metric-compactor` command: Node runs the TypeScript sources directly, through
// its compile cache (src/compile-cache.js, on before the first TypeScript module is loaded).
//
// The command runs with a young generation of 1 MiB semi-spaces (SEMI_SPACE): V8's default lets
// each thread's young generation grow to 32 MiB semi-spaces, committed memory that a compaction's
// short-lived columns fill and leave. Bench `wide` peaked at 441 MiB with the default and 321 MiB
// with 1 MiB, in the same time (BENCHMARKS.md "Young generation"). The flag is only read as a
// process starts, so a process started without it replaces itself (process.execve: same process,
// arguments and environment) with one that has it.
import { fileURLToPath } from 'node:url'
import '../src/compile-cache.js'

const SEMI_SPACE = '--max-semi-space-size=1'
if (!process.execArgv.some(arg => arg.startsWith('--max-semi-space-size')) && typeof process.execve === 'function' && process.platform !== 'win32') {
  process.execve(process.execPath, [process.execPath, SEMI_SPACE, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], process.env)
}

const { main } = await import('../src/cli.ts')
process.exitCode = await main(process.argv.slice(2))
