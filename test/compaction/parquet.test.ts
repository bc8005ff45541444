// The parquet adapter: the footer pre-check on its own (the readers' tests cover it through files),
// and the schema elements of the engine types, which the readers map back to the same types.
import t from 'tap'
import { MAGIC, MAX_FOOTER_BYTES, columnType, locateFooter, parquetSchema, parquetType, schemaElement } from '../../src/compaction/parquet.ts'
import type { ColumnType } from '../../src/compaction/schema.ts'

/** A file of `body` bytes then a footer length and the magic, with `head` as its first four bytes. */
function frame (bodyLength: number, footerLength: number, head = MAGIC, tail = MAGIC): Uint8Array {
  const bytes = new Uint8Array(bodyLength + 8)
  const view = new DataView(bytes.buffer)
  if (bodyLength >= 4) view.setUint32(0, head, true)
  view.setUint32(bodyLength, footerLength, true)
  view.setUint32(bodyLength + 4, tail, true)
  return bytes
}

const locate = async (bytes: Uint8Array) => await locateFooter(bytes.length, async (start, end) => bytes.slice(start, end), 'f.parquet')

t.test('locateFooter: where the footer lies, or CMP_ERR_BAD_PARQUET naming the file', async t => {
  t.same(await locate(frame(4 + 100, 100)), { start: 4, length: 100 })
  t.same(await locate(frame(4 + 100, 30)), { start: 74, length: 30 })
  t.same(await locate(frame(4, 0)), { start: 4, length: 0 })
  const refused = async (bytes: Uint8Array, why: RegExp) => {
    await t.rejects(locate(bytes), { code: 'CMP_ERR_BAD_PARQUET', message: new RegExp(`f\\.parquet: ${why.source}`), details: { file: 'f.parquet' } })
  }
  await refused(new Uint8Array(11), /too short for parquet \(11 bytes\)/)
  await refused(frame(4 + 100, 10, 0x31524151), /missing PAR1 magic/)
  await refused(frame(4 + 100, 10, MAGIC, 0), /missing PAR1 magic/)
  await refused(frame(4 + 100, 101), /footer claims 101 bytes, file has 112/)
  const huge = MAX_FOOTER_BYTES + 1
  await refused(frame(4 + huge, huge), new RegExp(`footer of ${huge} bytes exceeds the ${MAX_FOOTER_BYTES} limit`))
})

t.test('every engine type is written as an element that reads back as that type', async t => {
  for (const type of ['string', 'bytes', 'int64', 'double', 'bool'] as ColumnType[]) {
    const element = schemaElement('c', type)
    t.equal(element.repetition_type, 'OPTIONAL', type)
    t.equal(element.type, parquetType(type), type)
    t.equal(columnType(element), type, type)
  }
  t.same(schemaElement('s', 'string'), { name: 's', repetition_type: 'OPTIONAL', type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } })
  const schema = parquetSchema([{ name: 'a', type: 'int64' }, { name: 'b', type: 'double' }])
  t.same(schema.map(e => e.name), ['schema', 'a', 'b'])
  t.equal(schema[0].num_children, 2)
})
