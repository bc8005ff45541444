// Preloaded into a measured process (NODE_OPTIONS="--import <this file>"): at exit, writes the
// process's peak resident set size (getrusage maxrss, all threads, from the OS) to the file named
// by BENCH_RSS_FILE, in bytes. Worker threads do nothing; the main thread reports for the process.
import { writeFileSync } from 'node:fs'
import { isMainThread } from 'node:worker_threads'

const target = process.env.BENCH_RSS_FILE
if (target && isMainThread) {
  process.on('exit', () => {
    writeFileSync(target, String(process.resourceUsage().maxRSS * 1024) + '\n')
  })
}
