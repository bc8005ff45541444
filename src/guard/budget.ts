// The memory budget compactions reserve before they start: admitted in arrival order (FIFO) while
// their estimate fits, otherwise waiting in a bounded queue for a bounded time. A request larger
// than the whole budget is refused at once; past the queue or its wait time, CMP_ERR_OVERLOADED.
import { CompactorError } from '../errors.ts'

export interface BudgetOptions {
  /** Bytes all compactions together may reserve. */
  readonly limitBytes: number
  /** Requests that may wait for room at once. */
  readonly maxQueue: number
  /** How long one request waits for room before CMP_ERR_OVERLOADED. */
  readonly queueTimeoutMs: number
}

/** Held bytes of the budget; release() gives them back (once, whatever the number of calls). */
export interface Reservation {
  readonly bytes: number
  release (): void
}

interface Waiter {
  readonly bytes: number
  readonly admit: (reservation: Reservation) => void
  readonly fail: (err: Error) => void
}

/** The shared memory budget with its FIFO admission queue. */
export class MemoryBudget {
  private limit: number
  readonly maxQueue: number
  readonly queueTimeoutMs: number
  private used = 0
  private readonly queue: Waiter[] = []

  constructor (options: BudgetOptions) {
    this.limit = options.limitBytes
    this.maxQueue = options.maxQueue
    this.queueTimeoutMs = options.queueTimeoutMs
  }

  /** Bytes all compactions together may reserve. */
  get limitBytes (): number {
    return this.limit
  }

  /** Changes the limit (the service lowers it once its children's baseline is measured); waiters that now fit are admitted. */
  setLimit (bytes: number): void {
    this.limit = bytes
    this.admitWaiting()
  }

  /** Bytes reserved by compactions admitted and not yet released. */
  get reservedBytes (): number {
    return this.used
  }

  /** Requests waiting for room. */
  get queued (): number {
    return this.queue.length
  }

  /**
   * Reserves bytes: at once when nothing waits and they fit, else after the requests ahead.
   * Rejects with CMP_ERR_OVER_BUDGET (more than the whole budget), CMP_ERR_OVERLOADED (queue full or
   * wait too long), or the signal's reason when it aborts while waiting.
   */
  reserve (bytes: number, signal?: AbortSignal): Promise<Reservation> {
    if (bytes > this.limitBytes) {
      return Promise.reject(new CompactorError('CMP_ERR_OVER_BUDGET', `the compaction needs an estimated ${bytes} bytes, the budget is ${this.limitBytes}`,
        { estimate_bytes: bytes, budget_bytes: this.limitBytes }))
    }
    if (this.queue.length === 0 && this.used + bytes <= this.limitBytes) return Promise.resolve(this.hold(bytes))
    if (this.queue.length >= this.maxQueue) {
      return Promise.reject(new CompactorError('CMP_ERR_OVERLOADED', `${this.queue.length} requests are already waiting`, { queued: this.queue.length }))
    }
    if (signal?.aborted) return Promise.reject(signal.reason)
    return new Promise<Reservation>((resolve, reject) => {
      const leave = (): void => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        const i = this.queue.indexOf(waiter)
        if (i >= 0) this.queue.splice(i, 1)
      }
      const waiter: Waiter = {
        bytes,
        admit: reservation => { leave(); resolve(reservation) },
        fail: err => { leave(); reject(err); this.admitWaiting() },
      }
      const onAbort = (): void => waiter.fail(signal!.reason)
      const timer = setTimeout(() => waiter.fail(new CompactorError('CMP_ERR_OVERLOADED', `no memory budget freed within ${this.queueTimeoutMs} ms`,
        { queue_timeout_ms: this.queueTimeoutMs })), this.queueTimeoutMs)
      signal?.addEventListener('abort', onAbort, { once: true })
      this.queue.push(waiter)
    })
  }

  private hold (bytes: number): Reservation {
    this.used += bytes
    let held = true
    return {
      bytes,
      release: () => {
        if (!held) return
        held = false
        this.used -= bytes
        this.admitWaiting()
      },
    }
  }

  /** Admits waiters from the head of the queue while they fit: a small one never overtakes a big one. */
  private admitWaiting (): void {
    while (this.queue.length > 0 && this.used + this.queue[0].bytes <= this.limitBytes) {
      const head = this.queue[0]
      head.admit(this.hold(head.bytes))
    }
  }
}
