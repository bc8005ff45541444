// The tar writer: archives that tar-stream and GNU tar read back, entry for entry.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { TarWriter, tarHeader, tarPadding } from '../../src/service/tar.ts'
import { readTar } from '../support/http.ts'

async function archive (entries: Array<{ name: string, data: Buffer }>, dir: string): Promise<Buffer> {
  const out = new PassThrough()
  const chunks: Buffer[] = []
  out.on('data', c => chunks.push(c))
  const tar = new TarWriter(out)
  for (const [i, e] of entries.entries()) {
    if (i % 2 === 0) {
      const path = join(dir, `f${i}`)
      await writeFile(path, e.data)
      await tar.addFile(e.name, path, e.data.length)
    } else {
      await tar.addBytes(e.name, e.data)
    }
  }
  await tar.finish()
  out.end()
  return Buffer.concat(chunks)
}

t.test('entries from files and from bytes, of every size around the block boundary, read back intact', async t => {
  const dir = t.testdir()
  const entries = [0, 1, 511, 512, 513, 100_000].map((n, i) => ({ name: `tbl_${i}.parquet`, data: Buffer.alloc(n, i + 1) }))
  entries.push({ name: 'manifest.json', data: Buffer.from('{"files":[]}\n') })
  const bytes = await archive(entries, dir)
  t.equal(bytes.length % 512, 0)
  const back = await readTar(bytes)
  t.same(back.map(e => e.name), entries.map(e => e.name))
  for (const [i, e] of back.entries()) t.ok(e.data.equals(entries[i].data), e.name)
  const file = join(dir, 'out.tar')
  await writeFile(file, bytes)
  t.same(execFileSync('tar', ['tf', file], { encoding: 'utf8' }).trim().split('\n'), entries.map(e => e.name), 'GNU tar lists it')
})

t.test('headers are ustar with a valid checksum; long names and a file that changes size are refused', async t => {
  const header = tarHeader('a.parquet', 1234, 1_700_000_000)
  t.equal(header.length, 512)
  t.equal(header.subarray(257, 263).toString('latin1'), 'ustar\0')
  const stored = parseInt(header.subarray(148, 154).toString('latin1'), 8)
  const copy = Buffer.from(header)
  copy.fill(0x20, 148, 156)
  t.equal(stored, copy.reduce((s, b) => s + b, 0))
  t.equal(tarPadding(512).length, 0)
  t.equal(tarPadding(1).length, 511)
  t.throws(() => tarHeader('x'.repeat(101), 1, 0))
  const dir = t.testdir({ f: 'four' })
  const tar = new TarWriter(new PassThrough().resume())
  await t.rejects(tar.addFile('f', join(dir, 'f'), 10), /changed size/)
})
