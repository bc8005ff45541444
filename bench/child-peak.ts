// One compaction where the service runs it, measured: a pool of one compaction child, the
// compaction run there with a reservation (the engine's account and the watchdog enforce it, as in
// the service), the child's PSS sampled every 5 ms. Used by bench/estimate.ts and by the test that
// holds the estimate to the peak (test/guard/estimate-peak.test.ts).
import { mkdtempSync, rm, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_FREQUENCY_MS, DEFAULT_TARGET_FILE_BYTES } from '../src/compaction/index.ts'
import { pssBytes } from '../src/worker/memory.ts'
import { CompactionPool } from '../src/worker/pool.ts'

export interface ChildPeak {
  /** The child's idle PSS, and its PSS as the compaction began. */
  readonly baselineBytes: number
  readonly atStartBytes: number
  /** The child's peak PSS over its idle baseline. */
  readonly peakBytes: number
  /** 'ok', or the error code the compaction ended with. */
  readonly outcome: string
}

/** Compacts the inputs (files of the default size, or one file with `parquet`) in a compaction child reserving `reservedBytes`; returns its peak. */
export async function childPeak (inputs: ReadonlyArray<{ path: string, bytes: number }>, reservedBytes: number, parquet = false): Promise<ChildPeak> {
  const pool = new CompactionPool({ size: 1, heapLimitMb: 4096, timeoutMs: 3_600_000, recycleAboveBytes: () => Infinity })
  while (pool.baselineBytes === 0) await new Promise(resolve => setTimeout(resolve, 10))
  const [child] = pool.childMemory()
  let peak = 0
  const sampler = setInterval(() => {
    const pid = pool.busyChildren()[0]?.pid
    if (pid !== undefined) peak = Math.max(peak, pssBytes(pid) ?? 0)
  }, 5)
  const outDir = mkdtempSync(join(tmpdir(), 'child-peak-'))
  let outcome = 'ok'
  try {
    await pool.run({
      inputs: [...inputs],
      entries: inputs.map(() => null),
      frequencyMs: DEFAULT_FREQUENCY_MS,
      targetFileBytes: DEFAULT_TARGET_FILE_BYTES,
      recordsPerFile: undefined,
      organizationId: undefined,
      dateint: undefined,
      instanceNum: undefined,
      delivery: { kind: parquet ? 'parquet' : 'tar' },
    }, outDir, async file => rm(join(outDir, file.file_name), () => {}), { reservedBytes })
  } catch (err) {
    outcome = (err as { code?: string }).code ?? String(err)
  } finally {
    clearInterval(sampler)
    await pool.close()
    rmSync(outDir, { recursive: true, force: true })
  }
  return { baselineBytes: pool.baselineBytes, atStartBytes: child.bytes, peakBytes: peak - pool.baselineBytes, outcome }
}
