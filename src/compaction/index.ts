// The engine's one public surface: the service, the CLI and the bench import from here and nowhere
// else under src/compaction/. compact() is the engine; the rest is what its callers need to call it
// well (its options and report, the accepted values and their checks, the safe opening of inputs)
// and, last, the stages the bench's floor drives on their own.

// Compacting, and what it answers
export { DEFAULT_TARGET_FILE_BYTES, MAX_TARGET_FILE_BYTES, MIN_TARGET_FILE_BYTES, compact, type CompactionInput, type CompactionOptions, type CompactionResult } from './compact.ts'
export type { CompactionReport, InputReport, InputStatus } from './report.ts'
export type { SegmentMeta } from './write/segment-file.ts'
export { DROP_REASONS, MAX_TIMESTAMP_MS, type DropReason } from './read/batch-reader.ts'

// Accepted values and their rules
export { DEFAULT_FREQUENCY_MS, FREQUENCIES, checkDateint, checkFrequency } from './time.ts'
export { METRIC_NAME, currentName } from './schema.ts'

// Inputs opened once and checked on their descriptor (the service's file: store and footer walk)
export { READ_FLAGS, checkInput, fdPath, openForReading, openInput, realPathOf, type FileIdentity } from './read/input-file.ts'
export { MAX_FOOTER_BYTES, MAX_ROW_GROUP_ROWS, locateFooter, type FooterPlace } from './parquet.ts'

// Sketches, page compression and the schema elements, for the bench's data generator
export { SketchAccumulator } from './ddsketch.ts'
export { zstdCompress } from './codecs.ts'
export { parquetSchema } from './parquet.ts'
export { ROLLUP_COLUMNS } from './schema.ts'

// The stages on their own, for the bench's floor (read and write with no merge)
export { MemoryAccount } from './account.ts'
export { outputSchema } from './compact.ts'
export { openSegment, type Segment } from './read/segment.ts'
export { USABLE } from './read/batch-reader.ts'
export { InputColumns, WINDOW_ROWS, WindowReader } from './read/input-columns.ts'
export { RUN_ROWS, runLayout } from './merge/runs.ts'
export { ENGINE_COLUMNS } from './schema.ts'
export { Aggregator } from './merge/aggregate.ts'
export { FILES_BUFFERED, FILES_IN_FLIGHT, SegmentWriter } from './write/segment-writer.ts'
export type { OutputColumn } from './write/segment-file.ts'
