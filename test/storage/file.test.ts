// file: URLs and the storage root: lexical checks first, then realpath.
import t from 'tap'
import { mkdir, readFile, readdir, stat, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { FileStore, joinUrl } from '../../src/storage/file.ts'

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
  t.same(await store.fetch('file:a.parquet', 'a'), { path: join(root, 'a.parquet'), bytes: 1 })
  t.same(await store.fetch('file:inner-link.parquet', 'l'), { path: join(root, 'sub', 'b.parquet'), bytes: 1 }, 'a symlink inside the root is followed')
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
