// Generated data sets cached under bench/data/<name>: reused while their dataset.json matches the
// generator version and parameters, regenerated (as a child process) otherwise.
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DATASET_FILE, GENERATOR_VERSION, type DatasetInfo } from './generate.ts'
import { BENCH_DIR, DATA_ROOT, DATASETS } from './profiles.ts'
import { REAL_WIDE, REAL_WIDE_DIR, REAL_WIDE_VERSION, buildRealWide, fixturesDir } from './real-wide.ts'
import { existsSync } from 'node:fs'

/** A data set that cannot be built here (the fixtures are absent): the profiles on it are skipped. */
export class DatasetUnavailable extends Error {
  override name = 'DatasetUnavailable'
}

/** A data set ready on disk: its description and the absolute paths of its segments. */
export interface Dataset {
  readonly name: string
  readonly dir: string
  readonly info: DatasetInfo
  readonly files: string[]
}

async function readInfo (dir: string): Promise<DatasetInfo | null> {
  try {
    return JSON.parse(await readFile(join(dir, DATASET_FILE), 'utf8')) as DatasetInfo
  } catch {
    return null
  }
}

/** The named data set, generated first when it is missing or stale. */
export async function ensureDataset (name: string, log: (line: string) => void): Promise<Dataset> {
  if (name === REAL_WIDE) return ensureRealWide(log)
  const wanted = DATASETS[name]
  if (!wanted) throw new Error(`unknown data set '${name}'`)
  const dir = join(DATA_ROOT, name)
  let info = await readInfo(dir)
  if (!info || info.generator !== GENERATOR_VERSION || JSON.stringify(info.options) !== JSON.stringify(wanted)) {
    log(`generating data set '${name}' in ${dir} ...`)
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [join(BENCH_DIR, 'generate.ts'), '--profile', name, '--out', dir], { stdio: ['ignore', 'inherit', 'inherit'] })
      child.once('error', reject)
      child.once('close', code => (code === 0 ? resolve() : reject(new Error(`generating '${name}' failed (exit ${code})`))))
    })
    info = await readInfo(dir)
    if (!info) throw new Error(`generating '${name}' wrote no ${DATASET_FILE}`)
  }
  return { name, dir, info, files: info.files.map(f => join(dir, f.name)) }
}

/** The real-wide data set, built from the fixtures first when it is missing or stale. */
async function ensureRealWide (log: (line: string) => void): Promise<Dataset> {
  let info = await readInfo(REAL_WIDE_DIR)
  if (!info || info.generator !== REAL_WIDE_VERSION) {
    if (!existsSync(join(fixturesDir(), 'lakerunner'))) {
      throw new DatasetUnavailable(`data set '${REAL_WIDE}' needs the fixtures in ${fixturesDir()}/lakerunner (set FIXTURES_DIR): absent`)
    }
    log(`building data set '${REAL_WIDE}' from the fixtures in ${REAL_WIDE_DIR} ...`)
    info = await buildRealWide(REAL_WIDE_DIR, log)
  }
  return { name: REAL_WIDE, dir: REAL_WIDE_DIR, info, files: info.files.map(f => join(REAL_WIDE_DIR, f.name)) }
}
