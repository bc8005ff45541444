// Preloaded into a measured process (NODE_OPTIONS="--import <this file>"): at exit, writes the
// process's peak resident set size (getrusage maxrss, all threads, from the OS) in bytes and its
// CPU time (user + system, all threads) in ms to the file named by BENCH_RSS_FILE, as JSON.
// Worker threads do nothing; the main thread reports for the whole process.
// Plain JavaScript, so that preloading it does not load the TypeScript stripper into the process it
// measures (src/compile-cache.js).
import { writeFileSync } from 'node:fs'
import { isMainThread } from 'node:worker_threads'

const target = process.env.BENCH_RSS_FILE
if (target && isMainThread) {
  process.on('exit', () => {
    const usage = process.resourceUsage()
    writeFileSync(target, JSON.stringify({ maxRssBytes: usage.maxRSS * 1024, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000 }) + '\n')
  })
}
