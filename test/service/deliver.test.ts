// deliver() on a tar: it resolves to the report once the archive is complete, and to the error that
// broke the stream after its first byte (the route counts that compaction as failed, not ok).
import t from 'tap'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyBaseLogger, FastifyReply } from 'fastify'
import type { CompactionReport, SegmentMeta } from '../../src/compaction/index.ts'
import { CompactorError } from '../../src/errors.ts'
import { deliver } from '../../src/service/deliver.ts'
import type { CompactionJob, JobRunner } from '../../src/service/job.ts'
import { TempSpace } from '../../src/storage/temp.ts'

const job = { inputs: [], entries: [], frequencyMs: 10_000, targetFileBytes: 2 * 1024 * 1024, recordsPerFile: 1, organizationId: undefined, dateint: undefined, instanceNum: undefined, delivery: { kind: 'tar' } } satisfies CompactionJob
const file = { segment_id: 1n, file_name: 'tbl_1.parquet', record_count: 1, file_size: 4, ts_range: [0, 1], metric_names: [], metric_types: [], fingerprints: [], sort_version: 3 } satisfies SegmentMeta
const report = { rows_in: 1 } as CompactionReport

/** A reply that takes the tar body and drains it; `sent` tells whether the answer began. */
function fakeReply (): { reply: FastifyReply, sent: () => boolean } {
  let sent = false
  const reply = {
    code: () => reply,
    type: () => reply,
    header: () => reply,
    send: (body: NodeJS.ReadableStream) => {
      sent = true
      body.on('error', () => {}).resume()
      return reply
    },
  }
  return { reply: reply as unknown as FastifyReply, sent: () => sent }
}

const log = { error: () => {} } as unknown as FastifyBaseLogger

/** A runner that writes one output file, hands it over, then ends as `end` says. */
function runner (end: () => Promise<never> | Promise<void>): JobRunner {
  return async (_job, outDir, onFile) => {
    await writeFile(join(outDir, file.file_name), 'PAR1')
    await onFile(file)
    await end()
    return { files: [file], report }
  }
}

t.test('a tar answered whole resolves to the report', async t => {
  const space = await TempSpace.create(join(t.testdir(), 'tmp-'), 1 << 20)
  t.teardown(() => space.close())
  const { reply, sent } = fakeReply()
  const temp = await space.forRequest()
  const result = await deliver(job, reply, { storage: undefined as never, temp, log, run: runner(async () => {}) })
  t.ok(sent())
  t.equal(result, report)
})

t.test('a failure after the tar began resolves to the catalogued error instead of throwing', async t => {
  const space = await TempSpace.create(join(t.testdir(), 'tmp-'), 1 << 20)
  t.teardown(() => space.close())
  for (const [thrown, code] of [[new CompactorError('CMP_ERR_COMPACTION_OOM'), 'CMP_ERR_COMPACTION_OOM'], [new Error('disk gone'), 'CMP_ERR_INTERNAL']] as const) {
    const { reply, sent } = fakeReply()
    const temp = await space.forRequest()
    const result = await deliver(job, reply, { storage: undefined as never, temp, log, run: runner(async () => { throw thrown }) })
    await temp.dispose()
    t.ok(sent(), 'the answer had begun')
    t.ok(result instanceof CompactorError)
    t.equal((result as CompactorError).code, code)
  }
})

t.test('a failure before the first byte is thrown', async t => {
  const space = await TempSpace.create(join(t.testdir(), 'tmp-'), 1 << 20)
  t.teardown(() => space.close())
  const { reply, sent } = fakeReply()
  const temp = await space.forRequest()
  const run: JobRunner = async () => { throw new CompactorError('CMP_ERR_BAD_PARQUET') }
  await t.rejects(deliver(job, reply, { storage: undefined as never, temp, log, run }), { code: 'CMP_ERR_BAD_PARQUET' })
  await temp.dispose()
  t.notOk(sent())
})
