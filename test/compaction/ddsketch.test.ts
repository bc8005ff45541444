// The DDSketch codec (docs/DOMAIN.md section 4): known vectors, the sketch-vectors fixture, decoder
// robustness against hostile bytes, and merge/encode properties.
import t, { type Test } from 'tap'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { SketchAccumulator, SketchError, checkSketch, encodeValue } from '../../src/compaction/ddsketch.ts'
import { ROLLUP_COLUMNS, type RollupColumn } from '../../src/compaction/schema.ts'
import { FIXTURES_DIR, needsFixtures } from '../helpers.ts'

const MAPPING = '02fd4a815abf52f03f0000000000000000'
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'))

function merge (...sketches: Uint8Array[]): SketchAccumulator {
  const acc = new SketchAccumulator()
  for (const s of sketches) acc.addEncoded(s)
  return acc
}

function sketchOf (values: readonly number[]): Uint8Array {
  const acc = new SketchAccumulator()
  for (const v of values) acc.addValue(v)
  return acc.encode()
}

function rollupsOf (acc: SketchAccumulator): number[] {
  const out = new Float64Array(ROLLUP_COLUMNS.length)
  acc.rollups(out)
  return [...out]
}

function close (actual: number, expected: number, rel = 1e-12): boolean {
  if (expected === 0) return Math.abs(actual) <= rel
  return Math.abs(actual - expected) <= rel * Math.abs(expected)
}

/** A rollup by its short name (count, p50...). */
type Rollup = RollupColumn extends `chq_rollup_${infer R}` ? R : never

function checkRollups (t: Test, acc: SketchAccumulator, expected: Partial<Record<Rollup, number>>): void {
  const got = rollupsOf(acc)
  for (const [k, v] of Object.entries(expected)) {
    const i = ROLLUP_COLUMNS.indexOf(`chq_rollup_${k as Rollup}`)
    t.ok(close(got[i], v), `${k}: ${got[i]} ~ ${v}`)
  }
}

/** What decoding does with some bytes: 'ok', a SketchError code, or the unexpected error. */
function outcome (b: Uint8Array): string {
  try {
    merge(b)
    return 'ok'
  } catch (err) {
    return err instanceof SketchError ? err.code : `unexpected ${String(err)}`
  }
}

t.test('known vectors', async t => {
  t.test('the sketch of 75 encodes as sketches-go does', async t => {
    t.equal(hex(encodeValue(75)), `${MAPPING}0501ae0302`)
    checkRollups(t, merge(encodeValue(75)), { count: 1, sum: 74.44746231501993 })
  })

  t.test('two sketches of 75 merge into one bin of count 2', async t => {
    const acc = merge(encodeValue(75), encodeValue(75))
    t.equal(hex(acc.encode()), `${MAPPING}0501ae0303`)
    checkRollups(t, acc, { count: 2, sum: 148.89492463003987 })
  })

  t.test('{75} + {100} + {75}', async t => {
    const v = 74.44746231501993
    checkRollups(t, merge(encodeValue(75), encodeValue(100), encodeValue(75)), {
      count: 3, sum: 249.38949233860475, avg: 83.12983077953491, min: v, max: 100.49456770856489, p25: v, p50: v, p75: v, p90: v, p95: v, p99: v,
    })
  })

  t.test('{100, 200} + {300}', async t => {
    const p = 198.36848598124564
    checkRollups(t, merge(sketchOf([100, 200]), encodeValue(300)), {
      count: 3, sum: 600.7764902116854, min: 100.49456770856489, p25: 100.49456770856489, p50: p, p75: p, p90: p, p95: p, p99: p, max: 301.9134365218749,
    })
  })
})

t.test('encoding', async t => {
  t.test('zero values go to the zero count block, before the mapping', async t => {
    t.equal(hex(sketchOf([0, 1e-310, -1e-310])), `0404${MAPPING}`) // varfloat64(3)
  })

  t.test('negative values go to the negative store, after the positive one', async t => {
    t.equal(hex(encodeValue(-75)), `${MAPPING}0701ae0302`)
    t.equal(hex(sketchOf([-75, 75])), `${MAPPING}0501ae03020701ae0302`)
  })

  t.test('a store as long contiguous as sparse is written contiguous', async t => {
    // bins 0 and 1, count 1 each: 5 bytes either way
    t.equal(hex(sketchOf([1, 1.03])), `${MAPPING}0d0200020202`)
  })

  t.test('the sparse size estimate counts the first delta from the first index, as sketches-go does', async t => {
    // one bin at 215: contiguous 5 bytes, sparse 5 bytes, but the estimate says 3 -> sparse
    t.equal(hex(encodeValue(75)), `${MAPPING}0501ae0302`)
  })

  t.test('a dense run is written contiguous, zero bins included', async t => {
    const acc = new SketchAccumulator()
    for (const v of [1, 1.03, 1.07]) acc.addValue(v) // bins 0, 1, 3
    acc.addValue(1.03)
    t.equal(hex(acc.encode()), `${MAPPING}0d04000202030002`)
  })

  t.test('non-integer and large counts round-trip', async t => {
    const acc = new SketchAccumulator()
    acc.addValue(5, 0.1)
    acc.addValue(-5, 2 ** 52 + 1)
    acc.addValue(0, 1e300)
    const again = merge(acc.encode())
    t.equal(hex(again.encode()), hex(acc.encode()))
    t.same([again.count(), again.zero], [acc.count(), 1e300])
  })

  t.test('an empty accumulator encodes the mapping alone and has no rollups', async t => {
    const acc = new SketchAccumulator()
    t.ok(acc.isEmpty())
    t.equal(hex(acc.encode()), MAPPING)
    t.equal(acc.count(), 0)
    t.ok(Number.isNaN(acc.quantile(0.5)) && Number.isNaN(acc.min()) && Number.isNaN(acc.max()) && Number.isNaN(acc.avg()))
  })

  t.test('reset empties the accumulator for reuse, also after growth in both directions', async t => {
    const acc = new SketchAccumulator()
    for (let v = 1e-300; v < 1e300; v *= 1.5) acc.addValue(v)
    for (let v = 1e200; v > 1e-200; v /= 3) acc.addValue(-v)
    const wide = acc.encode()
    acc.reset()
    t.ok(acc.isEmpty())
    acc.addValue(75)
    t.equal(hex(acc.encode()), hex(encodeValue(75)))
    acc.reset()
    acc.addEncoded(wide)
    t.equal(hex(acc.encode()), hex(wide))
  })

  t.test('addValue refuses NaN, negative counts and values beyond the mapping', async t => {
    const acc = new SketchAccumulator()
    t.throws(() => acc.addValue(NaN), RangeError)
    t.throws(() => acc.addValue(1, -1), RangeError)
    t.throws(() => acc.addValue(Number.MAX_VALUE), RangeError)
    t.throws(() => acc.addValue(-Infinity), RangeError)
    t.ok(acc.isEmpty())
  })
})

t.test('rollups', async t => {
  t.test('quantiles walk the negative store from its top, then the zero bucket, then the positive store', async t => {
    const acc = merge(sketchOf([-100, -10, 0, 0, 10, 100, 1000]))
    const value = (v: number): number => merge(encodeValue(Math.abs(v))).max() * Math.sign(v)
    t.equal(acc.quantile(0), value(-100))
    t.equal(acc.quantile(1 / 6), value(-10))
    t.equal(acc.quantile(2 / 6), 0)
    t.equal(acc.quantile(0.5), 0)
    t.equal(acc.quantile(4 / 6), value(10))
    t.equal(acc.quantile(1), value(1000))
    t.equal(acc.min(), value(-100))
    t.equal(acc.max(), value(1000))
    t.ok(close(acc.sum(), value(-100) + value(-10) + value(10) + value(100) + value(1000)))
  })

  t.test('min and max fall back to the zero bucket, then the other store', async t => {
    const zeros = merge(sketchOf([0, 5]))
    t.same([zeros.min(), zeros.max() > 4.9], [0, true])
    const negatives = merge(sketchOf([-1, -8]))
    t.ok(negatives.max() < -0.98 && negatives.max() > -1.02 && negatives.min() < -7.9)
  })

  t.test('a quantile outside [0, 1] is NaN', async t => {
    const acc = merge(encodeValue(3))
    t.ok(Number.isNaN(acc.quantile(-0.1)) && Number.isNaN(acc.quantile(1.5)) && Number.isNaN(acc.quantile(NaN)))
  })
})

t.test('decoding older encodings', async t => {
  const canonical = hex(sketchOf([1, 1.03, 1.03, 75, 75]))

  t.test('index deltas (0x09), zero-padded contiguous runs (0x0D) and stores split over blocks add up', async t => {
    const forms = [
      `${MAPPING} 0d0200020203 0501ae0303`, // a contiguous then a sparse block
      `${MAPPING} 09020002 0900 0904 0200ac0300`, // index deltas (restarting at 0 in each block), an empty run
      `${MAPPING} 0d05010200020300 00 0501ae0303`, // contiguous run padded with zero bins on both sides
      `0501ae0303 ${MAPPING} 0d0200020203`, // a store before the mapping
      `${MAPPING} 0d0200020202 0d0200020202 0d01ae030203 0d01ae030203 0d01ae030202`, // five blocks: 2+2+2+2+1
    ]
    t.equal(hex(merge(bytes(forms[0])).encode()), canonical)
    t.equal(hex(merge(bytes(forms[1])).encode()), hex(sketchOf([1, 1.03, 1.03, 1.03, 75, 75])))
    t.equal(hex(merge(bytes(forms[2])).encode()), canonical)
    t.equal(hex(merge(bytes(forms[3])).encode()), canonical)
    t.equal(merge(bytes(forms[4])).count(), 9)
  })

  t.test('exact summary statistics are skipped', async t => {
    const stats = '84' + '00'.repeat(8) + '88' + '11'.repeat(8) + '8c' + 'ff'.repeat(8) + 'a0' + '01'.repeat(8)
    t.equal(hex(merge(bytes(stats + canonical)).encode()), canonical)
  })

  t.test('zero count blocks add up', async t => {
    t.equal(hex(merge(bytes(`0402 ${MAPPING} 0403`)).encode()), `0404${MAPPING}`)
  })

  t.test('a repeated identical mapping is accepted', async t => {
    t.equal(hex(merge(bytes(MAPPING + canonical)).encode()), canonical)
  })
})

t.test('sketch-vectors.json: merged bytes and rollups', needsFixtures, async t => {
  interface Vector { inputs: string[], merged: string, [rollup: string]: unknown }
  const file = JSON.parse(readFileSync(`${FIXTURES_DIR}/sketch-vectors.json`, 'utf8')) as Record<string, unknown>
  const groups = Object.entries(file).filter((e): e is [string, Vector[]] => Array.isArray(e[1]))
  t.ok(groups.length >= 2, 'single and merged groups')
  for (const [group, vectors] of groups) {
    vectors.forEach((v, n) => {
      const acc = merge(...v.inputs.map(bytes))
      t.equal(hex(acc.encode()), v.merged.toLowerCase(), `${group}[${n}] merged bytes`)
      const got = rollupsOf(acc)
      ROLLUP_COLUMNS.forEach((column, i) => {
        const expected = v[column] as number
        if (!close(got[i], expected)) t.fail(`${group}[${n}] ${column}: ${got[i]} != ${expected}`)
      })
      const reversed = merge(...[...v.inputs].reverse().map(bytes))
      t.equal(hex(reversed.encode()), v.merged.toLowerCase(), `${group}[${n}] merges in any order`)
    })
  }
})

t.test('hostile input', async t => {
  const valid = [
    encodeValue(75), sketchOf([0, -3, 5, 5, 1e6, -1e-6]), sketchOf([1, 1.03, 1.07]),
    bytes(`84${'00'.repeat(8)}0402${MAPPING}09020002`),
  ]

  t.test('every truncation fails the same way in checkSketch and addEncoded, with a SketchError', async t => {
    for (const s of valid) {
      for (let n = 0; n < s.length; n++) {
        const cut = s.subarray(0, n)
        const o = outcome(cut)
        if (o !== 'ok' && o !== 'bad_sketch') t.fail(`prefix ${n} of ${hex(s)}: ${o}`)
        if ((o === 'ok') !== checkSketch(cut)) t.fail(`checkSketch disagrees on prefix ${n} of ${hex(s)}`)
      }
      // only a cut right after the mapping or after a whole store can decode
      t.equal(outcome(s.subarray(0, s.length - 1)), 'bad_sketch', `the last byte of ${hex(s)} cannot be cut`)
    }
  })

  const cases: Array<[string, string, string]> = [
    ['empty input', '', 'bad_sketch'],
    ['missing mapping', '0501ae0302', 'bad_sketch'],
    ['wrong gamma', '02fd4a815abf52f03e0000000000000000 0501ae0302', 'unsupported_mapping'],
    ['wrong offset', '02fd4a815abf52f03f000000000000f03f 0501ae0302', 'unsupported_mapping'],
    ['a second, different mapping', `${MAPPING} 02fd4a815abf52f03f0000000000000080`, 'unsupported_mapping'],
    ['another mapping kind (linear)', '06fd4a815abf52f03f0000000000000000', 'unsupported_mapping'],
    ['unknown feature flag', `${MAPPING} 08 00`, 'bad_sketch'],
    ['unknown bin encoding', `${MAPPING} 01 01 00 02`, 'bad_sketch'],
    ['huge claimed bin count (sparse)', `${MAPPING} 05 ffffffffffffffffff 00 02`, 'bad_sketch'],
    ['huge claimed bin count (contiguous)', `${MAPPING} 0d ffffffff0f 00 02 02`, 'bad_sketch'],
    ['huge claimed bin count (deltas)', `${MAPPING} 09 8080808001 02`, 'bad_sketch'],
    ['an index beyond the mapping range', `${MAPPING} 05 01 80808001 02`, 'bad_sketch'],
    ['a huge index delta', `${MAPPING} 05 01 ffffffffffffffffff 02`, 'bad_sketch'],
    ['a contiguous run walking out of range', `${MAPPING} 0d 03 00 feffff0f 02 02 02`, 'bad_sketch'],
    ['a negative count', `${MAPPING} 05 01 02 ${hex(varfloat(-1))}`, 'bad_sketch'],
    ['an infinite count', `${MAPPING} 05 01 02 ${hex(varfloat(Infinity))}`, 'bad_sketch'],
    ['a NaN zero count', `04 ${hex(varfloat(NaN))} ${MAPPING}`, 'bad_sketch'],
    ['a truncated exact statistic', `${MAPPING} 84 0000`, 'bad_sketch'],
    ['a truncated zero count varfloat', `${MAPPING} 04 80`, 'bad_sketch'],
  ]
  for (const [name, h, code] of cases) {
    t.test(`${name} -> ${code}`, async t => {
      const b = bytes(h)
      const started = performance.now()
      t.equal(outcome(b), code)
      t.equal(checkSketch(b), false)
      t.ok(performance.now() - started < 100, 'fails fast')
    })
  }

  t.test('random bytes never throw anything but a SketchError, and checkSketch agrees', async t => {
    const mapped = fc.uint8Array({ maxLength: 40 }).map(tail => Uint8Array.from([...bytes(MAPPING), ...tail]))
    const mutated = fc.tuple(fc.constantFrom(...valid), fc.nat(), fc.nat({ max: 255 }))
      .map(([s, at, v]) => { const c = Uint8Array.from(s); c[at % c.length] = v; return c })
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mapped, mutated), b => {
      const o = outcome(b)
      return (o === 'ok' || o === 'bad_sketch' || o === 'unsupported_mapping') && (o === 'ok') === checkSketch(b)
    }), { numRuns: 20_000 })
  })
})

// The varfloat64 bytes of v, by the docs/DOMAIN.md recipe in BigInt: a reference for the codec's
// 32-bit version, and a way to write counts the encoder refuses to produce (negative, infinite, NaN).
function varfloat (v: number): Uint8Array {
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, v + 1)
  let x = BigInt.asUintN(64, view.getBigUint64(0) - 0x3ff0000000000000n)
  x = BigInt.asUintN(64, (x << 6n) | (x >> 58n))
  const out: number[] = []
  for (let i = 0; i < 8; i++) {
    const n = Number(x >> 57n)
    x = BigInt.asUintN(64, x << 7n)
    if (x === 0n) return Uint8Array.from([...out, n])
    out.push(n | 0x80)
  }
  return Uint8Array.from([...out, Number(x >> 56n)])
}

t.test('varfloat64 of a count matches the BigInt reference; the count read back is (c + 1) - 1', async t => {
  fc.assert(fc.property(fc.oneof(fc.nat(), fc.double({ min: 0, max: 1e300, noNaN: true }), fc.integer({ min: 0, max: 2 ** 53 })), c => {
    if (c === 0) return true // no bin for a zero count
    const acc = new SketchAccumulator()
    acc.addValue(75, c)
    return hex(acc.encode()) === `${MAPPING}0501ae03${hex(varfloat(c))}` && merge(acc.encode()).count() === (c + 1) - 1
  }), { numRuns: 5000 })
})

// Magnitudes from 1e-9 to 1e12 (a dense store spans ln(1e21) * 50 bins at most: the tests stay fast),
// either sign, small integers, and values that fall in the zero bucket.
const values = fc.array(fc.oneof(
  fc.tuple(fc.double({ min: 1e-9, max: 1e12, noNaN: true }), fc.boolean()).map(([m, negative]) => negative ? -m : m),
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom(0, -0, 1e-320, -1e-310),
), { maxLength: 60 })

t.test('properties', async t => {
  t.test('merging A then B equals merging B then A, byte for byte', async t => {
    fc.assert(fc.property(values, values, (a, b) => {
      const x = sketchOf(a)
      const y = sketchOf(b)
      return hex(merge(x, y).encode()) === hex(merge(y, x).encode()) &&
        hex(merge(x, y).encode()) === hex(sketchOf([...a, ...b]))
    }), { numRuns: 1000 })
  })

  t.test('encode(decode(x)) is x for canonical x, and stable', async t => {
    fc.assert(fc.property(values, a => {
      const x = sketchOf(a)
      const once = merge(x).encode()
      return hex(once) === hex(x) && hex(merge(once).encode()) === hex(once) && checkSketch(x)
    }), { numRuns: 1000 })
  })

  t.test('count is exact; min, max and quantiles are ordered and within 1 % of the truth', async t => {
    fc.assert(fc.property(values.filter(a => a.length > 0), a => {
      const acc = merge(sketchOf(a))
      const sorted = [...a].sort((p, q) => p - q)
      const near = (got: number, want: number): boolean => Math.abs(want) < 1e-300 ? Math.abs(got) < 1e-300 : Math.abs(got - want) <= 0.0101 * Math.abs(want)
      const qs = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1].map(q => acc.quantile(q))
      return acc.count() === a.length && near(acc.min(), sorted[0]) && near(acc.max(), sorted[a.length - 1]) &&
        qs.every((q, i) => i === 0 || q >= qs[i - 1]) && qs[0] === acc.min() && qs[qs.length - 1] === acc.max()
    }), { numRuns: 1000 })
  })
})
