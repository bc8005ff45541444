#!/usr/bin/env node
// Entry point of the `metric-compactor` command: Node runs the TypeScript sources directly.
import { main } from '../src/cli.ts'

process.exitCode = await main(process.argv.slice(2))
