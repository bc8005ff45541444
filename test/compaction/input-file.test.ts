// An input is opened once, without blocking, and checked on its descriptor before a byte is read:
// the engine's openSegment (a compaction child) and the estimate's footer read (the service) both
// refuse a FIFO or a device at once, and the child refuses a file other than the one the service checked.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile, readdir, rename, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { compact, contentHash } from '../../src/compaction/compact.ts'
import { openInput } from '../../src/compaction/read/input-file.ts'
import { openSegment } from '../../src/compaction/read/segment.ts'
import { readFooterFigures } from '../../src/guard/footer.ts'
import { twoSegments } from '../support/http.ts'

async function openDescriptors (): Promise<number> {
  return (await readdir('/proc/self/fd')).length
}

t.test('a FIFO or a device is refused at once (400 not a regular file) by the engine and the footer read: no open blocks', { timeout: 5000 }, async t => {
  const dir = t.testdir()
  const fifo = join(dir, 'pipe.parquet')
  execFileSync('mkfifo', [fifo])
  const before = await openDescriptors()
  for (const path of [fifo, '/dev/zero', dir]) {
    await t.rejects(openSegment(path, 0, 'x'), { code: 'CMP_ERR_BAD_PARQUET', message: /not a regular file/, details: { file: 'x' } }, `openSegment ${path}`)
    await t.rejects(readFooterFigures(path, 'x'), { code: 'CMP_ERR_BAD_PARQUET', message: /not a regular file/ }, `readFooterFigures ${path}`)
  }
  await t.rejects(compact({ inputs: [{ path: fifo, label: 'p' }], outDir: join(dir, 'out') }), { code: 'CMP_ERR_BAD_PARQUET', details: { file: 'p' } }, 'the CLI\'s engine, with no root')
  await t.rejects(openSegment(join(dir, 'none.parquet'), 0, 'n'), { code: 'CMP_ERR_INPUT_NOT_FOUND', details: { file: 'n' } })
  t.equal(await openDescriptors(), before, 'every descriptor closed')
})

t.test('the engine opens the file the service checked, or refuses: a file swapped in under the name is CMP_ERR_INPUT_NOT_FOUND', async t => {
  const dir = t.testdir()
  const [a, b] = await twoSegments(dir)
  const checked = await openInput(a, 'a')
  await checked.handle.close()
  const segment = await openSegment(a, 0, 'a', checked.identity)
  t.equal(segment.numRows, 2, 'the same file opens')
  await segment.close()
  // another file now under the checked name
  await rename(a, join(dir, 'aside.parquet'))
  await rename(b, a)
  const before = await openDescriptors()
  await t.rejects(openSegment(a, 0, 'a', checked.identity), { code: 'CMP_ERR_INPUT_NOT_FOUND', message: /changed after it was checked/, details: { file: 'a' } })
  await t.rejects(compact({ inputs: [{ path: a, label: 'a', segmentId: '1', identity: checked.identity }], outDir: join(dir, 'out') }), { code: 'CMP_ERR_INPUT_NOT_FOUND' })
  t.equal(await openDescriptors(), before, 'every descriptor closed')
  const moved = await stat(join(dir, 'aside.parquet'), { bigint: true })
  t.same(checked.identity, { dev: moved.dev, ino: moved.ino }, 'the identity is the file\'s, whatever its name')
})

t.test('an input without a segment id is hashed through its descriptor: the SHA-256 of its bytes', async t => {
  const dir = t.testdir()
  const [a] = await twoSegments(dir)
  const segment = await openSegment(a, 0)
  t.equal(await contentHash(segment.file), createHash('sha256').update(await readFile(a)).digest('hex'))
  await segment.close()
})
