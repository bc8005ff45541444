// What a compaction did, row for row, as the report every caller gets: rows in and out, rows
// dropped by reason, values altered on reading, per input and in total. It balances:
// rows_in = rows_aggregated + the sum of dropped (compact() checks it before it answers).
import type { CompactionOptions } from './compact.ts'
import { DROP_REASONS, type DropReason } from './read/batch-reader.ts'
import type { Segment } from './read/segment.ts'
import type { AggregateStats } from './merge/aggregate.ts'
import type { SegmentMeta } from './write/segment-file.ts'

export type InputStatus = 'compacted' | 'already_compacted' | 'missing_skipped'

export interface InputReport {
  name: string
  segment_id?: string
  status: InputStatus
  rows: number
  bytes: number
  /** Compacted inputs: values of carried string columns whose invalid UTF-8 was replaced by U+FFFD. */
  replaced_utf8?: number
  /** Compacted inputs: rows whose unsigned 64-bit chq_tid was 2^63 or more, kept as the signed id of the same bits. */
  unsigned_tid?: number
}

/** What a compaction did, row for row: rows_in = rows_aggregated + sum(dropped). */
export interface CompactionReport {
  frequency_ms: number
  dateint: number | null
  rows_in: number
  rows_aggregated: number
  rows_out: number
  dropped: Record<DropReason, number>
  rows_outside_dateint: number
  /** Values of carried string columns whose bytes were not valid UTF-8, written with U+FFFD in their place. */
  replaced_utf8: number
  /** Rows whose chq_tid was an unsigned 64-bit value of 2^63 or more, kept as the signed id of the same 64 bits. */
  unsigned_tid: number
  sketch_merges: number
  bytes_in: number
  bytes_out: number
  files_out: number
  duration_ms: number
  inputs: InputReport[]
}

/** Values read and kept altered, per input: invalid UTF-8 replaced, unsigned tids read as signed. */
export interface Altered {
  readonly replacedUtf8: Float64Array
  readonly unsignedTid: Float64Array
}

export function buildReport (options: CompactionOptions, segments: readonly Segment[], inputIds: readonly string[], frequencyMs: number,
  dropped: Float64Array, altered: Altered, stats: AggregateStats, files: readonly SegmentMeta[], rowsRead: number, started: number): CompactionReport {
  const drops = {} as Record<DropReason, number>
  for (let r = 1; r < DROP_REASONS.length; r++) drops[DROP_REASONS[r] as DropReason] = dropped[r]
  const sum = (a: Float64Array): number => a.reduce((n, v) => n + v, 0)
  return {
    frequency_ms: frequencyMs,
    dateint: options.dateint ?? null,
    rows_in: rowsRead,
    rows_aggregated: stats.rowsAggregated,
    rows_out: files.reduce((n, f) => n + f.record_count, 0),
    dropped: drops,
    rows_outside_dateint: stats.rowsOutsideDateint,
    replaced_utf8: sum(altered.replacedUtf8),
    unsigned_tid: sum(altered.unsignedTid),
    sketch_merges: stats.sketchMerges,
    bytes_in: segments.reduce((n, s) => n + s.byteLength, 0),
    bytes_out: files.reduce((n, f) => n + f.file_size, 0),
    files_out: files.length,
    duration_ms: Math.round(performance.now() - started),
    inputs: segments.map((s, i) => ({
      name: s.label,
      ...(options.inputs[i].segmentId === undefined ? {} : { segment_id: inputIds[i] }),
      status: 'compacted' as const,
      rows: s.numRows,
      bytes: s.byteLength,
      replaced_utf8: altered.replacedUtf8[i],
      unsigned_tid: altered.unsignedTid[i],
    })),
  }
}
