// `file:` URLs, confined to the storage root: a path is checked lexically first (so `..` and absolute
// paths elsewhere are refused without touching them), then through realpath (so a symlink cannot
// lead out of the root).
import { randomUUID } from 'node:crypto'
import { copyFile, link, lstat, mkdir, open, realpath, rm, stat } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CompactorError } from '../errors.ts'
import type { LocalSegment, SegmentStore } from './store.ts'

/** The local file system under one root directory. */
export class FileStore implements SegmentStore {
  readonly root: string
  private rootReal: Promise<string> | null = null

  constructor (root: string) {
    this.root = resolve(root)
  }

  /**
   * The absolute path a `file:` URL names, checked to lie inside the root: `file:///abs/path` is
   * absolute, `file:rel/path` is relative to the root. Throws 400 for a malformed URL, 403 outside.
   */
  pathOf (url: string): string {
    if (!url.startsWith('file:')) throw new CompactorError('CMP_ERR_BAD_URL', `not a file: URL: ${url}`, { url })
    let path: string
    try {
      path = url.startsWith('file:/') ? fileURLToPath(url) : resolve(this.root, decodeURIComponent(url.slice('file:'.length)))
    } catch (err) {
      throw new CompactorError('CMP_ERR_BAD_URL', `${url} (${(err as Error).message})`, { url })
    }
    if (path.includes('\0')) throw new CompactorError('CMP_ERR_BAD_URL', url, { url })
    if (!inside(this.root, path)) throw new CompactorError('CMP_ERR_PATH_FORBIDDEN', url, { url })
    return path
  }

  /** Checks a segment URL without touching the file; its label is the URL. */
  checkUrl (url: string): string {
    this.pathOf(url)
    return url
  }

  /** Resolves a segment URL to a real path inside the root (used in place); throws CMP_ERR_INPUT_NOT_FOUND if absent. */
  async fetch (url: string, label: string): Promise<LocalSegment> {
    const path = this.pathOf(url)
    let real: string
    try {
      real = await realpath(path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CompactorError('CMP_ERR_INPUT_NOT_FOUND', label, { file: label })
      throw new CompactorError('CMP_ERR_BAD_URL', `${label} (${(err as Error).message})`, { url })
    }
    if (!inside(await this.realRoot(), real)) throw new CompactorError('CMP_ERR_PATH_FORBIDDEN', `${url} leads outside the storage root`, { url })
    const info = await stat(real)
    if (!info.isFile()) throw new CompactorError('CMP_ERR_BAD_PARQUET', `${label}: not a regular file`, { file: label })
    return { path: real, bytes: info.size }
  }

  /**
   * Checks an output prefix before anything is written: inside the root (403), through no symlink
   * leading out of it (403), and not a regular file or under one (400 CMP_ERR_BAD_URL).
   */
  async checkPrefix (prefixUrl: string): Promise<void> {
    const path = this.pathOf(prefixUrl)
    await this.realRoot()
    const existing = await existingAncestor(path)
    await this.checkReal(existing, prefixUrl)
    if (!(await stat(existing)).isDirectory()) {
      throw new CompactorError('CMP_ERR_BAD_URL', `${prefixUrl}: ${existing === path ? 'the prefix is' : 'a folder on its way is'} not a directory`, { url: prefixUrl })
    }
  }

  /**
   * Places a local file at `<prefix>/<key>` inside the root and returns its URL. A file under its
   * final name is never replaced nor removed: the copy goes to a name unique to this call, then is
   * linked into place (link never overwrites); when the final name already holds the same bytes (a
   * retry, or an identical request beside this one) it is left as it is. Different bytes under the
   * name are CMP_ERR_OUTPUT. The unique name is removed whatever happens.
   */
  async put (prefixUrl: string, key: string, source: string): Promise<string> {
    const url = joinUrl(prefixUrl, key)
    const target = this.pathOf(url)
    await this.realRoot()
    // no symlink on the way may lead out of the root: checked before the folders are made, and after
    await this.checkReal(await existingAncestor(dirname(target)), prefixUrl)
    await mkdir(dirname(target), { recursive: true })
    await this.checkReal(dirname(target), prefixUrl)
    const partial = join(dirname(target), `.${basename(target)}.${randomUUID()}.partial`)
    try {
      await copyFile(source, partial)
      try {
        await link(partial, target)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        if (!await sameBytes(partial, target)) {
          throw new CompactorError('CMP_ERR_OUTPUT', `${url} already holds a different file`, { key })
        }
      }
    } finally {
      await rm(partial, { force: true })
    }
    return url
  }

  /** Throws CMP_ERR_PATH_FORBIDDEN unless the real path of an existing path lies inside the root. */
  private async checkReal (path: string, url: string): Promise<void> {
    if (!inside(await this.realRoot(), await realpath(path))) {
      throw new CompactorError('CMP_ERR_PATH_FORBIDDEN', `${url} leads outside the storage root`, { url })
    }
  }

  private realRoot (): Promise<string> {
    this.rootReal ??= mkdir(this.root, { recursive: true }).then(() => realpath(this.root))
    return this.rootReal
  }
}

/** The path itself if it exists, else its nearest existing ancestor. */
async function existingAncestor (path: string): Promise<string> {
  for (let p = path; ; p = dirname(p)) {
    try {
      await lstat(p)
      return p
    } catch (err) {
      // absent, or under a regular file (ENOTDIR): its parent is nearer to existing
      const code = (err as NodeJS.ErrnoException).code
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(p) === p) throw err
    }
  }
}

/** `prefix/key` with exactly one slash between them (`file:` alone is the root: `file:key`). */
export function joinUrl (prefix: string, key: string): string {
  if (prefix === 'file:') return prefix + key
  return prefix.endsWith('/') ? prefix + key : `${prefix}/${key}`
}

/** Whether two files hold the same bytes. */
export async function sameBytes (a: string, b: string): Promise<boolean> {
  const [fa, fb] = await Promise.all([open(a), open(b)])
  try {
    const [sa, sb] = await Promise.all([fa.stat(), fb.stat()])
    if (sa.size !== sb.size) return false
    const ba = Buffer.alloc(1 << 16)
    const bb = Buffer.alloc(1 << 16)
    for (let position = 0; position < sa.size; position += ba.length) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, ba.length, position), fb.read(bb, 0, bb.length, position)])
      if (ra.bytesRead !== rb.bytesRead || !ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false
    }
    return true
  } finally {
    await Promise.all([fa.close(), fb.close()])
  }
}

/** Whether path is the root itself or lies under it (lexically: both must be absolute and normalised). */
function inside (root: string, path: string): boolean {
  const rel = relative(root, path)
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel) && join(root, rel) === path)
}
