// Temporary space: per-request directories, a shared byte budget, removal on dispose and close.
import t from 'tap'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { TempSpace } from '../../src/storage/temp.ts'

t.test('write() streams to a file and reserves its bytes; dispose() removes it and releases them', async t => {
  const space = await TempSpace.create(join(t.testdir(), 'mc-'), 1000)
  t.teardown(() => space.close())
  const temp = await space.forRequest()
  const { path, bytes } = await temp.write(Readable.from([Buffer.from('hello '), Buffer.from('world')]), 100, () => new Error('too large'))
  t.equal(bytes, 11)
  t.equal(await readFile(path, 'utf8'), 'hello world')
  t.equal(space.bytesInUse, 11)
  await temp.dispose()
  await temp.dispose()
  t.notOk(existsSync(temp.dir))
  t.equal(space.bytesInUse, 0)
  t.equal(space.requestsOpen, 0)
})

t.test('a request whose directory is disposed takes no more space: a write still running or started after fails with CMP_ERR_CANCELLED', async t => {
  const space = await TempSpace.create(join(t.testdir(), 'mc-'), 1000)
  t.teardown(() => space.close())
  const temp = await space.forRequest()
  // a source that goes on after the request has ended (a fetch the client no longer waits for)
  async function * late (): AsyncGenerator<Buffer> {
    yield Buffer.from('before ')
    await temp.dispose()
    yield Buffer.from('after')
  }
  await t.rejects(temp.write(late(), 100, () => new Error('too large')), { code: 'CMP_ERR_CANCELLED' })
  await t.rejects(temp.write(Readable.from([Buffer.from('x')]), 100, () => new Error('too large')), { code: 'CMP_ERR_CANCELLED' })
  t.throws(() => temp.reserve(10), { code: 'CMP_ERR_CANCELLED' })
  t.equal(space.bytesInUse, 0, 'nothing is held for the ended request')
  t.equal(space.requestsOpen, 0)
})

t.test('past maxBytes the write fails with the caller\'s error, past the budget with 413 or 503', async t => {
  const space = await TempSpace.create(join(t.testdir(), 'mc-'), 100)
  t.teardown(() => space.close())
  const temp = await space.forRequest()
  await t.rejects(temp.write(Readable.from([Buffer.alloc(60), Buffer.alloc(60)]), 80, () => new Error('file too large')), { message: 'file too large' })
  await temp.dispose()
  const alone = await space.forRequest()
  t.throws(() => alone.reserve(101), { code: 'CMP_ERR_REQUEST_TOO_LARGE' }, 'more than the whole budget')
  alone.reserve(70)
  const other = await space.forRequest()
  t.throws(() => other.reserve(40), { code: 'CMP_ERR_TEMP_SPACE' }, 'the rest is taken by another request')
  await alone.dispose()
  other.reserve(40)
  await other.dispose()
  t.equal(space.bytesInUse, 0)
})

t.test('close() removes every request directory and the process directory', async t => {
  const space = await TempSpace.create(join(t.testdir(), 'mc-'), 100)
  const temp = await space.forRequest()
  await temp.write(Readable.from([Buffer.from('x')]), 10, () => new Error('x'))
  await space.close()
  t.notOk(existsSync(space.root))
})
