// `file:` URLs, confined to the storage root: a path is checked lexically first (so `..` and absolute
// paths elsewhere are refused without touching them), then on descriptors (so a symlink cannot lead
// out of the root, even one swapped in while a request runs): an input is opened once, without
// blocking, and its descriptor's real path checked before a byte is read; an output's folders are
// opened one at a time under their parent's descriptor and checked before anything is made in them.
// Linux only: names under a descriptor go through /proc/self/fd/N (Node has no openat).
import { randomUUID } from 'node:crypto'
import { constants } from 'node:fs'
import { link, mkdir, open, realpath, unlink, type FileHandle } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkInput, fdPath, openForReading, READ_FLAGS, realPathOf } from '../compaction/index.ts'
import { CompactorError } from '../errors.ts'
import type { LocalSegment, SegmentStore } from './store.ts'

/** A folder: never blocks, fails with ENOTDIR on anything else. */
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NONBLOCK
/** A new name of our own: never an existing one, never through a symlink. */
const PARTIAL_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW
/** Bytes copied at a time into a stored file. */
const COPY_BYTES = 1 << 20

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

  /**
   * Opens a segment URL's file once and checks the descriptor before a byte is read: its real path
   * inside the root (403), a regular file (400 CMP_ERR_BAD_PARQUET); the open cannot block (a FIFO
   * or a device swapped in is refused at once). Returns it open, with its real path and identity (the
   * compaction child opens that path and refuses any other file there). CMP_ERR_INPUT_NOT_FOUND if absent.
   */
  async fetch (url: string, label: string): Promise<LocalSegment> {
    const path = this.pathOf(url)
    const root = await this.realRoot()
    let handle: FileHandle
    try {
      handle = await openForReading(path, label)
    } catch (err) {
      if (err instanceof CompactorError) throw err
      throw new CompactorError('CMP_ERR_BAD_URL', `${label} (${(err as Error).message})`, { url })
    }
    try {
      const real = await realPathOf(handle)
      if (!inside(root, real)) throw new CompactorError('CMP_ERR_PATH_FORBIDDEN', `${url} leads outside the storage root`, { url })
      const { bytes, identity } = await checkInput(handle, label)
      return { path: real, bytes, identity, handle }
    } catch (err) {
      await handle.close()
      throw err
    }
  }

  /**
   * Checks an output prefix before anything is written: inside the root (403), through no symlink
   * leading out of it (403), and not a regular file or under one (400 CMP_ERR_BAD_URL). Its folders
   * are walked from the root through descriptors (walk()); those not there yet are fine.
   */
  async checkPrefix (prefixUrl: string): Promise<void> {
    const path = this.pathOf(prefixUrl)
    const dir = await this.walk(path, prefixUrl, false)
    await dir.close()
  }

  /**
   * Places a local file at `<prefix>/<key>` inside the root and returns its URL. A file under its
   * final name is never replaced nor removed: the copy goes to a name unique to this call, then is
   * linked into place (link never overwrites); when the final name already holds the same bytes (a
   * retry, or an identical request beside this one) it is left as it is. Different bytes under the
   * name, or anything but a regular file there, are CMP_ERR_OUTPUT. The unique name is removed
   * whatever happens. Every name is made and used under a folder's descriptor, the folder checked
   * inside the root first (walk()), so no symlink swapped in on the way can take a write elsewhere.
   */
  async put (prefixUrl: string, key: string, source: string): Promise<string> {
    const url = joinUrl(prefixUrl, key)
    const target = this.pathOf(url)
    const name = basename(target)
    const partial = `.${name}.${randomUUID()}.partial`
    const dir = await this.walk(dirname(target), prefixUrl, true)
    try {
      const from = await open(source, 'r')
      try {
        try {
          const to = await open(fdPath(dir.fd, partial), PARTIAL_FLAGS, 0o666)
          try {
            await copy(from, to)
          } finally {
            await to.close()
          }
          await link(fdPath(dir.fd, partial), fdPath(dir.fd, name)).catch(async (err: NodeJS.ErrnoException) => {
            if (err.code !== 'EEXIST') throw err
            if (!await holdsSameBytes(dir, name, from)) {
              throw new CompactorError('CMP_ERR_OUTPUT', `${url} already holds a different file`, { key })
            }
          })
        } finally {
          await unlink(fdPath(dir.fd, partial)).catch(ignoreMissing)
        }
      } finally {
        await from.close()
      }
    } finally {
      await dir.close()
    }
    return url
  }

  /**
   * Opens the folder at path by walking down from the root one name at a time, each opened under its
   * parent's descriptor (never by its whole path) and its real path checked inside the root before it
   * is used: a symlink inside the root is followed, one leading out of it is 403, a name that is not
   * a folder 400 CMP_ERR_BAD_URL (a prefix's check) or CMP_ERR_OUTPUT (placing a file). With create,
   * missing folders are made; without, the walk stops at the first missing one (the rest is not there
   * yet). Returns the last folder reached, open.
   */
  private async walk (path: string, url: string, create: boolean): Promise<FileHandle> {
    const root = await this.realRoot()
    let dir = await open(root, DIR_FLAGS)
    try {
      await this.checkInside(dir, url)
      let walked = ''
      for (const name of relative(this.root, path).split(sep).filter(n => n !== '')) {
        walked = walked === '' ? name : `${walked}/${name}`
        const at = fdPath(dir.fd, name)
        let next: FileHandle
        try {
          next = create ? await makeAndOpen(at) : await open(at, DIR_FLAGS)
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code
          if (code === 'ENOENT' && !create) break
          if (code === 'ENOTDIR' && !inside(root, await realpath(at).catch(() => root))) {
            throw new CompactorError('CMP_ERR_PATH_FORBIDDEN', `${url} leads outside the storage root`, { url })
          }
          // a prefix is refused before anything runs (400); an output that cannot be placed is CMP_ERR_OUTPUT
          const failed = create ? 'CMP_ERR_OUTPUT' : 'CMP_ERR_BAD_URL'
          if (code === 'ENOTDIR') throw new CompactorError(failed, `${url}: ${walked} (under the storage root) is not a directory`, { url })
          // gone while it was walked (a folder removed or swapped meanwhile), a broken symlink, no permission
          throw new CompactorError(failed, `${url}: ${walked} (${code ?? (err as Error).message})`, { url }, { cause: err })
        }
        await dir.close()
        dir = next
        await this.checkInside(dir, url)
      }
      return dir
    } catch (err) {
      await dir.close()
      throw err
    }
  }

  /** Throws CMP_ERR_PATH_FORBIDDEN unless the folder a descriptor is open on lies inside the root. */
  private async checkInside (dir: FileHandle, url: string): Promise<void> {
    if (!inside(await this.realRoot(), await realPathOf(dir))) {
      throw new CompactorError('CMP_ERR_PATH_FORBIDDEN', `${url} leads outside the storage root`, { url })
    }
  }

  private realRoot (): Promise<string> {
    this.rootReal ??= mkdir(this.root, { recursive: true }).then(() => realpath(this.root))
    return this.rootReal
  }
}

/** `prefix/key` with exactly one slash between them (`file:` alone is the root: `file:key`). */
export function joinUrl (prefix: string, key: string): string {
  if (prefix === 'file:') return prefix + key
  return prefix.endsWith('/') ? prefix + key : `${prefix}/${key}`
}

/** Opens the folder at a name, made first if absent; made again if it goes between the two (an empty folder removed meanwhile). */
async function makeAndOpen (at: string): Promise<FileHandle> {
  for (let attempt = 1; ; attempt++) {
    await mkdir(at).catch(ignoreExisting)
    try {
      return await open(at, DIR_FLAGS)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 3) throw err
    }
  }
}

/** Copies a file's bytes from one open descriptor to another. */
async function copy (from: FileHandle, to: FileHandle): Promise<void> {
  const buffer = Buffer.alloc(COPY_BYTES)
  for (;;) {
    const { bytesRead } = await from.read(buffer, 0, buffer.length, null)
    if (bytesRead === 0) return
    for (let done = 0; done < bytesRead;) done += (await to.write(buffer, done, bytesRead - done)).bytesWritten
  }
}

/**
 * Whether the name under a folder's descriptor is a regular file holding the bytes of `file`: opened
 * without following a symlink and without blocking, and checked with fstat before it is read.
 */
async function holdsSameBytes (dir: FileHandle, name: string, file: FileHandle): Promise<boolean> {
  let existing: FileHandle
  try {
    existing = await open(fdPath(dir.fd, name), READ_FLAGS | constants.O_NOFOLLOW)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') return false // a symlink: never ours
    throw err
  }
  try {
    const info = await existing.stat()
    return info.isFile() && await sameBytes(existing, file)
  } finally {
    await existing.close()
  }
}

/** Whether two open files hold the same bytes. */
export async function sameBytes (a: FileHandle, b: FileHandle): Promise<boolean> {
  const [sa, sb] = await Promise.all([a.stat(), b.stat()])
  if (sa.size !== sb.size) return false
  const ba = Buffer.alloc(1 << 16)
  const bb = Buffer.alloc(1 << 16)
  for (let position = 0; position < sa.size; position += ba.length) {
    const [ra, rb] = await Promise.all([a.read(ba, 0, ba.length, position), b.read(bb, 0, bb.length, position)])
    if (ra.bytesRead !== rb.bytesRead || !ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false
  }
  return true
}

function ignoreExisting (err: NodeJS.ErrnoException): void {
  if (err.code !== 'EEXIST') throw err
}

function ignoreMissing (err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err
}

/** Whether path is the root itself or lies under it (lexically: both must be absolute and normalised). */
function inside (root: string, path: string): boolean {
  const rel = relative(root, path)
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel) && join(root, rel) === path)
}
