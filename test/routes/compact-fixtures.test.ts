// The real lakerunner fixtures through POST /compact, as uploads and as a bundle manifest: the same
// files and figures as the CLI on the same files (docs/DOMAIN.md section 6). Skipped, saying why, when the
// fixtures are absent; compact.test.ts covers the same on generated data.
import t from 'tap'
import { readFile, readdir } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { PassThrough } from 'node:stream'
import { main } from '../../src/cli.ts'
import { LAKERUNNER_DIR, fixtureFolders, needsFixtures } from '../helpers.ts'
import { ContractChecker, ORG, assertNoTempFiles, multipart, readTar, testApp } from '../support/http.ts'

const contract = new ContractChecker()

/** The docs/DOMAIN.md section 6 figures at frequency_ms 10000. */
const FIGURES: Record<string, { rowsIn: number, rowsOut: number }> = {
  'compact-test-0001': { rowsIn: 2732, rowsOut: 2729 },
  'compact-test-0002': { rowsIn: 6719, rowsOut: 6719 },
  'compact-00001': { rowsIn: 2724, rowsOut: 2724 },
  'metrics-cooked': { rowsIn: 2566, rowsOut: 2566 },
  'work-23924665': { rowsIn: 47, rowsOut: 47 },
}

async function cli (out: string, files: string[]): Promise<{ manifest: any, bytes: Map<string, Buffer> }> {
  const sink = new PassThrough().resume()
  const code = await main(['compact', '-q', '-o', out, ...files], { out: sink as unknown as typeof process.stdout, err: sink as unknown as typeof process.stderr })
  if (code !== 0) throw new Error(`cli exited ${code}`)
  const bytes = new Map<string, Buffer>()
  for (const name of await readdir(out)) if (name.endsWith('.parquet')) bytes.set(name, await readFile(join(out, name)))
  return { manifest: JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')), bytes }
}

function figures (report: any): unknown {
  const { duration_ms: _d, inputs, ...rest } = report
  return { ...rest, inputs: inputs.map(({ name: _n, segment_id: _s, ...input }: any) => input) }
}

/** What a file's metadata says about its contents, without its identity (the segment id). */
function contents (file: any): unknown {
  const { segment_id: _s, file_name: _f, file_size: _z, ...rest } = file
  return rest
}

t.test('uploads of each fixture folder: the same files, bytes and figures as the CLI', needsFixtures, async t => {
  const app = await testApp(t)
  for (const [folder, files] of fixtureFolders()) {
    const expected = await cli(join(t.testdir(), 'cli'), files)
    const upload = await multipart(await Promise.all(files.map(async f => ({ name: basename(f), data: await readFile(f) }))))
    const res = await app.inject({ method: 'POST', url: '/compact', ...upload })
    t.equal(res.statusCode, 200, folder)
    contract.check(t, 'POST', '/compact', res)
    const entries = await readTar(res.rawPayload)
    const manifest = JSON.parse(entries.at(-1)!.data.toString())
    t.same(manifest.files, expected.manifest.files, `${folder}: same segment metadata`)
    t.same(figures(manifest.report), figures(expected.manifest.report), `${folder}: same report`)
    for (const entry of entries.slice(0, -1)) t.ok(entry.data.equals(expected.bytes.get(entry.name)!), `${folder}/${entry.name}: same bytes`)
    if (FIGURES[folder]) t.match(manifest.report, { rows_in: FIGURES[folder].rowsIn, rows_out: FIGURES[folder].rowsOut }, `${folder}: docs/DOMAIN.md figures`)
    await assertNoTempFiles(t, app)
  }
})

t.test('bundle manifests of file: URLs into the fixtures: the same contents and figures as the CLI', needsFixtures, async t => {
  const app = await testApp(t, { storageRoot: LAKERUNNER_DIR })
  for (const [folder, files] of fixtureFolders()) {
    const expected = await cli(join(t.testdir(), 'cli'), files)
    const segments = files.map((f, i) => ({ segment_id: /^tbl_(\d+)\.parquet$/.exec(basename(f))?.[1] ?? String(1000 + i), url: `file:${folder}/${basename(f)}` }))
    const res = await app.inject({ method: 'POST', url: '/compact', payload: { organization_id: ORG, dateint: 20250828, frequency_ms: 10000, instance_num: 1, segments } })
    t.equal(res.statusCode, 200, folder)
    const entries = await readTar(res.rawPayload)
    const manifest = JSON.parse(entries.at(-1)!.data.toString())
    contract.validate(t, contract.schema('CompactionManifest'), manifest, `${folder}: manifest.json`)
    t.same(manifest.files.map(contents), expected.manifest.files.map(contents), `${folder}: same rows, ranges, names, fingerprints per file`)
    // the file names differ (the segment ids hash the inputs' ids), the bytes do not: no row id in them
    for (const [i, entry] of entries.slice(0, -1).entries()) {
      t.ok(entry.data.equals(expected.bytes.get(expected.manifest.files[i].file_name)!), `${folder}/${entry.name}: the CLI's bytes`)
    }
    // the dateint is the manifest's
    const { rows_outside_dateint: _o, dateint: _d, ...report } = figures(manifest.report) as Record<string, unknown>
    const { rows_outside_dateint: _o2, dateint: _d2, ...cliReport } = figures(expected.manifest.report) as Record<string, unknown>
    t.same(report, cliReport, `${folder}: same report`)
    t.same(manifest.report.inputs.map((i: any) => i.segment_id), segments.map(s => s.segment_id), `${folder}: inputs by segment id`)
  }
  await assertNoTempFiles(t, app)
})
