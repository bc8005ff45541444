#!/usr/bin/env node
// Entry point of the `metric-compactor` command: Node runs the TypeScript sources directly, through
// its compile cache (src/compile-cache.js, on before the first TypeScript module is loaded).
import '../src/compile-cache.js'

const { main } = await import('../src/cli.ts')
process.exitCode = await main(process.argv.slice(2))
