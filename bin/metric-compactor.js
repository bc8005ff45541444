#!/usr/bin/env node
// Entry point of the `metric-compactor` command: Node runs the TypeScript sources directly, through
// its compile cache (src/compile-cache.js, on before the first TypeScript module is loaded).
//
// The command runs with a young generation of 1 MiB semi-spaces (SEMI_SPACE): V8's default lets
// each thread's young generation grow to 32 MiB semi-spaces, committed memory that a compaction's
// short-lived columns fill and leave. Bench `wide` peaked at 441 MiB with the default and 321 MiB
// with 1 MiB, in the same time (BENCHMARKS.md, "Compile cache, output rows in blocks..."). The
// flag is only read as a process starts, so a process started without it replaces itself
// (process.execve: same process, arguments and environment) with one that has it; a size given to
// node or in NODE_OPTIONS is kept.
import { fileURLToPath } from 'node:url'
import '../src/compile-cache.js'

const SEMI_SPACE = '--max-semi-space-size=1'
// V8 takes dashes or underscores; NODE_OPTIONS may quote its options ("--max-semi-space-size=8")
const SIZE_FLAG = /(?:^|\s)["']?--max[-_]semi[-_]space[-_]size/
const sized = process.execArgv.some(arg => SIZE_FLAG.test(arg)) || SIZE_FLAG.test(process.env.NODE_OPTIONS ?? '')
if (!sized && typeof process.execve === 'function' && process.platform !== 'win32') {
  // a failed execve (after its arguments are checked) ends the process: Node aborts, there is no
  // going on as started; what the replacing process runs is this same node and this file
  process.execve(process.execPath, [process.execPath, SEMI_SPACE, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], process.env)
}

const { main } = await import('../src/cli.ts')
process.exitCode = await main(process.argv.slice(2))
