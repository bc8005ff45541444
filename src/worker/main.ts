// Entry of a compaction child process (started by pool.ts): first in line for the kernel's OOM
// killer, gone when the service is.
import { parentChannel, serveCompactions } from './child.ts'
import { preferForOomKiller } from './memory.ts'

preferForOomKiller()
serveCompactions(parentChannel())
