import { parquetRead, parquetMetadataAsync, asyncBufferFromFile } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
const file = await asyncBufferFromFile('/work/shared/fixtures/lakerunner/compact-test-0001/tbl_299476526607368996.parquet')
const md = await parquetMetadataAsync(file)
console.log(md.num_rows, md.row_groups.length, md.schema.slice(0,4), md.row_groups[0].columns[0].meta_data)
await parquetRead({ file, metadata: md, compressors, utf8: false, columns: ['_cardinalhq.tid','_cardinalhq.name','sketch','rollup_sum', 'resource.service.name'], onChunk(c) { console.log(c.columnName, c.rowStart, c.rowEnd, c.columnData.constructor.name, c.columnData.length, c.columnData[0], typeof c.columnData[0]) } })
