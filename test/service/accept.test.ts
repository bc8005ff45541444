// Content negotiation of POST /compact.
import t from 'tap'
import { chooseFormat } from '../../src/service/accept.ts'

t.test('tar by default, parquet when preferred, 406 when neither is acceptable', async t => {
  const cases: Array<[string | undefined, 'tar' | 'parquet']> = [
    [undefined, 'tar'],
    ['', 'tar'],
    ['*/*', 'tar'],
    ['application/x-tar', 'tar'],
    ['application/vnd.apache.parquet', 'parquet'],
    ['APPLICATION/VND.APACHE.PARQUET', 'parquet'],
    ['application/vnd.apache.parquet, */*;q=0.8', 'parquet'],
    ['*/*, application/vnd.apache.parquet', 'parquet'],
    ['application/x-tar, application/vnd.apache.parquet', 'tar'],
    ['application/x-tar;q=0.1, application/vnd.apache.parquet;q=0.5', 'parquet'],
    ['application/vnd.apache.parquet;q=0, */*', 'tar'],
    ['text/html, */*;q=0.1', 'tar'],
  ]
  for (const [accept, format] of cases) t.equal(chooseFormat(accept), format, String(accept))
  for (const accept of ['text/html', 'application/json', 'application/x-tar;q=0', '*/*;q=0']) {
    t.throws(() => chooseFormat(accept), { code: 'CMP_ERR_NOT_ACCEPTABLE' }, accept)
  }
})
