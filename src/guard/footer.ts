// The figures the memory estimate needs, read straight from a parquet footer's Thrift compact bytes:
// rows, column names, the largest row group and all of them, and whether the metric_name
// statistics prove the file out of sort order. The main thread reads every footer of every request
// before it reserves memory, including requests the queue then refuses; a full metadata decode
// allocated ~200 KB of short-lived objects per 7 KB footer (bench/load.ts at 128 concurrent uploads:
// 700 MB of garbage in 10 s, most of the main heap's peak). This walk allocates one string per
// column, two small records per row group for its metric_name statistics, and nothing per other
// statistic. The engine validates the whole footer again in the worker.
import type { FileHandle } from 'node:fs/promises'
import { CompactorError } from '../errors.ts'
import { MAX_ROW_GROUP_ROWS, METRIC_NAME, currentName, locateFooter, openInput } from '../compaction/index.ts'

export interface FooterFigures {
  readonly rows: number
  /** Names of the leaf columns, as written (legacy names not mapped). */
  readonly columns: readonly string[]
  /** Uncompressed bytes of the largest row group: its total_byte_size or, when larger, the sum of its chunks' total_uncompressed_size. */
  readonly largestRowGroupBytes: number
  /** Uncompressed bytes of every row group, each counted as for largestRowGroupBytes. */
  readonly totalBytes: number
  /**
   * Whether the footer proves the file out of sort order: a row group's least metric_name below
   * the greatest of the row group before it, by their chunks' statistics (Reader.below). The
   * engine then reads the file whole. A file not proven out of order may still be (its row groups
   * in order, their rows not; or statistics too short to tell).
   */
  readonly outOfOrder: boolean
}

/** Nesting deeper than any parquet footer: a hostile footer cannot recurse the stack away. */
const MAX_DEPTH = 32

// Thrift compact protocol types
const T_STOP = 0
const T_TRUE = 1
const T_FALSE = 2
const T_BYTE = 3
const T_I16 = 4
const T_I32 = 5
const T_I64 = 6
const T_DOUBLE = 7
const T_BINARY = 8
const T_LIST = 9
const T_SET = 10
const T_MAP = 11
const T_STRUCT = 12

/**
 * Reads a segment's footer figures, through an open descriptor (one already checked) or from a path
 * opened safely here (input-file.ts); a file that is not parquet is CMP_ERR_BAD_PARQUET naming it.
 */
export async function readFooterFigures (source: string | FileHandle, label: string): Promise<FooterFigures> {
  if (typeof source !== 'string') return await readFigures(source, label)
  const { handle } = await openInput(source, label)
  try {
    return await readFigures(handle, label)
  } finally {
    await handle.close()
  }
}

async function readFigures (handle: FileHandle, label: string): Promise<FooterFigures> {
  const bad = (why: string): CompactorError => new CompactorError('CMP_ERR_BAD_PARQUET', `${label}: ${why}`, { file: label })
  const size = (await handle.stat()).size
  const { start, length } = await locateFooter(size, async (from, to) => {
    const bytes = Buffer.alloc(to - from)
    await handle.read(bytes, 0, bytes.length, from)
    return bytes
  }, label)
  const footer = Buffer.alloc(length)
  const { bytesRead } = await handle.read(footer, 0, length, start)
  if (bytesRead !== length) throw bad('file shrank while being read')
  try {
    return footerFigures(footer)
  } catch (err) {
    throw bad(`unreadable footer (${(err as Error).message})`)
  }
}

/** The figures of a FileMetaData struct in Thrift compact encoding; throws on malformed bytes. */
export function footerFigures (bytes: Uint8Array): FooterFigures {
  const r = new Reader(bytes)
  const columns: string[] = []
  let rows = -1
  let largest = 0
  let total = 0
  let groupRows = 0
  // the metric_name chunk's statistics of the row group before
  let nameColumn = -1
  let previous: NameRange | null = null
  let outOfOrder = false
  r.fields(0, (id, type) => {
    if (id === 2 && type === T_LIST) {
      // schema: list<SchemaElement>; the root is the first element (a file of no columns has only
      // the root, with no children: not a column), leaves have no num_children
      let element = 0
      r.list(0, () => {
        const root = element++ === 0
        let name: string | undefined
        let children = 0
        r.fields(1, (fid, ftype) => {
          if (fid === 4 && ftype === T_BINARY) name = r.string()
          else if (fid === 5 && ftype === T_I32) children = r.varint()
          else r.skip(ftype, 1)
        })
        if (!root && children === 0 && name !== undefined) {
          if (nameColumn < 0 && currentName(name) === METRIC_NAME) nameColumn = columns.length
          columns.push(name)
        }
      })
    } else if (id === 3 && type === T_I64) {
      rows = r.zigzag()
    } else if (id === 4 && type === T_LIST) {
      // row_groups: list<RowGroup>; field 1 is columns, 2 total_byte_size, 3 num_rows. A group's
      // size is the larger of total_byte_size and its chunks' total_uncompressed_size: the engine
      // refuses pages that declare more than their chunk's, so the estimate bounds what they declare
      r.list(0, () => {
        let groupBytes = 0
        let chunkBytes = 0
        let chunk = 0
        let names: NameRange | null = null
        r.fields(1, (fid, ftype) => {
          if (fid === 1 && ftype === T_LIST) {
            // columns: list<ColumnChunk>; field 3 is meta_data, whose field 6 is
            // total_uncompressed_size and field 12 the statistics (of metric_name's chunk only)
            r.list(2, () => {
              const isName = chunk++ === nameColumn
              r.fields(3, (cid, ctype) => {
                if (cid === 3 && ctype === T_STRUCT) {
                  r.fields(4, (mid, mtype) => {
                    if (mid === 6 && mtype === T_I64) {
                      const bytes = r.zigzag()
                      if (bytes < 0) throw new Error(`a column chunk claims ${bytes} bytes`)
                      chunkBytes += bytes
                    } else if (mid === 12 && mtype === T_STRUCT && isName) {
                      names = r.nameRange(5)
                    } else r.skip(mtype, 5)
                  })
                } else r.skip(ctype, 4)
              })
            })
          } else if (fid === 2 && ftype === T_I64) {
            groupBytes = r.zigzag()
            if (groupBytes < 0) throw new Error(`a row group claims ${groupBytes} bytes`)
          } else if (fid === 3 && ftype === T_I64) {
            // the engine's own bounds, so that a lying footer is a bad file here, not an over-budget estimate
            const n = r.zigzag()
            if (n < 0 || n > MAX_ROW_GROUP_ROWS) throw new Error(`a row group claims ${n} rows`)
            groupRows += n
          } else r.skip(ftype, 1)
        })
        largest = Math.max(largest, groupBytes, chunkBytes)
        total += Math.max(groupBytes, chunkBytes)
        // a group without statistics breaks the chain: nothing is proven across it
        const range = names as NameRange | null
        if (previous !== null && range !== null && r.below(range, previous)) outOfOrder = true
        previous = range
      })
    } else {
      r.skip(type, 0)
    }
  })
  if (rows < 0) throw new Error('no num_rows')
  if (groupRows !== rows) throw new Error(`row groups hold ${groupRows} rows, the footer says ${rows}`)
  return { rows, columns, largestRowGroupBytes: largest, totalBytes: total, outOfOrder }
}

/** A byte string inside the footer: bytes [start, start + length). */
interface Bound {
  readonly start: number
  readonly length: number
}

/** A metric_name chunk's statistics: its min and max as places in the footer, and whether each is exact. */
interface NameRange {
  readonly min: Bound | null
  readonly max: Bound | null
  readonly minExact: boolean
  readonly maxExact: boolean
}

/** A cursor over Thrift compact bytes that checks every bound. */
class Reader {
  private readonly bytes: Uint8Array
  private pos = 0
  /** Element type of the list header read last. */
  private elementType = 0
  constructor (bytes: Uint8Array) {
    this.bytes = bytes
  }

  private byte (): number {
    if (this.pos >= this.bytes.length) throw new Error('truncated')
    return this.bytes[this.pos++]
  }

  /** An unsigned varint (at most 2^53 - 1: anything a footer can mean). */
  varint (): number {
    let value = 0
    let scale = 1
    for (let i = 0; i < 8; i++) {
      const b = this.byte()
      value += (b & 0x7f) * scale
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(value)) break
        return value
      }
      scale *= 128
    }
    throw new Error('varint too long')
  }

  /** A zigzag-encoded signed varint. */
  zigzag (): number {
    const n = this.varint()
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2
  }

  string (): string {
    const length = this.varint()
    if (length > this.bytes.length - this.pos) throw new Error('truncated')
    const s = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.pos, length).toString('utf8')
    this.pos += length
    return s
  }

  /**
   * Reads a Statistics struct's min_value and max_value (fields 6 and 5) as places in the bytes,
   * each exact unless is_min_value_exact / is_max_value_exact (fields 8 and 7) say false: writers
   * that cut statistics short say so (hyparquet-writer, arrow-rs), and one that did not would only
   * make an estimate larger (a sorted file taken as out of order). The deprecated min and max
   * (fields 2 and 1, signed order for byte strings) are not used.
   */
  nameRange (depth: number): NameRange {
    let min: Bound | null = null
    let max: Bound | null = null
    let minExact = true
    let maxExact = true
    this.fields(depth, (id, type) => {
      if ((id === 5 || id === 6) && type === T_BINARY) {
        const length = this.varint()
        const bound = { start: this.pos, length }
        this.advance(length)
        if (id === 5) max = bound
        else min = bound
      } else if (id === 7 && (type === T_TRUE || type === T_FALSE)) maxExact = type === T_TRUE
      else if (id === 8 && (type === T_TRUE || type === T_FALSE)) minExact = type === T_TRUE
      else this.skip(type, depth + 1)
    })
    return { min, max, minExact, maxExact }
  }

  /**
   * Whether a row group's least name (bounded by `next.min`) is certainly below the greatest name
   * of the one before it (bounded by `previous.max`). A min is a prefix of the least name, exact or
   * cut short; a max not flagged exact may be cut short and rounded up in its last code point (the
   * convention of parquet-java and hyparquet-writer), so only its bytes before its last 4 are
   * taken as the greatest name's. The first differing byte within both decides; when none differs,
   * only two exact values decide (a shorter min below its longer max).
   */
  below (next: NameRange, previous: NameRange): boolean {
    const a = next.min
    const b = previous.max
    if (a === null || b === null) return false
    const reliable = previous.maxExact ? b.length : Math.max(0, b.length - 4)
    const n = Math.min(a.length, reliable)
    for (let i = 0; i < n; i++) {
      const d = this.bytes[a.start + i] - this.bytes[b.start + i]
      if (d !== 0) return d < 0
    }
    return next.minExact && previous.maxExact && a.length < b.length
  }

  /** Calls onField for each field of a struct with its id and type; onField must consume the value. */
  fields (depth: number, onField: (id: number, type: number) => void): void {
    if (depth > MAX_DEPTH) throw new Error('nested too deep')
    let id = 0
    for (;;) {
      const header = this.byte()
      const type = header & 0x0f
      if (type === T_STOP) return
      const delta = header >> 4
      id = delta === 0 ? this.zigzag() : id + delta
      onField(id, type)
    }
  }

  /**
   * Calls onElement once per element of a list of structs; a list of anything else is an error, but
   * for an empty list, whose element type writers set freely (hyparquet-writer: byte, for the row
   * groups of a file of 0 rows).
   */
  list (depth: number, onElement: () => void): void {
    const size = this.listHeader()
    if (size === 0) return
    if (this.elementType !== T_STRUCT) throw new Error('unexpected list element type')
    // each element takes one byte at least: a size beyond the bytes left is a lie
    if (size > this.bytes.length - this.pos) throw new Error('truncated')
    for (let i = 0; i < size; i++) {
      if (depth + 1 > MAX_DEPTH) throw new Error('nested too deep')
      onElement()
    }
  }

  /** Reads a list header: returns its size and leaves its element type in elementType. */
  private listHeader (): number {
    const header = this.byte()
    const short = header >> 4
    this.elementType = header & 0x0f
    return short === 15 ? this.varint() : short
  }

  /** Skips a value of the given type. */
  skip (type: number, depth: number): void {
    if (depth > MAX_DEPTH) throw new Error('nested too deep')
    switch (type) {
      case T_TRUE: case T_FALSE: return // a struct field's bool lives in its header
      case T_BYTE: this.byte(); return
      case T_I16: case T_I32: case T_I64: this.varint(); return
      case T_DOUBLE: this.advance(8); return
      case T_BINARY: this.advance(this.varint()); return
      case T_LIST: case T_SET: {
        const size = this.listHeader()
        const element = this.elementType
        if (size > this.bytes.length - this.pos) throw new Error('truncated')
        // in a list a bool is one byte
        for (let i = 0; i < size; i++) element === T_TRUE || element === T_FALSE ? this.byte() : this.skip(element, depth + 1)
        return
      }
      case T_MAP: {
        const size = this.varint()
        if (size === 0) return
        const kinds = this.byte()
        if (size > this.bytes.length - this.pos) throw new Error('truncated')
        for (let i = 0; i < size; i++) {
          this.skipElement(kinds >> 4, depth + 1)
          this.skipElement(kinds & 0x0f, depth + 1)
        }
        return
      }
      case T_STRUCT: this.skipStruct(depth + 1); return
      default: throw new Error(`unknown thrift type ${type}`)
    }
  }

  /** Skips a struct's fields up to its stop byte (no callback: skipping allocates nothing). */
  private skipStruct (depth: number): void {
    if (depth > MAX_DEPTH) throw new Error('nested too deep')
    for (;;) {
      const header = this.byte()
      const type = header & 0x0f
      if (type === T_STOP) return
      if (header >> 4 === 0) this.varint() // a long-form field id
      this.skip(type, depth)
    }
  }

  private skipElement (type: number, depth: number): void {
    if (type === T_TRUE || type === T_FALSE) this.byte()
    else this.skip(type, depth)
  }

  private advance (n: number): void {
    if (n > this.bytes.length - this.pos) throw new Error('truncated')
    this.pos += n
  }
}
