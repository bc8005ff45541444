// The DDSketch codec against every sketch of the real lakerunner fixtures (docs/DOMAIN.md section 4):
// all decode, their stored rollups match, and the encoder reproduces the bytes sketches-go wrote.
import t from 'tap'
import { basename } from 'node:path'
import { parquetReadObjects, asyncBufferFromFile } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import { SketchAccumulator, checkSketch } from '../../src/compaction/ddsketch.ts'
import { ROLLUP_COLUMNS } from '../../src/compaction/schema.ts'
import { fixtureFolders, needsFixtures } from '../helpers.ts'

// Folders whose sketches sketches-go v1.4 wrote in its canonical form; the others hold older encodings.
const CANONICAL = /^(compact-test-|work-23924665)/
const CHECKED = ['count', 'sum', 'p50'] as const

interface LegacyRow { sketch?: Uint8Array | null, rollup_count?: number, rollup_sum?: number, rollup_p50?: number }

function close (actual: number, expected: number, rel: number): boolean {
  return expected === 0 ? Math.abs(actual) <= rel : Math.abs(actual - expected) <= rel * Math.abs(expected)
}

t.test('every fixture sketch decodes, matches its rollups and re-encodes as sketches-go did', needsFixtures, async t => {
  const acc = new SketchAccumulator()
  const again = new SketchAccumulator()
  const computed = new Float64Array(ROLLUP_COLUMNS.length)
  const recomputed = new Float64Array(ROLLUP_COLUMNS.length)
  let sketches = 0
  for (const [folder, files] of fixtureFolders()) {
    let identical = 0
    let rewritten = 0
    let problems = 0
    for (const path of files) {
      const file = await asyncBufferFromFile(path)
      const rows = await parquetReadObjects({
        file, compressors, utf8: false, columns: ['sketch', 'rollup_count', 'rollup_sum', 'rollup_p50'],
      }) as LegacyRow[]
      rows.forEach((row, i) => {
        const sketch = row.sketch
        if (!sketch || sketch.length === 0) return
        sketches++
        const where = `${folder}/${basename(path)} row ${i}`
        const problem = (what: string): void => {
          if (problems++ < 10) t.fail(`${where}: ${what}`)
        }
        if (!checkSketch(sketch)) return problem('checkSketch refuses it')
        acc.reset()
        acc.addEncoded(sketch)
        acc.rollups(computed)
        for (const k of CHECKED) {
          const stored = row[`rollup_${k}`]
          const got = computed[ROLLUP_COLUMNS.indexOf(`chq_rollup_${k}`)]
          if (stored === undefined || !close(got, stored, 1e-9)) problem(`rollup_${k} ${stored} but the sketch gives ${got}`)
        }
        const encoded = acc.encode()
        if (Buffer.from(encoded).equals(sketch)) {
          identical++
          return
        }
        rewritten++
        if (CANONICAL.test(folder)) return problem('re-encodes to other bytes')
        // Not always shorter: an index-deltas block (0x09) has no counts, the canonical sparse form has.
        again.reset()
        again.addEncoded(encoded)
        again.rollups(recomputed)
        if (!recomputed.every((v, k) => Object.is(v, computed[k]))) problem('the re-encoded sketch has other rollups')
        if (!Buffer.from(again.encode()).equals(encoded)) problem('the canonical form is not stable')
      })
    }
    t.equal(problems, 0, `${folder}: no problems`)
    if (CANONICAL.test(folder)) t.equal(rewritten, 0, `${folder}: all ${identical} sketches re-encode byte-identical`)
    else t.ok(rewritten > 0, `${folder}: ${rewritten} older encodings re-encode canonically with the same rollups (${identical} already canonical)`)
  }
  t.equal(sketches, 3307, 'the fixtures hold 3,307 non-empty sketches')
})
