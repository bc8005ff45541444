// The http(s) allow-list and URL checks (fetching itself is exercised through POST /compact).
import t from 'tap'
import { checkHttpUrl, hostAllowed, redactUrl } from '../../src/storage/http.ts'

t.test('hostAllowed: exact hosts, host:port, and *.domain for sub-domains only', async t => {
  const list = ['segments.example.com', 'minio:9000', '*.s3.amazonaws.com', '127.0.0.1']
  const cases: Array<[string, boolean]> = [
    ['https://segments.example.com/a', true],
    ['https://SEGMENTS.example.com/a', true],
    ['https://evil-segments.example.com/a', false],
    ['https://segments.example.com.evil.net/a', false],
    ['http://minio:9000/a', true],
    ['http://minio:9001/a', false],
    ['http://minio/a', false],
    ['https://bucket.s3.amazonaws.com/a', true],
    ['https://s3.amazonaws.com/a', false],
    ['https://evils3.amazonaws.com/a', false],
    ['http://127.0.0.1:8080/a', true],
    ['http://user:pass@127.0.0.2/a', false],
  ]
  for (const [url, allowed] of cases) t.equal(hostAllowed(new URL(url), list), allowed, url)
  t.equal(hostAllowed(new URL('https://a.example.com'), []), false, 'an empty list allows nothing')
})

t.test('checkHttpUrl refuses malformed URLs (400) and hosts off the list (403) before any request', async t => {
  t.throws(() => checkHttpUrl('http://', ['x']), { code: 'CMP_ERR_BAD_URL' })
  t.throws(() => checkHttpUrl('ftp://x/a', ['x']), { code: 'CMP_ERR_BAD_URL' })
  t.throws(() => checkHttpUrl('https://y/a?sig=secret', ['x']), { code: 'CMP_ERR_HOST_FORBIDDEN', details: { url: 'https://y/a', host: 'y' } })
  t.equal(checkHttpUrl('https://x/a', ['x']).href, 'https://x/a')
  t.equal(redactUrl(new URL('https://u:p@x:8443/a/b?X-Amz-Signature=s#f')), 'https://x:8443/a/b', 'no credentials, query or fragment')
})
