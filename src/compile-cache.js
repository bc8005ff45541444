// Loaded first by every entry point (bin/metric-compactor.js, `npm start`, the Dockerfile), before
// any TypeScript module: Node's on-disk compile cache keeps the type-stripped sources, so that a
// process (and every writer thread and compaction child, which inherit NODE_COMPILE_CACHE from
// here) does not load the TypeScript stripper once the cache is warm. The stripper stays in memory
// once loaded: about 17 MiB of a compaction child, 30 MiB of a writer thread (BENCHMARKS.md,
// "Compile cache, output rows in blocks..."). It is plain JavaScript so that nothing is stripped
// before the cache is on. NODE_COMPILE_CACHE chooses the directory (default: node-compile-cache in
// the temp directory); NODE_DISABLE_COMPILE_CACHE=1 turns it off.
import { enableCompileCache } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// the base directory, as the threads and children inherit it: Node keeps its entries in a
// subdirectory per Node version, and that subdirectory (what enableCompileCache returns) given
// to them would nest another one inside it at every hop
const base = process.env.NODE_COMPILE_CACHE || join(tmpdir(), 'node-compile-cache')
const { directory } = enableCompileCache(base)
if (directory !== undefined) process.env.NODE_COMPILE_CACHE = base
