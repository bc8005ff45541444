// A bundle manifest -> a compaction job: every segment URL checked (scheme, storage root, host
// allow-list) before anything is fetched, then each segment brought to local disk, unless it is
// already compacted (>= 80 % of the target file size) or missing and the manifest allows skipping.
import { checkDateint, type InputReport } from '../compaction/index.ts'
import { CompactorError } from '../errors.ts'
import { readFooterFigures } from '../guard/footer.ts'
import type { Storage } from '../storage/index.ts'
import type { RequestTemp } from '../storage/temp.ts'
import type { CompactionJob, Delivery, JobInput } from './job.ts'

/** A manifest as openapi.yaml's BundleManifest describes it (already validated against it). */
export interface BundleManifest {
  organization_id: string
  dateint: number
  frequency_ms: number
  instance_num: number
  collector_name?: string
  segments: Array<{ segment_id: string | number, url: string, record_count?: number, file_size?: number, sort_version?: number }>
  records_per_file?: number
  target_file_bytes?: number
  skip_missing?: boolean
  output?: { url_prefix: string }
}

export interface BundleContext {
  readonly storage: Storage
  readonly temp: RequestTemp
  /** RECORDS_PER_FILE: the row cap when the manifest gives none (undefined: none). */
  readonly defaultRecordsPerFile: number | undefined
  /** TARGET_FILE_BYTES: the target when the manifest gives none. */
  readonly targetFileBytes: number
  /** The format the request asked for; a manifest with `output` is stored whatever it asked. */
  readonly format: 'tar' | 'parquet'
  /** The request's cancellation: ends the fetches still running when the client leaves. */
  readonly signal?: AbortSignal
}

/** Segments fetched at once from remote storage. */
const FETCH_CONCURRENCY = 4
/** A segment at this fraction of the target file size or more is already compacted. */
export const ALREADY_COMPACTED_FRACTION = 0.8

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** Resolves a validated manifest into a job; throws a catalogued error naming the field. */
export async function readBundle (manifest: BundleManifest, ctx: BundleContext): Promise<CompactionJob> {
  checkDateint(manifest.dateint, 'CMP_ERR_BAD_REQUEST')
  const delivery: Delivery = manifest.output
    ? { kind: 'store', urlPrefix: manifest.output.url_prefix, collectorName: manifest.collector_name! }
    : { kind: ctx.format }
  checkOneFile(manifest, delivery)

  const seen = new Map<string, number>()
  const segments = manifest.segments.map((segment, i) => {
    const id = segmentId(segment.segment_id, `segments[${i}].segment_id`)
    const earlier = seen.get(id)
    if (earlier !== undefined) {
      throw new CompactorError('CMP_ERR_BAD_REQUEST', `segments[${i}].segment_id repeats segments[${earlier}]`, { field: `segments[${i}].segment_id` })
    }
    seen.set(id, i)
    const label = atField(`segments[${i}].url`, () => ctx.storage.storeFor(segment.url).checkUrl(segment.url))
    return { ...segment, id, label, field: `segments[${i}].url` }
  })
  // the destination is checked before any input is read: a bad one is a 4xx at once
  if (manifest.output) {
    const prefix = manifest.output.url_prefix
    await atField('output.url_prefix', async () => await ctx.storage.storeFor(prefix).checkPrefix(prefix))
  }

  const threshold = Math.floor((manifest.target_file_bytes ?? ctx.targetFileBytes) * ALREADY_COMPACTED_FRACTION)
  const notCompacted = (s: typeof segments[number], status: InputReport['status'], bytes: number): InputReport =>
    ({ name: s.label, segment_id: s.id, status, rows: s.record_count ?? 0, bytes })
  const entries = await mapLimited(segments, FETCH_CONCURRENCY, async (s): Promise<InputReport | JobInput> => {
    if (s.file_size !== undefined && s.file_size >= threshold) return notCompacted(s, 'already_compacted', s.file_size)
    let local
    try {
      local = await ctx.storage.storeFor(s.url).fetch(s.url, s.label, ctx.temp, ctx.signal)
    } catch (err) {
      if (err instanceof CompactorError && err.code === 'CMP_ERR_INPUT_NOT_FOUND') {
        if (manifest.skip_missing) return notCompacted(s, 'missing_skipped', 0)
        throw err.withDetails({ field: s.field })
      }
      throw err instanceof CompactorError ? err.withDetails({ field: s.field }) : err
    }
    // a segment used in place comes open: its footer is read through that descriptor, which is then closed
    try {
      if (local.bytes >= threshold) return notCompacted(s, 'already_compacted', local.bytes)
      const footer = local.handle ? await readFooterFigures(local.handle, s.label) : undefined
      return { path: local.path, label: s.label, segmentId: s.id, bytes: local.bytes, identity: local.identity, footer }
    } finally {
      await local.handle?.close()
    }
  })

  return {
    inputs: entries.filter((e): e is JobInput => 'path' in e),
    entries: entries.map(e => ('path' in e ? null : e)),
    frequencyMs: manifest.frequency_ms,
    targetFileBytes: manifest.target_file_bytes ?? ctx.targetFileBytes,
    recordsPerFile: manifest.records_per_file ?? ctx.defaultRecordsPerFile,
    organizationId: manifest.organization_id,
    dateint: manifest.dateint,
    instanceNum: manifest.instance_num,
    delivery,
  }
}

/** records_per_file and target_file_bytes split files: neither can go with a one-file (parquet) response. */
export function checkOneFile (fields: { records_per_file?: number, target_file_bytes?: number }, delivery: Delivery): void {
  if (delivery.kind !== 'parquet') return
  for (const field of ['records_per_file', 'target_file_bytes'] as const) {
    if (fields[field] !== undefined) {
      throw new CompactorError('CMP_ERR_BAD_REQUEST', `${field} cannot be used with Accept: application/vnd.apache.parquet (one file)`, { field })
    }
  }
}

/** A segment id as a decimal string, checked to be a signed 64-bit integer. */
function segmentId (value: string | number, field: string): string {
  const id = BigInt(value)
  if (id < INT64_MIN || id > INT64_MAX) throw new CompactorError('CMP_ERR_BAD_REQUEST', `${field} is not a 64-bit integer`, { field })
  return id.toString()
}

/** Runs check(), adding the request field to a catalogued error it throws. */
function atField<T> (field: string, check: () => T): T {
  const named = (err: unknown): never => { throw err instanceof CompactorError ? err.withDetails({ field }) : err }
  try {
    const result = check()
    return result instanceof Promise ? result.catch(named) as T : result
  } catch (err) {
    return named(err)
  }
}

/** Maps items with at most `limit` calls in flight; results keep the items' order; after a failure no item starts and it is thrown. */
async function mapLimited<T, R> (items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  let failed = false
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const i = next++
      try {
        results[i] = await fn(items[i])
      } catch (err) {
        failed = true
        throw err
      }
    }
  }
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker))
  const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')
  if (rejected) throw rejected.reason
  return results
}
