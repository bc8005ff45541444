// src/compaction/index.ts is the engine's one public surface: the service, the CLI and the bench
// import nothing else under src/compaction/, and only parquet.ts imports the parquet libraries'
// internals (their src/ files), so that a library upgrade has one file to look at.
import t from 'tap'
import { readFile, readdir } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'

const ROOT = join(import.meta.dirname, '..', '..')
const ENGINE = join(ROOT, 'src', 'compaction')

async function sources (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...await sources(path))
    else if (entry.name.endsWith('.ts')) out.push(path)
  }
  return out
}

/** Every module specifier a file imports (static and dynamic imports, re-exports, worker URLs). */
function specifiers (text: string): string[] {
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+|new URL\(\s*)'([^']+)'/g)].map(m => m[1])
}

t.test('outside src/compaction/, the engine is imported through index.ts only', async t => {
  const callers = [...await sources(join(ROOT, 'src')), ...await sources(join(ROOT, 'routes')), ...await sources(join(ROOT, 'bench'))]
    .filter(path => !path.startsWith(ENGINE + '/'))
  const reaching: string[] = []
  for (const path of callers) {
    for (const spec of specifiers(await readFile(path, 'utf8'))) {
      if (!spec.startsWith('.')) continue
      const target = resolve(path, '..', spec)
      if (target.startsWith(ENGINE + '/') && target !== join(ENGINE, 'index.ts')) reaching.push(`${relative(ROOT, path)} -> ${relative(ROOT, target)}`)
    }
  }
  t.ok(callers.length > 30, `${callers.length} files checked`)
  t.same(reaching, [], 'no import past index.ts')
})

t.test('only src/compaction/parquet.ts imports hyparquet or hyparquet-writer internals', async t => {
  const deep: string[] = []
  for (const path of [...await sources(join(ROOT, 'src')), ...await sources(join(ROOT, 'bench'))]) {
    for (const spec of specifiers(await readFile(path, 'utf8'))) {
      if (/^hyparquet(-writer)?\/src\//.test(spec) && path !== join(ENGINE, 'parquet.ts')) deep.push(`${relative(ROOT, path)}: ${spec}`)
    }
  }
  t.same(deep, [])
})
