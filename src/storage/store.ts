// What every storage scheme offers the service: check a segment URL without touching it, bring a
// segment to local disk, check an output prefix before a compaction runs, and place an output file
// under a prefix without ever replacing or removing a file already under its final name.
import type { FileHandle } from 'node:fs/promises'
import type { FileIdentity } from '../compaction/index.ts'
import type { RequestTemp } from './temp.ts'

/** A segment on local disk, ready for the engine. */
export interface LocalSegment {
  readonly path: string
  readonly bytes: number
  /**
   * A segment used in place (`file:`) comes opened and checked: read it through `handle` (the caller
   * closes it), and let another process open `path` only as the file `identity` names.
   */
  readonly handle?: FileHandle
  readonly identity?: FileIdentity
}

export interface SegmentStore {
  /** Checks a segment URL's form and policy (root, hosts) without I/O; returns the label errors and reports name it by. */
  checkUrl (url: string): string
  /**
   * Brings a checked segment to local disk (in place, or into the request's temporary directory).
   * The request's signal, once aborted, ends the transfer and rejects with its reason.
   */
  fetch (url: string, label: string, temp: RequestTemp, signal?: AbortSignal): Promise<LocalSegment>
  /** Checks an output prefix before anything is computed or written; a scheme that cannot store throws CMP_ERR_BAD_URL. */
  checkPrefix (prefixUrl: string): Promise<void>
  /**
   * Places a local file at `<prefix>/<key>` and returns its URL. Never replaces or removes what sits
   * under the final name: the same bytes there are left as they are, different ones are CMP_ERR_OUTPUT.
   */
  put (prefixUrl: string, key: string, source: string, signal?: AbortSignal): Promise<string>
}
