// Which (series, bucket) keys each generated segment holds, and the sketch of one row's values.
import { SketchAccumulator } from '../src/compaction/index.ts'
import type { Metric } from './dataset.ts'
import type { Prng } from './prng.ts'

/** One segment's rows: the series and bucket of each row, in the order they are written. */
export interface SegmentRows {
  readonly series: Int32Array
  readonly bucket: Int32Array
  readonly sorted: boolean
}

/** The key plan of a data set: rows per file and the counts that describe the overlap. */
export interface RowPlan {
  readonly files: SegmentRows[]
  readonly buckets: number
  readonly uniqueKeys: number
  readonly duplicatedKeys: number
}

/**
 * Spreads `rows` rows over `files` files: unique keys fill the (series x bucket) grid bucket by
 * bucket, each file holds an equal contiguous time slice (as ingestion writes them), and a share of the
 * keys appears a second time in a later file (late data) so that `overlap` of all rows share their key.
 */
export function planRows (rng: Prng, rows: number, files: number, seriesByRank: Int32Array, overlap: number, unsorted: number): RowPlan {
  const series = seriesByRank.length
  const duplicatedKeys = files > 1 ? Math.round(rows * overlap / 2) : 0
  const uniqueKeys = rows - duplicatedKeys
  const buckets = Math.ceil(uniqueKeys / series)
  const keys: number[][] = Array.from({ length: files }, () => [])
  let dupLeft = duplicatedKeys
  for (let k = 0; k < uniqueKeys; k++) {
    const bucket = Math.floor(k / series)
    const rank = k % series
    const primary = Math.floor(k * files / uniqueKeys)
    keys[primary].push(rank * buckets + bucket)
    // selection sampling: exactly duplicatedKeys keys get a second row
    if (dupLeft > 0 && rng.next() * (uniqueKeys - k) < dupLeft) {
      dupLeft--
      keys[lateFile(rng, primary, files)].push(rank * buckets + bucket)
    }
  }
  const unsortedCount = Math.round(unsorted * files)
  const unsortedFiles = new Set<number>()
  while (unsortedFiles.size < unsortedCount) unsortedFiles.add(rng.int(files))
  return {
    files: keys.map((list, f) => fileRows(list, buckets, seriesByRank, !unsortedFiles.has(f))),
    buckets,
    uniqueKeys,
    duplicatedKeys,
  }
}

// A late arrival: the key's second row lands in one of the next two files (the previous two at the end).
function lateFile (rng: Prng, primary: number, files: number): number {
  const step = 1 + rng.int(Math.min(2, files - 1))
  return primary + step < files ? primary + step : primary - step
}

// Sorted files follow the sort key (series rank, bucket); unsorted ones are time-major, as an
// ingester that never sorted would write them.
function fileRows (list: number[], buckets: number, seriesByRank: Int32Array, sorted: boolean): SegmentRows {
  const n = list.length
  const keys = Float64Array.from(list)
  const seriesCount = seriesByRank.length
  if (!sorted) for (let i = 0; i < n; i++) keys[i] = (keys[i] % buckets) * seriesCount + Math.floor(keys[i] / buckets)
  keys.sort()
  const series = new Int32Array(n)
  const bucket = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    const key = keys[i]
    const rank = sorted ? Math.floor(key / buckets) : key % seriesCount
    bucket[i] = sorted ? key % buckets : Math.floor(key / seriesCount)
    series[i] = seriesByRank[rank]
  }
  return { series, bucket, sorted }
}

const GAMMA = 1.01 / 0.99

/**
 * Fills `acc` with one row's values for a series of the given metric and scale: gauges one to a
 * few readings, counters one delta (often zero), histograms 1 to 50 bins; signed metrics get
 * negative values and zeros too.
 */
export function fillSketch (acc: SketchAccumulator, rng: Prng, metric: Metric, scale: number): void {
  acc.reset()
  if (metric.type === 'gauge') {
    const n = rng.chance(0.85) ? 1 : rng.range(2, 5)
    for (let i = 0; i < n; i++) {
      if (metric.signed) acc.addValue(rng.chance(0.05) ? 0 : scale * rng.normal())
      else acc.addValue(Math.max(0, scale * (1 + 0.1 * rng.normal())))
    }
  } else if (metric.type === 'count') {
    acc.addValue(rng.chance(0.25) ? 0 : scale * rng.logUniform(0.2, 5))
  } else {
    const bins = 1 + Math.floor(49 * Math.pow(rng.next(), 2.5))
    for (let b = 0; b < bins; b++) {
      const v = scale * Math.pow(GAMMA, rng.int(3 * bins))
      acc.addValue(metric.signed && rng.chance(0.3) ? -v : v, rng.range(1, 50))
    }
    if (rng.chance(0.08)) acc.addValue(0, rng.range(1, 5))
  }
}
