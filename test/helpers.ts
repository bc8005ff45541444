// Shared test helpers: where the real fixtures live, and whether they are present.
import { existsSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'

export const FIXTURES_DIR = resolve(process.env.FIXTURES_DIR ?? join(import.meta.dirname, '..', '..', 'shared', 'fixtures'))
export const LAKERUNNER_DIR = join(FIXTURES_DIR, 'lakerunner')
export const HAVE_FIXTURES = existsSync(LAKERUNNER_DIR)

/** The skip message real-fixture tests give when the folder is absent. */
export const NO_FIXTURES = `real fixtures not found at ${FIXTURES_DIR} (set FIXTURES_DIR): real-fixture test skipped`

/** Fixture folders: name -> sorted absolute file paths. */
export function fixtureFolders(): Map<string, string[]> {
  const out = new Map<string, string[]>()
  if (!HAVE_FIXTURES) return out
  for (const dir of readdirSync(LAKERUNNER_DIR).sort()) {
    const files = readdirSync(join(LAKERUNNER_DIR, dir)).filter(f => f.endsWith('.parquet')).sort()
    out.set(dir, files.map(f => join(LAKERUNNER_DIR, dir, f)))
  }
  return out
}

/** Test options for a real-fixture test: skipped, with a message that says why, when the folder is absent. */
export const needsFixtures: { skip?: string } = HAVE_FIXTURES ? {} : { skip: NO_FIXTURES }
