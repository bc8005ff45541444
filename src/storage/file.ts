// `file:` URLs, confined to the storage root: a path is checked lexically first (so `..` and absolute
// paths elsewhere are refused without touching them), then through realpath (so a symlink cannot
// lead out of the root).
import { copyFile, lstat, mkdir, realpath, rename, rm, stat } from 'node:fs/promises'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CompactorError } from '../errors.ts'

/** The local file system under one root directory. */
export class FileStore {
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

  /** Resolves a segment URL to a real path inside the root; throws CMP_ERR_INPUT_NOT_FOUND if absent. */
  async segmentPath (url: string, label: string): Promise<{ path: string, bytes: number }> {
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

  /** Copies a local file to `<prefix>/<key>` inside the root, atomically (a partial copy is never visible). */
  async put (prefixUrl: string, key: string, source: string): Promise<string> {
    const target = this.pathOf(joinUrl(prefixUrl, key))
    // no symlink on the way may lead out of the root: checked before the folders are made, and after
    await this.checkReal(await existingAncestor(dirname(target)), prefixUrl)
    await mkdir(dirname(target), { recursive: true })
    await this.checkReal(dirname(target), prefixUrl)
    const partial = `${target}.partial`
    try {
      await copyFile(source, partial)
      await rename(partial, target)
    } catch (err) {
      await rm(partial, { force: true })
      throw err
    }
    return target
  }

  /** Removes `<prefix>/<key>` if it exists. */
  async remove (prefixUrl: string, key: string): Promise<void> {
    await rm(this.pathOf(joinUrl(prefixUrl, key)), { force: true })
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
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(p) === p) throw err
    }
  }
}

/** `prefix/key` with exactly one slash between them. */
export function joinUrl (prefix: string, key: string): string {
  return prefix.endsWith('/') ? prefix + key : `${prefix}/${key}`
}

/** Whether path is the root itself or lies under it (lexically: both must be absolute and normalised). */
function inside (root: string, path: string): boolean {
  const rel = relative(root, path)
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel) && join(root, rel) === path)
}
