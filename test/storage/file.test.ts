// file: URLs and the storage root: lexical checks first, then on the opened descriptors (an input's
// real path and type, an output's folders one at a time).
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdir, readFile, readdir, rename, stat, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { FileStore, joinUrl } from '../../src/storage/file.ts'
import type { LocalSegment } from '../../src/storage/store.ts'

/** A fetched segment's path and size; its descriptor closed. */
async function fetched (segment: Promise<LocalSegment>): Promise<{ path: string, bytes: number }> {
  const { path, bytes, handle } = await segment
  await handle?.close()
  return { path, bytes }
}

/** The descriptors this process has open. */
async function openDescriptors (): Promise<number> {
  return (await readdir('/proc/self/fd')).length
}

t.test('pathOf: root-relative and absolute forms, both confined to the root', async t => {
  const store = new FileStore('/srv/lake')
  t.equal(store.pathOf('file:db/a.parquet'), '/srv/lake/db/a.parquet')
  t.equal(store.pathOf('file:///srv/lake/db/a.parquet'), '/srv/lake/db/a.parquet')
  t.equal(store.pathOf('file:db/a%20b.parquet'), '/srv/lake/db/a b.parquet', 'percent-decoded')
  for (const url of ['file:../x', 'file:db/../../x', 'file:///srv/lakehouse/x', 'file:///etc/passwd', 'file:%2e%2e/x', 'file:/srv/lake/../x']) {
    t.throws(() => store.pathOf(url), { code: 'CMP_ERR_PATH_FORBIDDEN' }, url)
  }
  for (const url of ['file://host/srv/lake/x', 'file:%zz', 'file:a%00b', 'http://x/y']) {
    t.throws(() => store.pathOf(url), { code: 'CMP_ERR_BAD_URL' }, url)
  }
})

t.test('the lexical check needs no file system: a root that does not exist still refuses traversal', async t => {
  const store = new FileStore('/no/such/root')
  await t.rejects(store.fetch('file:../../etc/passwd', 'x'), { code: 'CMP_ERR_PATH_FORBIDDEN' })
})

t.test('fetch: real files inside the root; symlinks out of it refused; missing files not found', async t => {
  const dir = t.testdir({ root: { 'a.parquet': 'A', sub: { 'b.parquet': 'B' } }, outside: { 'c.parquet': 'C' } })
  const root = join(dir, 'root')
  await symlink(join(root, 'sub', 'b.parquet'), join(root, 'inner-link.parquet'))
  await symlink(join(dir, 'outside', 'c.parquet'), join(root, 'outer-link.parquet'))
  const store = new FileStore(root)
  t.same(await fetched(store.fetch('file:a.parquet', 'a')), { path: join(root, 'a.parquet'), bytes: 1 })
  t.same(await fetched(store.fetch('file:inner-link.parquet', 'l')), { path: join(root, 'sub', 'b.parquet'), bytes: 1 }, 'a symlink inside the root is followed')
  await t.rejects(store.fetch('file:outer-link.parquet', 'o'), { code: 'CMP_ERR_PATH_FORBIDDEN' })
  await t.rejects(store.fetch('file:gone.parquet', 'g'), { code: 'CMP_ERR_INPUT_NOT_FOUND', details: { file: 'g' } })
  await t.rejects(store.fetch('file:sub', 'd'), { code: 'CMP_ERR_BAD_PARQUET' }, 'a directory is not a segment')
  await t.rejects(store.fetch(pathToFileURL(join(dir, 'outside', 'c.parquet')).href, 'c'), { code: 'CMP_ERR_PATH_FORBIDDEN' })
})

t.test('put: a copy to <prefix>/<key> through a unique name, folders made inside the root only; the URL back', async t => {
  const dir = t.testdir({ root: {}, outside: {}, 'src.parquet': 'DATA' })
  const root = join(dir, 'root')
  await mkdir(join(root, 'lake'))
  await symlink(join(dir, 'outside'), join(root, 'lake', 'escape'))
  const store = new FileStore(root)
  t.equal(await store.put('file:lake', 'db/x/tbl_1.parquet', join(dir, 'src.parquet')), 'file:lake/db/x/tbl_1.parquet')
  t.equal(await readFile(join(root, 'lake', 'db', 'x', 'tbl_1.parquet'), 'utf8'), 'DATA')
  t.same(await readdir(join(root, 'lake', 'db', 'x')), ['tbl_1.parquet'], 'no temporary name is left')
  await t.rejects(store.put('file:lake/escape', 'db/tbl_2.parquet', join(dir, 'src.parquet')), { code: 'CMP_ERR_PATH_FORBIDDEN' })
  t.equal(await store.put('file:', 'top.parquet', join(dir, 'src.parquet')), 'file:top.parquet', 'file: alone is the root')
  t.equal(await readFile(join(root, 'top.parquet'), 'utf8'), 'DATA')
  t.equal(joinUrl('s3://b/p/', 'k'), 's3://b/p/k')
  t.equal(joinUrl('s3://b/p', 'k'), 's3://b/p/k')
})

t.test('put never replaces a file under its final name: the same bytes are left, different ones are CMP_ERR_OUTPUT', async t => {
  const dir = t.testdir({ root: { lake: {} }, 'same.parquet': 'DATA', 'other.parquet': 'OTHER' })
  const root = join(dir, 'root')
  const store = new FileStore(root)
  const target = join(root, 'lake', 'tbl_1.parquet')
  await store.put('file:lake', 'tbl_1.parquet', join(dir, 'same.parquet'))
  const placed = (await stat(target)).ino
  t.equal(await store.put('file:lake', 'tbl_1.parquet', join(dir, 'same.parquet')), 'file:lake/tbl_1.parquet', 'a retry with the same bytes succeeds')
  t.equal((await stat(target)).ino, placed, 'and leaves the placed file as it is')
  await t.rejects(store.put('file:lake', 'tbl_1.parquet', join(dir, 'other.parquet')), { code: 'CMP_ERR_OUTPUT' })
  t.equal(await readFile(target, 'utf8'), 'DATA', 'the file under its final name is untouched')
  t.same(await readdir(join(root, 'lake')), ['tbl_1.parquet'], 'no temporary name is left')
  // identical writers at once: every one succeeds, one file remains
  await Promise.all(Array.from({ length: 8 }, () => store.put('file:lake', 'tbl_2.parquet', join(dir, 'same.parquet'))))
  t.same((await readdir(join(root, 'lake'))).sort(), ['tbl_1.parquet', 'tbl_2.parquet'])
})

t.test('checkPrefix: inside the root, through no symlink out of it, and a directory (or not there yet)', async t => {
  const dir = t.testdir({ root: { lake: {}, 'file.parquet': 'X' }, outside: {} })
  const root = join(dir, 'root')
  await symlink(join(dir, 'outside'), join(root, 'escape'))
  const store = new FileStore(root)
  await store.checkPrefix('file:lake')
  await store.checkPrefix('file:')
  await store.checkPrefix('file:new/folder')
  await t.rejects(store.checkPrefix('file:../elsewhere'), { code: 'CMP_ERR_PATH_FORBIDDEN' })
  await t.rejects(store.checkPrefix('file:escape/lake'), { code: 'CMP_ERR_PATH_FORBIDDEN' })
  await t.rejects(store.checkPrefix('file:file.parquet'), { code: 'CMP_ERR_BAD_URL' })
  await t.rejects(store.checkPrefix('file:file.parquet/under'), { code: 'CMP_ERR_BAD_URL' })
})

t.test('fetch opens once and reads through its descriptor: identity, the bytes it checked, nothing else left open', async t => {
  const dir = t.testdir({ root: { 'a.parquet': 'AAAA' } })
  const root = join(dir, 'root')
  const store = new FileStore(root)
  const before = await openDescriptors()
  const segment = await store.fetch('file:a.parquet', 'a')
  const info = await stat(join(root, 'a.parquet'), { bigint: true })
  t.same(segment.identity, { dev: info.dev, ino: info.ino })
  // the name now holds another file: the descriptor still reads the one checked
  await rename(join(root, 'a.parquet'), join(root, 'moved.parquet'))
  t.equal((await segment.handle!.readFile()).toString(), 'AAAA')
  await segment.handle!.close()
  await t.rejects(store.fetch('file:../../../etc/passwd', 'x'), { code: 'CMP_ERR_PATH_FORBIDDEN' })
  await t.rejects(store.fetch('file:a.parquet', 'a'), { code: 'CMP_ERR_INPUT_NOT_FOUND' })
  t.equal(await openDescriptors(), before, 'every descriptor closed')
})

t.test('a FIFO input fails fast with 400, inside the root or swapped in through a symlink: no open blocks', { timeout: 5000 }, async t => {
  const dir = t.testdir({ root: {}, outside: {} })
  const root = join(dir, 'root')
  execFileSync('mkfifo', [join(root, 'pipe.parquet'), join(dir, 'outside', 'pipe.parquet')])
  await symlink(join(root, 'pipe.parquet'), join(root, 'to-pipe.parquet'))
  await symlink(join(dir, 'outside', 'pipe.parquet'), join(root, 'to-outer-pipe.parquet'))
  const store = new FileStore(root)
  const before = await openDescriptors()
  await t.rejects(store.fetch('file:pipe.parquet', 'p'), { code: 'CMP_ERR_BAD_PARQUET', message: /not a regular file/, details: { file: 'p' } })
  await t.rejects(store.fetch('file:to-pipe.parquet', 'l'), { code: 'CMP_ERR_BAD_PARQUET', message: /not a regular file/ })
  await t.rejects(store.fetch('file:to-outer-pipe.parquet', 'o'), { code: 'CMP_ERR_PATH_FORBIDDEN' }, 'outside the root is 403 first')
  t.equal(await openDescriptors(), before, 'every descriptor closed')
})

t.test('a device file is not a segment (400), inside the root or through a symlink', { timeout: 5000 }, async t => {
  const dir = t.testdir({ root: {} })
  const root = join(dir, 'root')
  await symlink('/dev/zero', join(root, 'zero.parquet'))
  await symlink('/dev/null', join(root, 'null.parquet'))
  const store = new FileStore(root)
  // a device is outside the root: 403 before its type matters
  await t.rejects(store.fetch('file:zero.parquet', 'z'), { code: 'CMP_ERR_PATH_FORBIDDEN' })
  await t.rejects(store.fetch(pathToFileURL('/dev/null').href, 'n'), { code: 'CMP_ERR_PATH_FORBIDDEN' })
  // a root that holds a device itself (here: the root is /dev): not a regular file
  const devStore = new FileStore('/dev')
  await t.rejects(devStore.fetch('file:zero', 'z'), { code: 'CMP_ERR_BAD_PARQUET', message: /not a regular file/ })
  await t.rejects(devStore.fetch('file:null', 'n'), { code: 'CMP_ERR_BAD_PARQUET', message: /not a regular file/ })
})

t.test('a symlink out of the root is refused at the last name and at any folder on the way, inputs and outputs', async t => {
  const dir = t.testdir({ root: { lake: {}, seg: { 'in.parquet': 'IN' } }, outside: { 'secret.parquet': 'SECRET', folder: { 'secret.parquet': 'SECRET' } }, 'src.parquet': 'DATA' })
  const root = join(dir, 'root')
  await symlink(join(dir, 'outside', 'secret.parquet'), join(root, 'seg', 'last.parquet'))
  await symlink(join(dir, 'outside', 'folder'), join(root, 'seg', 'folder'))
  await symlink(join(dir, 'outside', 'folder'), join(root, 'lake', 'db'))
  await symlink(join(root, 'seg'), join(root, 'inner'))
  const store = new FileStore(root)
  await t.rejects(store.fetch('file:seg/last.parquet', 'l'), { code: 'CMP_ERR_PATH_FORBIDDEN' }, 'the last name')
  await t.rejects(store.fetch('file:seg/folder/secret.parquet', 'f'), { code: 'CMP_ERR_PATH_FORBIDDEN' }, 'a folder')
  t.same(await fetched(store.fetch('file:inner/in.parquet', 'i')), { path: join(root, 'seg', 'in.parquet'), bytes: 2 }, 'a folder symlink inside the root is followed')
  await t.rejects(store.checkPrefix('file:lake/db'), { code: 'CMP_ERR_PATH_FORBIDDEN' })
  await t.rejects(store.checkPrefix('file:lake/db/x/y'), { code: 'CMP_ERR_PATH_FORBIDDEN' })
  await t.rejects(store.put('file:lake', 'db/x/tbl_1.parquet', join(dir, 'src.parquet')), { code: 'CMP_ERR_PATH_FORBIDDEN' }, 'a folder of the key')
  await store.checkPrefix('file:inner')
  t.equal(await store.put('file:inner', 'x/tbl_2.parquet', join(dir, 'src.parquet')), 'file:inner/x/tbl_2.parquet', 'a prefix through a symlink inside the root')
  t.equal(await readFile(join(root, 'seg', 'x', 'tbl_2.parquet'), 'utf8'), 'DATA')
  t.same(await readdir(join(dir, 'outside', 'folder')), ['secret.parquet'], 'nothing made outside the root')
})

t.test('put into a folder swapped for a symlink out of the root: refused, nothing written outside, no temporary name left', async t => {
  const dir = t.testdir({ root: { lake: { db: {} } }, outside: { 'keep.txt': 'K' }, 'src.parquet': 'DATA' })
  const root = join(dir, 'root')
  const store = new FileStore(root)
  t.equal(await store.put('file:lake', 'db/h/tbl_1.parquet', join(dir, 'src.parquet')), 'file:lake/db/h/tbl_1.parquet')
  await rename(join(root, 'lake', 'db'), join(root, 'lake', 'db-real'))
  await symlink(join(dir, 'outside'), join(root, 'lake', 'db'))
  await t.rejects(store.put('file:lake', 'db/h/tbl_2.parquet', join(dir, 'src.parquet')), { code: 'CMP_ERR_PATH_FORBIDDEN' })
  await t.rejects(store.put('file:lake', 'db/tbl_3.parquet', join(dir, 'src.parquet')), { code: 'CMP_ERR_PATH_FORBIDDEN' })
  t.same(await readdir(join(dir, 'outside')), ['keep.txt'], 'nothing made or left outside the root')
  t.same(await readdir(join(root, 'lake', 'db-real', 'h')), ['tbl_1.parquet'], 'the file placed before is untouched')
})

t.test('put: a symlink or a FIFO under the final name is never followed, opened for long nor replaced', { timeout: 5000 }, async t => {
  const dir = t.testdir({ root: { lake: {} }, outside: { 'same.parquet': 'DATA' }, 'src.parquet': 'DATA' })
  const root = join(dir, 'root')
  await symlink(join(dir, 'outside', 'same.parquet'), join(root, 'lake', 'tbl_1.parquet'))
  execFileSync('mkfifo', [join(root, 'lake', 'tbl_2.parquet')])
  const store = new FileStore(root)
  const before = await openDescriptors()
  await t.rejects(store.put('file:lake', 'tbl_1.parquet', join(dir, 'src.parquet')), { code: 'CMP_ERR_OUTPUT' }, 'a symlink there, even to the same bytes')
  await t.rejects(store.put('file:lake', 'tbl_2.parquet', join(dir, 'src.parquet')), { code: 'CMP_ERR_OUTPUT' }, 'a FIFO there')
  t.equal(await openDescriptors(), before, 'every descriptor closed')
  t.same((await readdir(join(root, 'lake'))).sort(), ['tbl_1.parquet', 'tbl_2.parquet'], 'no temporary name is left')
  t.equal(await readFile(join(dir, 'outside', 'same.parquet'), 'utf8'), 'DATA')
})
