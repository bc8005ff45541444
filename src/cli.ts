// The command line: `metric-compactor compact [options] -o OUTDIR FILE...`.
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import cliProgress from 'cli-progress'
import { CompactorError } from './errors.ts'
import { checkFrequency, compact, DEFAULT_FREQUENCY_MS, DEFAULT_TARGET_FILE_BYTES, FREQUENCIES, MAX_TARGET_FILE_BYTES, MIN_TARGET_FILE_BYTES, type CompactionResult } from './compaction/index.ts'
import { toJson } from './json.ts'

const USAGE = `usage: metric-compactor compact [--frequency-ms N] [--target-file-bytes N] [--records-per-file N]
                                [--dateint YYYYMMDD] [--organization-id ID] -o OUTDIR FILE...
       metric-compactor serve [--port N] [--host ADDR] [--storage-root DIR]

serve runs the HTTP service (POST /compact, /healthz, /readyz, /openapi.json); its settings come
from the environment (PORT, HOST, STORAGE_ROOT, API_TOKEN...: see the README), the options win.

Compacts cooked metric parquet segments into OUTDIR: tbl_<segment_id>.parquet files and
manifest.json (segment metadata per file and the compaction report).

  --frequency-ms N       bucket width in ms: ${FREQUENCIES.join(', ')} (default ${DEFAULT_FREQUENCY_MS})
  --target-file-bytes N  bytes per output file at most, split between series (a single larger
                         series is a file of its own): ${MIN_TARGET_FILE_BYTES} to ${MAX_TARGET_FILE_BYTES} (default ${DEFAULT_TARGET_FILE_BYTES})
  --records-per-file N   rows per output file at most as well, split between series (default: no row cap)
  --dateint YYYYMMDD     the bundle's day: rows outside it are kept and counted
  --organization-id ID   the bundle's organization (part of the segment ids)
  -o, --out OUTDIR       output directory (created if missing)
  -q, --quiet            no progress bar and no summary line
`

/** Runs the CLI; returns the process exit code (0 ok, 1 the compaction failed, 2 bad usage). */
export async function main (argv: readonly string[], io = { out: process.stdout, err: process.stderr }): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out.write(USAGE)
    return command === undefined ? 2 : 0
  }
  if (command === 'serve') return await serveCommand(rest, io)
  if (command !== 'compact') return usageError(io.err, `unknown command '${command}'`)
  let parsed
  try {
    parsed = parseArgs({
      args: [...rest],
      allowPositionals: true,
      options: {
        'frequency-ms': { type: 'string' },
        'target-file-bytes': { type: 'string' },
        'records-per-file': { type: 'string' },
        dateint: { type: 'string' },
        'organization-id': { type: 'string' },
        out: { type: 'string', short: 'o' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (err) {
    return usageError(io.err, (err as Error).message)
  }
  const { values, positionals } = parsed
  if (values.help) {
    io.out.write(USAGE)
    return 0
  }
  if (!values.out) return usageError(io.err, 'missing -o OUTDIR')
  if (positionals.length === 0) return usageError(io.err, 'no input files')
  let frequencyMs: number
  try {
    frequencyMs = checkFrequency(integerOption(values['frequency-ms'], DEFAULT_FREQUENCY_MS), values['frequency-ms'])
  } catch (err) {
    return fail(io.err, err as CompactorError)
  }
  const targetFileBytes = integerOption(values['target-file-bytes'], DEFAULT_TARGET_FILE_BYTES)
  if (targetFileBytes === null || targetFileBytes < MIN_TARGET_FILE_BYTES || targetFileBytes > MAX_TARGET_FILE_BYTES) {
    return usageError(io.err, `--target-file-bytes must be an integer from ${MIN_TARGET_FILE_BYTES} to ${MAX_TARGET_FILE_BYTES}, got '${values['target-file-bytes']}'`)
  }
  const recordsPerFile = integerOption(values['records-per-file'], undefined)
  if (recordsPerFile === null || (recordsPerFile !== undefined && recordsPerFile < 1)) return usageError(io.err, `--records-per-file must be a positive integer, got '${values['records-per-file']}'`)
  const dateint = integerOption(values.dateint, undefined)
  if (dateint === null) return usageError(io.err, `--dateint must be YYYYMMDD, got '${values.dateint}'`)

  const showProgress = !values.quiet && io.err === process.stderr && process.stderr.isTTY
  const bar = showProgress ? new cliProgress.SingleBar({ format: 'compacting [{bar}] {percentage}% | {value}/{total} rows', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : null
  try {
    await mkdir(values.out, { recursive: true })
    let started = false
    const result = await compact({
      inputs: positionals.map(path => ({ path, label: path })),
      outDir: values.out,
      frequencyMs,
      targetFileBytes,
      recordsPerFile,
      dateint,
      organizationId: values['organization-id'],
      onProgress: bar
        ? (read, total) => {
            if (!started) bar.start(total, 0)
            started = true
            bar.update(read)
          }
        : undefined,
    })
    bar?.stop()
    await writeFile(join(values.out, 'manifest.json'), toJson(result) + '\n')
    if (!values.quiet) io.out.write(summary(result, values.out) + '\n')
    return 0
  } catch (err) {
    bar?.stop()
    return fail(io.err, err)
  }
}

/** `serve`: starts the HTTP service and resolves with its exit code once a signal has drained it. */
async function serveCommand (argv: readonly string[], io: { out: NodeJS.WritableStream, err: NodeJS.WritableStream }): Promise<number> {
  let values
  try {
    ({ values } = parseArgs({ args: [...argv], options: { port: { type: 'string' }, host: { type: 'string' }, 'storage-root': { type: 'string' } } }))
  } catch (err) {
    return usageError(io.err, (err as Error).message)
  }
  const port = integerOption(values.port, undefined)
  if (port === null || (port !== undefined && port > 65535)) return usageError(io.err, `--port must be a port number, got '${values.port}'`)
  try {
    // loaded here, so that `compact` does not pay for the HTTP stack
    const [{ loadConfig }, { serve }] = await Promise.all([import('./config.ts'), import('./main.ts')])
    const overrides = { port, host: values.host, storageRoot: values['storage-root'] && resolve(values['storage-root']) }
    const config = loadConfig(undefined, Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)))
    const server = await serve(config)
    const signal = await new Promise<string>(resolveSignal => {
      process.once('SIGTERM', () => resolveSignal('SIGTERM'))
      process.once('SIGINT', () => resolveSignal('SIGINT'))
    })
    server.app.log.info({ signal }, 'shutting down')
    return (await server.shutdown()) ? 0 : 1
  } catch (err) {
    return fail(io.err, err)
  }
}

/** One line a person reads after a run. */
export function summary ({ files, report }: CompactionResult, outDir: string): string {
  const dropped = Object.entries(report.dropped).filter(([, n]) => n > 0)
  const drops = dropped.length === 0 ? 'none dropped' : `dropped ${dropped.map(([reason, n]) => `${n} ${reason}`).join(', ')}`
  return `compacted ${report.inputs.length} file(s), ${report.rows_in} rows -> ${report.rows_out} rows in ${files.length} file(s) ` +
    `(${report.sketch_merges} sketch merges, ${drops}) in ${(report.duration_ms / 1000).toFixed(2)} s -> ${outDir}`
}

function integerOption<T extends number | undefined> (text: string | undefined, fallback: T): number | null | T {
  if (text === undefined) return fallback
  return /^\d+$/.test(text) ? Number(text) : null
}

function usageError (err: NodeJS.WritableStream, message: string): number {
  err.write(`metric-compactor: ${message}\n${USAGE}`)
  return 2
}

function fail (err: NodeJS.WritableStream, error: unknown): number {
  if (error instanceof CompactorError) err.write(`metric-compactor: ${error.code}: ${error.message}\n`)
  else err.write(`metric-compactor: CMP_ERR_INTERNAL: ${error instanceof Error ? error.message : String(error)}\n`)
  return 1
}
