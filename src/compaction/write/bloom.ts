// Split-block bloom filters (the parquet format's SBBF, BloomFilter.md) for the output files:
// xxHash64 (seed 0) of each value's PLAIN encoding (a string's UTF-8 bytes without the length
// prefix, an int64's 8 little-endian bytes), 32-byte blocks of eight 32-bit words, one bit per word
// set by the salted low 32 bits of the hash, the block chosen by the high 32 bits.
//
// Which chunks get one, how large, within which budget (docs/DOMAIN.md section 5):
// * `metric_name`, `chq_tid` and every other string column (dictionary-gathered or converted
//   strings), each chunk holding at least one value; nothing else;
// * each filter sized for its chunk's distinct values: the smallest power-of-two number of blocks
//   (as parquet-java, Arrow C++ and DuckDB size theirs; some readers refuse other sizes) whose
//   expected false-positive rate is at most BLOOM_FPP (1 %), about 10.5 to 21 bits per distinct value;
// * per file at most 1/BLOOM_BUDGET_DIVISOR (1/8) of the bytes of its row groups: columns whole (a
//   filter in every chunk with values, or in none), `metric_name` first, then `chq_tid`, then the
//   string columns from the smallest filters up, each taken if it fits what is left.
//
// The hashes use 32-bit arithmetic only: no BigInt per value. A string column's distinct values are
// hashed once per file (dictionary entries), the tids once per run of equal tids.
import type { TextIndices } from '../read/chunk-reader.ts'
import type { RowGroup } from 'hyparquet'
import type { Writer } from 'hyparquet-writer'
import { serializeTCompactProtocol } from '../parquet.ts'
import { METRIC_NAME, TID, type ColumnType } from '../schema.ts'
import { stringDictionary, type ColumnValues } from './column-writer.ts'

/** The false-positive rate every filter is sized for. */
export const BLOOM_FPP = 0.01
/** The filters of a file take at most 1/BLOOM_BUDGET_DIVISOR of the bytes of its row groups. */
export const BLOOM_BUDGET_DIVISOR = 8

// ---------------------------------------------------------------------------------------------
// xxHash64 in 32-bit halves (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md)

const P1H = 0x9e3779b1; const P1L = 0x85ebca87
const P2H = 0xc2b2ae3d; const P2L = 0x27d4eb4f
const P3H = 0x165667b1; const P3L = 0x9e3779f9
const P4H = 0x85ebca77; const P4L = 0xc2b2ae63
const P5H = 0x27d4eb2f; const P5L = 0x165667c5
const TWO32 = 4294967296

// the result of the last 64-bit helper, as unsigned 32-bit halves
let H = 0
let L = 0

/** (ah, al) * (bh, bl) mod 2^64 into (H, L): al * bl in 16-bit limbs, the cross terms' low words on top. */
function mul (ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff
  const a1 = al >>> 16
  const b0 = bl & 0xffff
  const b1 = bl >>> 16
  const m1 = a1 * b0 + ((a0 * b0) >>> 16) // < 2^32
  const m2 = a0 * b1 + (m1 & 0xffff) // < 2^32
  L = Math.imul(al, bl) >>> 0
  H = (a1 * b1 + (m1 >>> 16) + (m2 >>> 16) + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0
}

/** (ah, al) + (bh, bl) mod 2^64 into (H, L). */
function add (ah: number, al: number, bh: number, bl: number): void {
  const low = al + bl
  L = low >>> 0
  H = (ah + bh + (low >= TWO32 ? 1 : 0)) >>> 0
}

/** (h, l) rotated left by r (0 < r < 32) into (H, L). */
function rotl (h: number, l: number, r: number): void {
  H = ((h << r) | (l >>> (32 - r))) >>> 0
  L = ((l << r) | (h >>> (32 - r))) >>> 0
}

/** round(acc, lane) = rotl(acc + lane * P2, 31) * P1, into (H, L). */
function round (ah: number, al: number, lh: number, ll: number): void {
  mul(lh, ll, P2H, P2L)
  add(ah, al, H, L)
  rotl(H, L, 31)
  mul(H, L, P1H, P1L)
}

/** mergeRound(acc, v) = (acc ^ round(0, v)) * P1 + P4, into (H, L). */
function mergeRound (ah: number, al: number, vh: number, vl: number): void {
  round(0, 0, vh, vl)
  mul((ah ^ H) >>> 0, (al ^ L) >>> 0, P1H, P1L)
  add(H, L, P4H, P4L)
}

/** The final mix of (h, l) into out = [high word, low word]. */
function avalanche (h: number, l: number, out: Uint32Array): void {
  l = (l ^ (h >>> 1)) >>> 0 // h ^= h >> 33
  mul(h, l, P2H, P2L)
  h = H
  l = L
  const sh = h >>> 29 // h ^= h >> 29
  const sl = ((l >>> 29) | (h << 3)) >>> 0
  mul((h ^ sh) >>> 0, (l ^ sl) >>> 0, P3H, P3L)
  out[0] = H
  out[1] = (L ^ H) >>> 0 // h ^= h >> 32
}

function u32 (b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0
}

// seed 0: v1 = P1 + P2, v2 = P2, v3 = 0, v4 = -P1 (mod 2^64)
add(P1H, P1L, P2H, P2L)
const V1H = H; const V1L = L
const V4L = (TWO32 - P1L) >>> 0
const V4H = (~P1H + (V4L === 0 ? 1 : 0)) >>> 0

/** xxHash64 (seed 0) of bytes [start, end) into out = [high word, low word]. */
export function xxhash64 (bytes: Uint8Array, start: number, end: number, out: Uint32Array): void {
  const length = end - start
  let p = start
  let h: number
  let l: number
  if (length >= 32) {
    let v1h = V1H; let v1l = V1L
    let v2h = P2H; let v2l = P2L
    let v3h = 0; let v3l = 0
    let v4h = V4H; let v4l = V4L
    for (; p + 32 <= end; p += 32) {
      round(v1h, v1l, u32(bytes, p + 4), u32(bytes, p)); v1h = H; v1l = L
      round(v2h, v2l, u32(bytes, p + 12), u32(bytes, p + 8)); v2h = H; v2l = L
      round(v3h, v3l, u32(bytes, p + 20), u32(bytes, p + 16)); v3h = H; v3l = L
      round(v4h, v4l, u32(bytes, p + 28), u32(bytes, p + 24)); v4h = H; v4l = L
    }
    rotl(v1h, v1l, 1); h = H; l = L
    rotl(v2h, v2l, 7); add(h, l, H, L); h = H; l = L
    rotl(v3h, v3l, 12); add(h, l, H, L); h = H; l = L
    rotl(v4h, v4l, 18); add(h, l, H, L); h = H; l = L
    mergeRound(h, l, v1h, v1l); h = H; l = L
    mergeRound(h, l, v2h, v2l); h = H; l = L
    mergeRound(h, l, v3h, v3l); h = H; l = L
    mergeRound(h, l, v4h, v4l); h = H; l = L
  } else {
    h = P5H
    l = P5L
  }
  add(h, l, Math.floor(length / TWO32), length >>> 0); h = H; l = L
  for (; p + 8 <= end; p += 8) {
    round(0, 0, u32(bytes, p + 4), u32(bytes, p))
    rotl((h ^ H) >>> 0, (l ^ L) >>> 0, 27)
    mul(H, L, P1H, P1L)
    add(H, L, P4H, P4L); h = H; l = L
  }
  if (p + 4 <= end) {
    mul(0, u32(bytes, p), P1H, P1L)
    rotl((h ^ H) >>> 0, (l ^ L) >>> 0, 23)
    mul(H, L, P2H, P2L)
    add(H, L, P3H, P3L); h = H; l = L
    p += 4
  }
  for (; p < end; p++) {
    mul(0, bytes[p], P5H, P5L)
    rotl((h ^ H) >>> 0, (l ^ L) >>> 0, 11)
    mul(H, L, P1H, P1L); h = H; l = L
  }
  avalanche(h, l, out)
}

// the state of an 8-byte input before its lane: P5 + 8
add(P5H, P5L, 0, 8)
const E8H = H; const E8L = L

/** xxHash64 (seed 0) of an int64's PLAIN encoding (8 bytes, little-endian), given as its two words. */
export function xxhash64Int64 (lo: number, hi: number, out: Uint32Array): void {
  round(0, 0, hi >>> 0, lo >>> 0)
  rotl((E8H ^ H) >>> 0, (E8L ^ L) >>> 0, 27)
  mul(H, L, P1H, P1L)
  add(H, L, P4H, P4L)
  avalanche(H, L, out)
}

// ---------------------------------------------------------------------------------------------
// The filter

const SALT = new Uint32Array([0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31])
const BLOCK_BYTES = 32

/** A split-block bloom filter of a power-of-two number of 32-byte blocks. */
export class SplitBlockBloomFilter {
  readonly words: Uint32Array
  private readonly blocks: number

  constructor (numBytes: number) {
    if (numBytes < BLOCK_BYTES || (numBytes & (numBytes - 1)) !== 0) throw new Error(`bloom filter of ${numBytes} bytes: not a power of two of at least ${BLOCK_BYTES}`)
    this.words = new Uint32Array(numBytes >>> 2)
    this.blocks = numBytes / BLOCK_BYTES
  }

  /** Adds the value whose hash is (hi, lo). */
  insert (hi: number, lo: number): void {
    // block = (hi * blocks) >> 32: exact in a double for the sizes written here (blocks < 2^21)
    const w = Math.floor(hi * this.blocks / TWO32) * 8
    const words = this.words
    for (let i = 0; i < 8; i++) words[w + i] |= 1 << (Math.imul(lo, SALT[i]) >>> 27)
  }

  /** Whether the value whose hash is (hi, lo) may have been added (false: it certainly was not). */
  mightContain (hi: number, lo: number): boolean {
    const w = Math.floor(hi * this.blocks / TWO32) * 8
    for (let i = 0; i < 8; i++) if ((this.words[w + i] & (1 << (Math.imul(lo, SALT[i]) >>> 27))) === 0) return false
    return true
  }
}

/**
 * The expected false-positive rate of a filter of `blocks` blocks holding `ndv` distinct values:
 * block loads are Poisson with mean ndv / blocks, and a probe passes when each of its block's 8
 * words has its bit set, (1 - (31/32)^k)^8 for a block of k values.
 */
export function bloomFpp (ndv: number, blocks: number): number {
  const mean = ndv / blocks
  let p = Math.exp(-mean)
  let sum = 0
  const last = Math.ceil(mean + 12 * Math.sqrt(mean) + 30)
  for (let k = 0; k <= last; k++) {
    if (k > 0) p *= mean / k
    sum += p * (1 - (31 / 32) ** k) ** 8
  }
  return sum
}

const maxLoads = new Map<number, number>()

/** The largest mean number of values per block whose expected false-positive rate is at most fpp. */
function maxLoad (fpp: number): number {
  let load = maxLoads.get(fpp)
  if (load === undefined) {
    let lo = 0
    let hi = 256
    for (let i = 0; i < 60; i++) {
      const mid = (lo + hi) / 2
      if (bloomFpp(mid, 1) <= fpp) lo = mid
      else hi = mid
    }
    load = lo
    maxLoads.set(fpp, load)
  }
  return load
}

/** The bytes of the filter for ndv distinct values: the fewest power-of-two blocks whose expected false-positive rate is at most fpp. */
export function bloomFilterBytes (ndv: number, fpp = BLOOM_FPP): number {
  const needed = Math.max(1, Math.ceil(ndv / maxLoad(fpp)))
  let blocks = 1
  while (blocks < needed) blocks *= 2
  return blocks * BLOCK_BYTES
}

/** The bytes of a filter's BloomFilterHeader (Thrift compact): numBytes, then BLOCK, XXHASH, UNCOMPRESSED. */
export function bloomHeaderBytes (numBytes: number): number {
  let varint = 1
  for (let zigzag = numBytes * 2; zigzag >= 128; zigzag = Math.floor(zigzag / 128)) varint++
  return 14 + varint
}

/** Writes a filter as the format lays it out: its BloomFilterHeader, then its blocks (words little-endian: the host's order, which the engine takes to be little-endian throughout). */
export function writeBloomFilter (writer: Writer, filter: SplitBlockBloomFilter): void {
  serializeTCompactProtocol(writer, {
    field_1: filter.words.byteLength, // numBytes
    field_2: { field_1: {} }, // algorithm: BLOCK (SplitBlockAlgorithm)
    field_3: { field_1: {} }, // hash: XXHASH
    field_4: { field_1: {} }, // compression: UNCOMPRESSED
  })
  writer.appendBytes(new Uint8Array(filter.words.buffer, filter.words.byteOffset, filter.words.byteLength))
}

// ---------------------------------------------------------------------------------------------
// The distinct hashes of a chunk

/** A set of 64-bit hashes (high and low words), open addressing, in insertion order. */
export class HashSet64 {
  his = new Uint32Array(1024)
  los = new Uint32Array(1024)
  size = 0
  private slots = new Int32Array(2048) // entry + 1, 0 = free
  private mask = 2047

  reset (): void {
    if (this.size * 8 >= this.slots.length) this.slots.fill(0)
    else {
      // clear only the slots in use: a large table stays cheap to reset for small chunks
      for (let e = 0; e < this.size; e++) {
        let s = this.los[e] & this.mask
        while (this.slots[s] !== e + 1) s = (s + 1) & this.mask
        this.slots[s] = 0
      }
    }
    this.size = 0
  }

  add (hi: number, lo: number): void {
    let s = lo & this.mask
    for (;;) {
      const e = this.slots[s] - 1
      if (e < 0) break
      if (this.los[e] === lo && this.his[e] === hi) return
      s = (s + 1) & this.mask
    }
    if (this.size === this.his.length) {
      this.grow()
      this.add(hi, lo)
      return
    }
    this.his[this.size] = hi
    this.los[this.size] = lo
    this.slots[s] = ++this.size
  }

  private grow (): void {
    const capacity = this.his.length * 2
    const his = new Uint32Array(capacity)
    const los = new Uint32Array(capacity)
    his.set(this.his)
    los.set(this.los)
    this.his = his
    this.los = los
    this.slots = new Int32Array(capacity * 2)
    this.mask = capacity * 2 - 1
    for (let e = 0; e < this.size; e++) {
      let s = los[e] & this.mask
      while (this.slots[s] !== 0) s = (s + 1) & this.mask
      this.slots[s] = e + 1
    }
  }
}

/** The non-null values of rows [start, end) of one column: how many distinct, and their hashes. */
interface HashSource {
  distinct (start: number, end: number): number
  /** Adds the hashes of the distinct values to set. */
  collect (start: number, end: number, set: HashSet64): void
}

const hash = new Uint32Array(2)
let text = Buffer.alloc(4096)

/** Hashes of strings, each computed once: entry k's at (his[k], los[k]). */
class StringHashes {
  readonly his: Uint32Array
  readonly los: Uint32Array
  private readonly done: Uint8Array
  private readonly strings: readonly string[]

  constructor (strings: readonly string[]) {
    this.strings = strings
    this.his = new Uint32Array(strings.length)
    this.los = new Uint32Array(strings.length)
    this.done = new Uint8Array(strings.length)
  }

  /** Hashes entry k (once) with its PLAIN encoding's UTF-8 bytes as the column writer writes them. */
  ensure (k: number): void {
    if (this.done[k] === 1) return
    const s = this.strings[k]
    if (text.length < s.length * 3) text = Buffer.alloc(s.length * 3)
    const length = text.write(s, 0)
    xxhash64(text, 0, length, hash)
    this.his[k] = hash[0]
    this.los[k] = hash[1]
    this.done[k] = 1
  }
}

/** A string column as a file dictionary and an index per row (-1 = null). */
class DictionarySource implements HashSource {
  private readonly hashes: StringHashes
  private readonly seen: Int32Array
  private readonly indices: TextIndices
  private generation = 0

  constructor (dictionary: readonly string[], indices: TextIndices) {
    this.indices = indices
    this.hashes = new StringHashes(dictionary)
    this.seen = new Int32Array(dictionary.length)
  }

  distinct (start: number, end: number): number {
    return this.visit(start, end, null)
  }

  collect (start: number, end: number, set: HashSet64): void {
    this.visit(start, end, set)
  }

  /** Counts the distinct entries rows [start, end) use, each once, adding their hashes to set when given. */
  private visit (start: number, end: number, set: HashSet64 | null): number {
    const generation = ++this.generation
    const { indices, seen, hashes } = this
    let count = 0
    let last = -1
    for (let i = start; i < end; i++) {
      const k = indices[i]
      if (k === last || k < 0 || seen[k] === generation) continue
      seen[k] = generation
      last = k
      count++
      if (set !== null) {
        hashes.ensure(k)
        set.add(hashes.his[k], hashes.los[k])
      }
    }
    return count
  }
}

/** Converted strings (null = absent), numbered as they come. */
class StringsSource implements HashSource {
  private readonly source: DictionarySource

  constructor (values: ArrayLike<string | null>) {
    const [dictionary, indices] = stringDictionary(values, 0, values.length)
    this.source = new DictionarySource(dictionary, indices)
  }

  distinct (start: number, end: number): number {
    return this.source.distinct(start, end)
  }

  collect (start: number, end: number, set: HashSet64): void {
    this.source.collect(start, end, set)
  }
}

/**
 * An int64 column (the tids): the first value of each run of equal values hashed from its two
 * words, once (the hash kept at the run's row for the second pass).
 */
class Int64Source implements HashSource {
  private readonly words: Int32Array
  private readonly valid: Uint8Array | undefined
  private readonly his: Uint32Array
  private readonly los: Uint32Array
  private readonly own = new HashSet64()

  constructor (values: BigInt64Array, valid: Uint8Array | undefined) {
    this.valid = valid
    this.words = new Int32Array(values.buffer, values.byteOffset, values.length * 2)
    this.his = new Uint32Array(values.length)
    this.los = new Uint32Array(values.length)
  }

  distinct (start: number, end: number): number {
    const { words, valid, his, los, own } = this
    own.reset()
    let last = -1
    for (let i = start; i < end; i++) {
      if (valid && valid[i] === 0) continue
      if (last < 0 || words[2 * i] !== words[2 * last] || words[2 * i + 1] !== words[2 * last + 1]) {
        xxhash64Int64(words[2 * i], words[2 * i + 1], hash)
        his[i] = hash[0]
        los[i] = hash[1]
        own.add(hash[0], hash[1])
      }
      last = i
    }
    const count = own.size
    own.reset()
    return count
  }

  /** After distinct() over the same rows. */
  collect (start: number, end: number, set: HashSet64): void {
    const { words, valid, his, los } = this
    let last = -1
    for (let i = start; i < end; i++) {
      if (valid && valid[i] === 0) continue
      if (last < 0 || words[2 * i] !== words[2 * last] || words[2 * i + 1] !== words[2 * last + 1]) set.add(his[i], los[i])
      last = i
    }
  }
}

/** Where a column's values can be hashed from, or null when the column gets no filter. */
function hashSource (column: { readonly name: string, readonly type: ColumnType }, values: ColumnValues): HashSource | null {
  if (column.name === TID) return values.kind === 'int64' ? new Int64Source(values.values, values.valid) : null
  if (column.type !== 'string') return null
  switch (values.kind) {
    case 'dict': return new DictionarySource(values.dictionary, values.indices)
    case 'strings': return new StringsSource(values.values)
    default: return null // other shapes (a row id) get none
  }
}

// ---------------------------------------------------------------------------------------------
// The filters of a file

/** What writeBloomFilters wrote: bytes in all, the budget, and the columns left without filters for the budget. */
export interface BloomSummary {
  readonly bytes: number
  readonly budget: number
  readonly columns: readonly string[]
  readonly skipped: readonly string[]
}

const set = new HashSet64()

/** A column's filters in a file: one per row group (null: no values there), made while its values are at hand. */
export interface BloomCandidate {
  readonly index: number
  readonly filters: ReadonlyArray<SplitBlockBloomFilter | null>
  /** Bytes of its filters with their headers. */
  readonly bytes: number
  /** metric_name first, then chq_tid, then the rest (the budget's order, with bytes). */
  readonly rank: number
}

/**
 * The filters of schema column `index` over row ranges (one per row group), sized from each range's
 * distinct values; null when the column gets none (not a filtered column, or no values).
 */
export function bloomCandidate (column: { readonly name: string, readonly type: ColumnType }, index: number, values: ColumnValues,
  ranges: ReadonlyArray<readonly [number, number]>): BloomCandidate | null {
  const source = hashSource(column, values)
  if (!source) return null
  const sizes = ranges.map(([start, end]) => {
    const distinct = source.distinct(start, end)
    return distinct === 0 ? 0 : bloomFilterBytes(distinct)
  })
  const bytes = sizes.reduce((sum, size) => sum + (size === 0 ? 0 : size + bloomHeaderBytes(size)), 0)
  if (bytes === 0) return null
  const filters = ranges.map(([start, end], g) => {
    const size = sizes[g]
    if (size === 0) return null
    // (the sizes above hashed every range: collect reads those hashes)
    set.reset()
    source.collect(start, end, set)
    const filter = new SplitBlockBloomFilter(size)
    for (let e = 0; e < set.size; e++) filter.insert(set.his[e], set.los[e])
    return filter
  })
  return { index, filters, bytes, rank: column.name === METRIC_NAME ? 0 : column.name === TID ? 1 : 2 }
}

/**
 * Writes the bloom filters of a file's chunks at the writer's offset (after the row groups and the
 * page index, before the footer) and sets bloom_filter_offset / bloom_filter_length in the chunks'
 * metadata. Within the budget (the row groups' bytes / BLOOM_BUDGET_DIVISOR) the candidates are
 * taken by rank, then smallest first; the filters are grouped by column (schema order), row
 * groups in order within a column.
 */
export function writeBloomCandidates (writer: Writer, schema: ReadonlyArray<{ readonly name: string }>, candidates: readonly BloomCandidate[],
  rowGroups: readonly RowGroup[]): BloomSummary {
  let groupBytes = 0
  for (const group of rowGroups) groupBytes += Number(group.total_compressed_size ?? 0n)
  const budget = Math.floor(groupBytes / BLOOM_BUDGET_DIVISOR)
  const chosen = new Set<BloomCandidate>()
  const skipped: string[] = []
  let used = 0
  const order = [...candidates].sort((a, b) => a.rank - b.rank || a.bytes - b.bytes || a.index - b.index)
  for (const candidate of order) {
    if (used + candidate.bytes <= budget) {
      chosen.add(candidate)
      used += candidate.bytes
    } else skipped.push(schema[candidate.index].name)
  }
  const inOrder = [...candidates].sort((a, b) => a.index - b.index)
  for (const candidate of inOrder) {
    if (!chosen.has(candidate)) continue
    candidate.filters.forEach((filter, g) => {
      if (!filter) return
      const offset = writer.offset
      writeBloomFilter(writer, filter)
      const meta = rowGroups[g].columns[candidate.index].meta_data!
      meta.bloom_filter_offset = BigInt(offset)
      meta.bloom_filter_length = writer.offset - offset
    })
  }
  return { bytes: used, budget, columns: inOrder.filter(c => chosen.has(c)).map(c => schema[c.index].name), skipped }
}

/** The row ranges of row groups, in order. */
export function groupRanges (rowGroups: readonly RowGroup[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = []
  let rows = 0
  for (const group of rowGroups) {
    ranges.push([rows, rows + Number(group.num_rows)])
    rows += Number(group.num_rows)
  }
  return ranges
}

/** writeBloomCandidates over every column of a file, its values at hand. */
export function writeBloomFilters (writer: Writer, schema: ReadonlyArray<{ readonly name: string, readonly type: ColumnType }>,
  columns: readonly ColumnValues[], rowGroups: readonly RowGroup[]): BloomSummary {
  const ranges = groupRanges(rowGroups)
  const candidates: BloomCandidate[] = []
  schema.forEach((column, index) => {
    const candidate = bloomCandidate(column, index, columns[index], ranges)
    if (candidate) candidates.push(candidate)
  })
  return writeBloomCandidates(writer, schema, candidates, rowGroups)
}
