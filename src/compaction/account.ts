// A compaction's memory reservation as a live account: the reader charges what it is about to
// allocate (a page's declared size, a batch's decoded columns) and an input that does not fit is
// refused (CMP_ERR_INPUT_TOO_COSTLY, 422) before the allocation, not after the process died of it.
import { CompactorError } from '../errors.ts'

interface Holding {
  readonly owner: WeakRef<object>
  readonly bytes: number
}

/** Bytes charged against a limit; decoded batches hold their charges until they are collected. */
export class MemoryAccount {
  readonly limit: number
  private usedBytes = 0
  private readonly holdings = new Set<Holding>()
  private readonly registry = new FinalizationRegistry<Holding>(holding => this.drop(holding))

  /** An account of limitBytes (Infinity: unlimited, as the CLI runs). */
  constructor (limitBytes: number) {
    if (!(limitBytes >= 0)) throw new CompactorError('CMP_ERR_BAD_ARGUMENT', `memory limit must be a byte count, got ${limitBytes}`, { field: 'memoryLimitBytes' })
    this.limit = limitBytes
  }

  /** Bytes charged and not yet released. */
  get used (): number {
    return this.usedBytes
  }

  /**
   * Charges bytes about to be allocated for `file`'s data; throws CMP_ERR_INPUT_TOO_COSTLY naming
   * the file and the bytes when they do not fit, even once garbage has been collected.
   */
  charge (bytes: number, file: string | undefined): void {
    if (this.usedBytes + bytes > this.limit) this.collect()
    if (this.usedBytes + bytes > this.limit) {
      const needed = this.usedBytes + bytes
      throw new CompactorError('CMP_ERR_INPUT_TOO_COSTLY',
        `${file === undefined ? '' : `${file}: `}${bytes} more bytes would bring the compaction to ${needed}, over the ${this.limit} reserved for it`,
        { file, needed_bytes: needed, budget_bytes: this.limit })
    }
    this.usedBytes += bytes
  }

  /** Gives back bytes charged earlier (their memory is garbage now). */
  release (bytes: number): void {
    this.usedBytes -= bytes
  }

  /** Ties bytes already charged to an object: they are released once it is garbage collected. */
  hold (owner: object, bytes: number): void {
    if (bytes <= 0) return
    const holding: Holding = { owner: new WeakRef(owner), bytes }
    this.holdings.add(holding)
    this.registry.register(owner, holding)
  }

  // Collects garbage where the process allows it (the service's children run with --expose-gc), then
  // releases the holdings of objects that are gone. gc() clears WeakRefs synchronously while
  // finalizers only run on a later task: sweeping here lets a charge deep in synchronous page
  // decoding retry at once, with no await. The finalizers release the same holdings when no charge asks.
  private collect (): void {
    globalThis.gc?.()
    for (const holding of this.holdings) if (holding.owner.deref() === undefined) this.drop(holding)
  }

  private drop (holding: Holding): void {
    if (this.holdings.delete(holding)) this.usedBytes -= holding.bytes
  }
}

/**
 * The charges run up while one batch is decoded: held by the batch once it is built (released when
 * it is collected), or given back at once when decoding fails.
 */
export class Tab {
  readonly account: MemoryAccount
  /** The segment the batch comes from, named in a refusal. */
  readonly file: string
  private bytes = 0

  constructor (account: MemoryAccount, file: string) {
    this.account = account
    this.file = file
  }

  /** Bytes charged to this tab and not handed over yet. */
  get total (): number {
    return this.bytes
  }

  /** Charges bytes the batch will keep (see MemoryAccount.charge). */
  charge (bytes: number): void {
    this.account.charge(bytes, this.file)
    this.bytes += bytes
  }

  /** Gives back bytes of this tab whose memory the batch no longer keeps. */
  refund (bytes: number): void {
    this.account.release(bytes)
    this.bytes -= bytes
  }

  /** Charges bytes needed only until `use` returns (a decompressed page, a read buffer); returns what `use` returns. */
  scratch<T> (bytes: number, use: () => T): T {
    this.account.charge(bytes, this.file)
    try {
      return use()
    } finally {
      this.account.release(bytes)
    }
  }

  /** Hands the tab's charges to the batch: released when it is garbage collected. */
  heldBy (owner: object): void {
    this.account.hold(owner, this.bytes)
    this.bytes = 0
  }

  /** Gives back everything charged (the batch was not built). */
  close (): void {
    this.refund(this.bytes)
  }
}

/** Builds an object with a new tab for `file`: what it charged is held by the object, or given back if building fails. */
export async function withTab<T extends object> (account: MemoryAccount, file: string, build: (tab: Tab) => Promise<T>): Promise<T> {
  const tab = new Tab(account, file)
  try {
    const built = await build(tab)
    tab.heldBy(built)
    return built
  } catch (err) {
    tab.close()
    throw err
  }
}
