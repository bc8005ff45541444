// A small seeded PRNG (sfc32, seeded through splitmix32): the generator's only source of
// randomness, so the same seed writes the same bytes on any machine.

/** Deterministic pseudo-random numbers from a 32-bit seed. */
export class Prng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor (seed: number) {
    let s = seed >>> 0
    const next = (): number => {
      s = (s + 0x9E3779B9) | 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85EBCA6B)
      z = Math.imul(z ^ (z >>> 13), 0xC2B2AE35)
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = next()
    this.b = next()
    this.c = next()
    this.d = next()
    for (let i = 0; i < 12; i++) this.u32()
  }

  /** A uniform 32-bit unsigned integer. */
  u32 (): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** A uniform double in [0, 1). */
  next (): number {
    return this.u32() / 4294967296
  }

  /** A uniform integer in [0, n). */
  int (n: number): number {
    return Math.floor(this.next() * n)
  }

  /** A uniform integer in [lo, hi]. */
  range (lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  /** True with probability p. */
  chance (p: number): boolean {
    return this.next() < p
  }

  /** One element of a non-empty array. */
  pick<T> (items: readonly T[]): T {
    return items[this.int(items.length)]
  }

  /** A standard normal deviate (Box-Muller). */
  normal (): number {
    const u = 1 - this.next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next())
  }

  /** A value log-uniformly distributed in [lo, hi) (both > 0). */
  logUniform (lo: number, hi: number): number {
    return lo * Math.exp(this.next() * Math.log(hi / lo))
  }
}
