// DDSketch in the sketches-go v1.4 binary encoding (docs/DOMAIN.md section 4): decode-and-merge into a
// reusable accumulator, rollups and quantiles, and the canonical encoding, byte-identical to sketches-go.
// Only the logarithmic mapping of relative accuracy 0.01 (offset 0) is accepted.
import { PERCENTILES, ROLLUP_AVG, ROLLUP_COUNT, ROLLUP_FIRST_PERCENTILE, ROLLUP_MAX, ROLLUP_MIN, ROLLUP_SUM } from './schema.ts'

/** Why a sketch was refused: it does not decode, or it uses another index mapping. */
export type SketchErrorCode = 'bad_sketch' | 'unsupported_mapping'

/** Thrown by the decoders; `code` is stable, the message says what was wrong. */
export class SketchError extends Error {
  readonly code: SketchErrorCode

  constructor (code: SketchErrorCode, message: string) {
    super(message)
    this.name = 'SketchError'
    this.code = code
  }
}

// ---- Index mapping: logarithmic, gamma = 1.01 / 0.99, offset 0 ----

const GAMMA = 1.01 / 0.99
const MULTIPLIER = 1 / Math.log(GAMMA)
const REL_ACC = 1 - 2 / (1 + GAMMA)
const MIN_NORMAL = 2.2250738585072014e-308
const EXP_OVERFLOW = 7.09782712893383973096e+02
const MIN_INDEXABLE = Math.max(Math.exp(-2147483648 / MULTIPLIER + 1), MIN_NORMAL * (1 + REL_ACC) / (1 - REL_ACC))
// The largest |value| the mapping can index: values beyond it cannot be put in a sketch.
export const MAX_INDEXABLE = Math.min(Math.exp(2147483647 / MULTIPLIER - 1), Math.exp(EXP_OVERFLOW) / (1 + REL_ACC))

function indexOf (v: number): number {
  const x = Math.log(v) * MULTIPLIER
  return x >= 0 ? Math.trunc(x) : Math.trunc(x) - 1
}

// No value maps outside [MIN_INDEX, MAX_INDEX] (about +-35,450; past the top, value(i) is infinite), so a
// sketch with a bin there is malformed. The bound also caps what a hostile sketch can make us allocate.
const MIN_INDEX = indexOf(MIN_INDEXABLE)
const MAX_INDEX = indexOf(MAX_INDEXABLE)

// value(i), computed once per index on first use.
const VALUES = new Float64Array(MAX_INDEX - MIN_INDEX + 1).fill(NaN)
function valueOf (index: number): number {
  let v = VALUES[index - MIN_INDEX]
  if (v !== v) v = VALUES[index - MIN_INDEX] = Math.exp(index / MULTIPLIER) * (1 + REL_ACC)
  return v
}

// The mapping block: flag 0x02, gamma and offset as float64 LE.
const MAPPING_FLAG = 0x02
const MAPPING_BLOCK = new Uint8Array(17)
new DataView(MAPPING_BLOCK.buffer).setFloat64(1, GAMMA, true)
MAPPING_BLOCK[0] = MAPPING_FLAG

const ZERO_COUNT_FLAG = 0x04
const POSITIVE = 1
const NEGATIVE = 3
const SPARSE = 0x04 // index deltas and counts
const DELTAS = 0x08 // index deltas, every count 1
const CONTIGUOUS = 0x0c
const EXACT_STAT_FLAGS = [0x84, 0x88, 0x8c, 0xa0] // exact sum, min, max, count: 8 bytes each, ignored

// ---- Numbers: uvarint, varint, varfloat64 (64-bit work done in two 32-bit halves) ----

const F64 = new Float64Array(1)
const U32 = new Uint32Array(F64.buffer)
const LO = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 0 : 1
const HI = 1 - LO
const ONE_HI = 0x3ff00000 // high word of bits(1.0); its low word is 0

let at = 0 // read cursor of the sketch being decoded (decoding is synchronous, never re-entered)
let limit = 0 // end of the sketch's bytes

/** Next uvarint, or -1 when the bytes run out. Above 2^53 the value is approximate, and always refused. */
function readUvarint (b: Uint8Array): number {
  let x = 0
  let scale = 1
  for (let i = 0; ; i++) {
    if (at >= limit) return -1
    const n = b[at++]
    if (n < 0x80 || i === 8) return x + n * scale
    x += (n & 0x7f) * scale
    scale *= 128
  }
}

/** Next zig-zag varint, or NaN when the bytes run out. */
function readVarint (b: Uint8Array): number {
  const u = readUvarint(b)
  if (u < 0) return NaN
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2
}

/** Next varfloat64, or NaN when the bytes run out. */
function readVarfloat (b: Uint8Array): number {
  let hi = 0
  let lo = 0
  for (let i = 0; ; i++) {
    if (at >= limit) return NaN
    const n = b[at++]
    if (i === 8) {
      lo |= n
      break
    }
    const bits = n & 0x7f
    const shift = 57 - 7 * i // the group's position from the top of the 64 bits
    if (shift >= 32) hi |= bits << (shift - 32)
    else {
      lo |= bits << shift
      if (shift > 25) hi |= bits >>> (32 - shift)
    }
    if (n < 0x80) break
  }
  // rotate right by 6, then add bits(1)
  U32[LO] = (lo >>> 6) | (hi << 26)
  U32[HI] = ((hi >>> 6) | (lo << 26)) + ONE_HI
  return F64[0] - 1
}

// rotl64(bits(v + 1) - bits(1), 6) into xHi:xLo
let xHi = 0
let xLo = 0
function varfloatBits (v: number): void {
  F64[0] = v + 1
  const h = (U32[HI] - ONE_HI) >>> 0
  const l = U32[LO]
  xHi = ((h << 6) | (l >>> 26)) >>> 0
  xLo = ((l << 6) | (h >>> 26)) >>> 0
}

function varfloatSize (v: number): number {
  varfloatBits(v)
  let trailingZeros
  if (xLo !== 0) trailingZeros = 31 - Math.clz32(xLo & -xLo)
  else if (xHi !== 0) trailingZeros = 63 - Math.clz32(xHi & -xHi)
  else return 1
  const size = Math.ceil((64 - trailingZeros) / 7)
  return size > 9 ? 9 : size
}

function writeVarfloat (out: Uint8Array, p: number, v: number): number {
  varfloatBits(v)
  let hi = xHi
  let lo = xLo
  for (let i = 0; i < 8; i++) {
    const n = hi >>> 25
    hi = ((hi << 7) | (lo >>> 25)) >>> 0
    lo = (lo << 7) >>> 0
    if (hi === 0 && lo === 0) {
      out[p++] = n
      return p
    }
    out[p++] = n | 0x80
  }
  out[p++] = hi >>> 24
  return p
}

// Indices and bin counts stay far below 2^30 here, so 32-bit arithmetic is exact.
function uvarintSize (u: number): number {
  let size = 1
  while (u >= 0x80) {
    u >>>= 7
    size++
  }
  return size
}

function varintSize (v: number): number {
  return uvarintSize(((v << 1) ^ (v >> 31)) >>> 0)
}

function writeUvarint (out: Uint8Array, p: number, u: number): number {
  while (u >= 0x80) {
    out[p++] = (u & 0x7f) | 0x80
    u >>>= 7
  }
  out[p++] = u
  return p
}

function writeVarint (out: Uint8Array, p: number, v: number): number {
  return writeUvarint(out, p, ((v << 1) ^ (v >> 31)) >>> 0)
}

// ---- Stores ----

/** Bin counts of one sign, dense around a moving offset; keeps its capacity across reset. */
class BinStore {
  bins = new Float64Array(128)
  offset = 0 // the index of bins[0]
  minIndex = 0 // the lowest and highest non-empty indices, when total > 0
  maxIndex = -1
  total = 0
  empty = true
  private sparse = false // the encoding plan() chose, and its number of non-empty bins
  private nonEmpty = 0

  reset (): void {
    if (!this.empty) this.bins.fill(0, this.minIndex - this.offset, this.maxIndex - this.offset + 1)
    this.minIndex = 0
    this.maxIndex = -1
    this.total = 0
    this.empty = true
  }

  add (index: number, count: number): void {
    if (count === 0) return
    if (this.empty) {
      this.offset = index - (this.bins.length >> 1)
      this.minIndex = this.maxIndex = index
      this.empty = false
    } else if (index < this.minIndex || index > this.maxIndex) {
      const rel = index - this.offset
      if (rel < 0 || rel >= this.bins.length) this.extend(index)
      if (index < this.minIndex) this.minIndex = index
      else this.maxIndex = index
    }
    this.bins[index - this.offset] += count
    this.total += count
  }

  // Re-centres the bins so that `index` fits, doubling the capacity when the span needs it.
  private extend (index: number): void {
    const lo = Math.min(index, this.minIndex)
    const span = Math.max(index, this.maxIndex) - lo + 1
    let capacity = this.bins.length
    while (capacity < span) capacity *= 2
    const offset = lo - ((capacity - span) >> 1)
    const from = this.minIndex - this.offset
    const to = this.maxIndex - this.offset + 1
    const dest = this.minIndex - offset
    if (capacity > this.bins.length) {
      const bins = new Float64Array(capacity)
      bins.set(this.bins.subarray(from, to), dest)
      this.bins = bins
    } else {
      this.bins.copyWithin(dest, from, to)
      if (dest > from) this.bins.fill(0, from, Math.min(to, dest))
      else this.bins.fill(0, Math.max(from, dest + to - from), to)
    }
    this.offset = offset
  }

  /** The lowest index whose cumulative count exceeds rank (sketches-go KeyAtRank). */
  indexAtRank (rank: number): number {
    if (rank < 0) rank = 0
    let n = 0
    for (let i = this.minIndex; i <= this.maxIndex; i++) {
      n += this.bins[i - this.offset]
      if (n > rank) return i
    }
    return this.maxIndex
  }

  /** sum of value(i) * count over the bins, ascending. */
  addSum (sum: number, sign: number): number {
    for (let i = this.minIndex; i <= this.maxIndex; i++) {
      const c = this.bins[i - this.offset]
      if (c !== 0) sum += sign * valueOf(i) * c
    }
    return sum
  }

  /** Size of this store's block (0 when empty), choosing contiguous or sparse as sketches-go does. */
  plan (): number {
    if (this.empty) return 0
    const bins = this.bins
    const offset = this.offset
    let dense = uvarintSize(this.maxIndex - this.minIndex + 1) + varintSize(this.minIndex) + 1
    let sparse = 0
    let nonEmpty = 0
    let previous = this.minIndex // sketches-go's estimate starts the deltas here, its encoder at 0
    for (let i = this.minIndex; i <= this.maxIndex; i++) {
      const c = bins[i - offset]
      if (c === 0) {
        dense++ // varfloat64(0) is one byte
        continue
      }
      const size = varfloatSize(c)
      dense += size
      nonEmpty++
      sparse += varintSize(i - previous) + size
      previous = i
    }
    sparse += uvarintSize(nonEmpty)
    this.sparse = dense > sparse
    this.nonEmpty = nonEmpty
    return 1 + (this.sparse ? sparse - 1 + varintSize(this.minIndex) : dense)
  }

  /** Writes the block plan() sized; returns the position after it. */
  write (out: Uint8Array, p: number, type: number): number {
    const bins = this.bins
    const offset = this.offset
    if (!this.sparse) {
      out[p++] = type | CONTIGUOUS
      p = writeUvarint(out, p, this.maxIndex - this.minIndex + 1)
      p = writeVarint(out, p, this.minIndex)
      p = writeVarint(out, p, 1)
      for (let i = this.minIndex; i <= this.maxIndex; i++) {
        const c = bins[i - offset]
        if (c === 0) out[p++] = 0
        else p = writeVarfloat(out, p, c)
      }
      return p
    }
    out[p++] = type | SPARSE
    p = writeUvarint(out, p, this.nonEmpty)
    let previous = 0
    for (let i = this.minIndex; i <= this.maxIndex; i++) {
      const c = bins[i - offset]
      if (c === 0) continue
      p = writeVarint(out, p, i - previous)
      p = writeVarfloat(out, p, c)
      previous = i
    }
    return p
  }
}

// ---- Decoding ----

const OK = 0
const BAD = 1
const OTHER_MAPPING = 2
let failure = '' // what the last failed decode found wrong (a constant string: no allocation)

function fail (why: string, result = BAD): number {
  failure = why
  return result
}

function validCount (c: number): boolean {
  return c >= 0 && c < Infinity
}

function validIndex (i: number): boolean {
  return i >= MIN_INDEX && i <= MAX_INDEX
}

/** Decodes one store block at `at`; adds its bins to `store` when given. */
function decodeBins (b: Uint8Array, encoding: number, store: BinStore | null): number {
  const n = readUvarint(b)
  if (n < 0) return fail('truncated bin count')
  if (n > limit - at) return fail('bin count exceeds the bytes left')
  if (encoding === CONTIGUOUS) {
    let index = readVarint(b)
    const step = readVarint(b)
    if (step !== step) return fail('truncated contiguous bins header')
    for (let k = 0; k < n; k++, index += step) {
      const c = readVarfloat(b)
      if (!validIndex(index)) return fail('bin index out of range')
      if (!validCount(c)) return fail('truncated, negative or non-finite count')
      if (store !== null) store.add(index, c)
    }
    return OK
  }
  if (encoding !== SPARSE && encoding !== DELTAS) return fail('unknown bin encoding')
  let index = 0
  for (let k = 0; k < n; k++) {
    const delta = readVarint(b)
    if (delta !== delta) return fail('truncated index delta')
    index += delta
    if (!validIndex(index)) return fail('bin index out of range')
    const c = encoding === SPARSE ? readVarfloat(b) : 1
    if (!validCount(c)) return fail('truncated, negative or non-finite count')
    if (store !== null) store.add(index, c)
  }
  return OK
}

/** Decodes the sketch in b[start, end); merges it into `acc` when given. Returns OK, BAD or OTHER_MAPPING. */
function decode (b: Uint8Array, acc: SketchAccumulator | null, start: number, end: number): number {
  at = start
  limit = end
  let mapped = false
  while (at < limit) {
    const flag = b[at++]
    const type = flag & 3
    let result = OK
    if (type === POSITIVE || type === NEGATIVE) {
      result = decodeBins(b, flag & 0xfc, acc === null ? null : type === POSITIVE ? acc.positive : acc.negative)
    } else if (type === 2) {
      if (flag !== MAPPING_FLAG) return fail('not the logarithmic mapping', OTHER_MAPPING)
      if (limit - at < 16) return fail('truncated index mapping')
      for (let k = 1; k < 17; k++) {
        if (b[at++] !== MAPPING_BLOCK[k]) return fail('mapping gamma or offset is not the 0.01 one', OTHER_MAPPING)
      }
      mapped = true
    } else if (flag === ZERO_COUNT_FLAG) {
      const c = readVarfloat(b)
      if (!validCount(c)) return fail('bad zero count')
      if (acc !== null) acc.zero += c
    } else if (EXACT_STAT_FLAGS.includes(flag)) {
      if (limit - at < 8) return fail('truncated exact statistic')
      at += 8
    } else return fail('unknown block flag')
    if (result !== OK) return result
  }
  return mapped ? OK : fail('missing index mapping')
}

// ---- The accumulator ----

/** A reusable sketch: merge encoded sketches and values into it, read rollups, encode it. */
export class SketchAccumulator {
  // The decoder writes these directly; everyone else reads the sketch through the methods.
  readonly positive = new BinStore()
  readonly negative = new BinStore()
  zero = 0

  /** Empties the sketch, keeping its memory. */
  reset (): void {
    this.positive.reset()
    this.negative.reset()
    this.zero = 0
  }

  /**
   * Decodes the sketches-go encoded sketch in bytes[start, end) and adds its bins to this one (a merge).
   * Throws SketchError when it does not decode; the accumulator then holds a partial merge: reset it.
   */
  addEncoded (bytes: Uint8Array, start = 0, end = bytes.length): void {
    const result = decode(bytes, this, start, end)
    if (result !== OK) throw new SketchError(result === OTHER_MAPPING ? 'unsupported_mapping' : 'bad_sketch', failure)
  }

  /** Adds `count` occurrences of a value; throws RangeError for NaN, a negative count or |v| beyond the mapping. */
  addValue (v: number, count = 1): void {
    if (!(count >= 0) || v !== v) throw new RangeError(`cannot add ${v} x ${count} to a sketch`)
    if (v > MIN_INDEXABLE) {
      if (v > MAX_INDEXABLE) throw new RangeError(`value ${v} is too large for the sketch mapping`)
      this.positive.add(indexOf(v), count)
    } else if (v < -MIN_INDEXABLE) {
      if (v < -MAX_INDEXABLE) throw new RangeError(`value ${v} is too small for the sketch mapping`)
      this.negative.add(indexOf(-v), count)
    } else this.zero += count
  }

  /** True when nothing was added. */
  isEmpty (): boolean {
    return this.zero === 0 && this.positive.empty && this.negative.empty
  }

  /** Total count: zero bucket plus both stores. */
  count (): number {
    return this.zero + this.positive.total + this.negative.total
  }

  /** Sum of value(i) * count, positives ascending then negatives ascending (sketches-go order). */
  sum (): number {
    return this.negative.addSum(this.positive.addSum(0, 1), -1)
  }

  /** Average, sum / count (NaN when empty). */
  avg (): number {
    return this.sum() / this.count()
  }

  /** Smallest value: -value(highest negative index), else 0 with a zero count, else value(lowest positive index); NaN when empty. */
  min (): number {
    if (!this.negative.empty) return -valueOf(this.negative.maxIndex)
    if (this.zero > 0) return 0
    return this.positive.empty ? NaN : valueOf(this.positive.minIndex)
  }

  /** Largest value, symmetric to min(). */
  max (): number {
    if (!this.positive.empty) return valueOf(this.positive.maxIndex)
    if (this.zero > 0) return 0
    return this.negative.empty ? NaN : -valueOf(this.negative.minIndex)
  }

  /** The value at quantile q (rank q * (count - 1), as sketches-go); NaN when empty or q is outside [0, 1]. */
  quantile (q: number): number {
    const count = this.count()
    if (count === 0 || !(q >= 0 && q <= 1)) return NaN
    const rank = q * (count - 1)
    const negatives = this.negative.total
    if (rank < negatives) return -valueOf(this.negative.indexAtRank(negatives - 1 - rank))
    if (rank < this.zero + negatives) return 0
    return valueOf(this.positive.indexAtRank(rank - this.zero - negatives))
  }

  /** Fills out with the rollups, a slot per column of ROLLUP_COLUMNS (schema.ts). */
  rollups (out: Float64Array): void {
    const count = this.count()
    const sum = this.sum()
    out[ROLLUP_COUNT] = count
    out[ROLLUP_SUM] = sum
    out[ROLLUP_AVG] = sum / count
    out[ROLLUP_MIN] = this.min()
    out[ROLLUP_MAX] = this.max()
    for (let k = 0; k < PERCENTILES.length; k++) out[ROLLUP_FIRST_PERCENTILE + k] = this.quantile(PERCENTILES[k])
  }

  /** The canonical sketches-go encoding: zero count, mapping, positive store, negative store. */
  encode (): Uint8Array {
    const out = new Uint8Array(this.encodedLength())
    this.encodeTo(out, 0)
    return out
  }

  /** Bytes the canonical encoding takes; plans the store layout that encodeTo then writes. */
  encodedLength (): number {
    const zeroSize = this.zero !== 0 ? 1 + varfloatSize(this.zero) : 0
    return zeroSize + MAPPING_BLOCK.length + this.positive.plan() + this.negative.plan()
  }

  /** Writes the canonical encoding at out[p...] (call encodedLength first); returns the end position. */
  encodeTo (out: Uint8Array, p: number): number {
    if (this.zero !== 0) {
      out[p++] = ZERO_COUNT_FLAG
      p = writeVarfloat(out, p, this.zero)
    }
    out.set(MAPPING_BLOCK, p)
    p += MAPPING_BLOCK.length
    if (!this.positive.empty) p = this.positive.write(out, p, POSITIVE)
    if (!this.negative.empty) p = this.negative.write(out, p, NEGATIVE)
    return p
  }
}

/** True when bytes[start, end) decode as a sketch with the 0.01 mapping (the rules of addEncoded), without allocating. */
export function checkSketch (bytes: Uint8Array, start = 0, end = bytes.length): boolean {
  return decode(bytes, null, start, end) === OK
}

const single = new SketchAccumulator()

/** The encoded sketch of one value (a rebuilt singleton row). */
export function encodeValue (v: number): Uint8Array {
  single.reset()
  single.addValue(v)
  return single.encode()
}
