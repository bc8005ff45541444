// Bearer tokens and the debug endpoints' access rule: the token when DEBUG_TOKEN is set, loopback otherwise.
import t from 'tap'
import { checkBearer, checkDebugAccess, isLoopback } from '../../src/service/auth.ts'

t.test('checkBearer accepts the token and refuses a wrong or missing one with CMP_ERR_UNAUTHORIZED', async t => {
  t.doesNotThrow(() => checkBearer('Bearer abc', 'abc'))
  t.doesNotThrow(() => checkBearer('bearer abc ', 'abc'), 'the scheme is case-insensitive')
  t.throws(() => checkBearer('Bearer abd', 'abc'), { code: 'CMP_ERR_UNAUTHORIZED', status: 401 })
  t.throws(() => checkBearer(undefined, 'abc'), { code: 'CMP_ERR_UNAUTHORIZED', message: /no Authorization/ })
  t.throws(() => checkBearer('Basic abc', 'abc'), { code: 'CMP_ERR_UNAUTHORIZED' })
})

t.test('isLoopback: 127/8, ::1 and IPv4-mapped loopback; nothing else', async t => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) t.ok(isLoopback(a), a)
  for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '128.0.0.1', 'fe80::1', '::', '0.0.0.0', '', undefined, '127.0.0.1.evil']) t.notOk(isLoopback(a), String(a))
})

t.test('without DEBUG_TOKEN, debug access is loopback only (403 CMP_ERR_DEBUG_FORBIDDEN elsewhere)', async t => {
  t.doesNotThrow(() => checkDebugAccess(undefined, '127.0.0.1', undefined))
  t.doesNotThrow(() => checkDebugAccess(undefined, '::1', undefined))
  t.throws(() => checkDebugAccess(undefined, '10.1.2.3', undefined), { code: 'CMP_ERR_DEBUG_FORBIDDEN', status: 403, message: /10\.1\.2\.3/ })
  t.throws(() => checkDebugAccess('Bearer anything', '10.1.2.3', undefined), { code: 'CMP_ERR_DEBUG_FORBIDDEN' }, 'a token does not open it when none is configured')
})

t.test('with DEBUG_TOKEN, the token is required from every address, loopback included', async t => {
  t.doesNotThrow(() => checkDebugAccess('Bearer dbg', '10.1.2.3', 'dbg'))
  t.throws(() => checkDebugAccess(undefined, '127.0.0.1', 'dbg'), { code: 'CMP_ERR_UNAUTHORIZED', status: 401 })
  t.throws(() => checkDebugAccess('Bearer nope', '127.0.0.1', 'dbg'), { code: 'CMP_ERR_UNAUTHORIZED' })
})
