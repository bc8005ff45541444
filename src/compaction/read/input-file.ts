// Opening an input file once, safely, and reading it through that descriptor only: a file named by a
// path that someone else can change (a symlink swapped in, a FIFO, a device) is checked on the open
// descriptor, never on the name. The open cannot block (O_NONBLOCK: a FIFO or a device opens at
// once, and is then refused as not a regular file), and a process that was told which file to expect
// (its device and inode, checked by another process) refuses any other under the same name.
import { constants } from 'node:fs'
import { open, readlink, type FileHandle } from 'node:fs/promises'
import { CompactorError } from '../../errors.ts'

/** A file's identity on this machine: what another process checked, whatever name it now has. */
export interface FileIdentity {
  readonly dev: bigint
  readonly ino: bigint
}

/** An input opened and checked: read it through handle, close it when done. */
export interface OpenedInput {
  readonly handle: FileHandle
  readonly bytes: number
  readonly identity: FileIdentity
}

/** Read only; never blocks on a FIFO or a device; never makes a terminal the controlling one. */
export const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY

/**
 * Opens path for reading without blocking; throws CMP_ERR_INPUT_NOT_FOUND when absent, and the
 * open's own error otherwise (the caller names it).
 */
export async function openForReading (path: string, label: string): Promise<FileHandle> {
  try {
    return await open(path, READ_FLAGS)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CompactorError('CMP_ERR_INPUT_NOT_FOUND', label, { file: label })
    throw err
  }
}

/**
 * Checks an open input before a byte of it is read: a regular file (else CMP_ERR_BAD_PARQUET), and
 * the expected one when an identity is given (else CMP_ERR_INPUT_NOT_FOUND: the file checked before
 * is no longer under its name). Returns its size and identity.
 */
export async function checkInput (handle: FileHandle, label: string, expected?: FileIdentity): Promise<{ bytes: number, identity: FileIdentity }> {
  const stat = await handle.stat({ bigint: true })
  if (!stat.isFile()) throw new CompactorError('CMP_ERR_BAD_PARQUET', `${label}: not a regular file`, { file: label })
  const identity = { dev: stat.dev, ino: stat.ino }
  if (expected && (expected.dev !== identity.dev || expected.ino !== identity.ino)) {
    throw new CompactorError('CMP_ERR_INPUT_NOT_FOUND', `${label}: the file under its name changed after it was checked (replaced or moved)`, { file: label })
  }
  return { bytes: Number(stat.size), identity }
}

/**
 * Opens an input once and checks it (openForReading, checkInput); the descriptor is closed on any
 * failure. Errors of the open other than a missing file are CMP_ERR_BAD_PARQUET naming the input.
 */
export async function openInput (path: string, label: string, expected?: FileIdentity): Promise<OpenedInput> {
  let handle: FileHandle
  try {
    handle = await openForReading(path, label)
  } catch (err) {
    if (err instanceof CompactorError) throw err
    throw new CompactorError('CMP_ERR_BAD_PARQUET', `${label} (${(err as Error).message})`, { file: label }, { cause: err })
  }
  try {
    return { handle, ...await checkInput(handle, label, expected) }
  } catch (err) {
    await handle.close()
    throw err
  }
}

/** The path `/proc/self/fd/<fd>` stands for, or a name under that directory: Linux resolves it through the descriptor, not by name. */
export function fdPath (fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`
}

/** The real path of what a descriptor is open on, as the kernel knows it now (Linux /proc). */
export async function realPathOf (handle: FileHandle): Promise<string> {
  return await readlink(fdPath(handle.fd))
}
