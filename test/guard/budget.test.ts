// The memory budget: FIFO admission, the bounded queue and its wait time, a request larger than the
// whole budget refused at once, and every reservation given back.
import t from 'tap'
import { MemoryBudget } from '../../src/guard/budget.ts'

const budget = (limitBytes = 100, maxQueue = 10, queueTimeoutMs = 10_000): MemoryBudget => new MemoryBudget({ limitBytes, maxQueue, queueTimeoutMs })

t.test('requests that fit are admitted at once; release returns the budget to zero', async t => {
  const b = budget()
  const r1 = await b.reserve(40)
  const r2 = await b.reserve(60)
  t.equal(b.reservedBytes, 100)
  r1.release()
  r1.release()
  t.equal(b.reservedBytes, 60, 'a second release gives nothing back twice')
  r2.release()
  t.equal(b.reservedBytes, 0)
})

t.test('waiting requests are admitted in arrival order: a small one never overtakes a big one', async t => {
  const b = budget()
  const held = await b.reserve(90)
  const order: string[] = []
  const big = b.reserve(80).then(r => { order.push('big'); return r })
  const small = b.reserve(5).then(r => { order.push('small'); return r })
  t.equal(b.queued, 2, 'the small one waits behind the big one although it would fit')
  held.release()
  const [rBig, rSmall] = await Promise.all([big, small])
  t.same(order, ['big', 'small'])
  rBig.release()
  rSmall.release()
  t.equal(b.reservedBytes, 0)
  t.equal(b.queued, 0)
})

t.test('a request larger than the whole budget is refused at once with CMP_ERR_OVER_BUDGET', async t => {
  const b = budget()
  await t.rejects(b.reserve(101), { code: 'CMP_ERR_OVER_BUDGET', status: 413, details: { estimate_bytes: 101, budget_bytes: 100 } })
  t.equal(b.queued, 0)
})

t.test('past the queue, CMP_ERR_OVERLOADED at once', async t => {
  const b = budget(100, 1)
  const held = await b.reserve(100)
  const waiting = b.reserve(10)
  await t.rejects(b.reserve(10), { code: 'CMP_ERR_OVERLOADED', status: 503 })
  held.release()
  ;(await waiting).release()
  t.equal(b.reservedBytes, 0)
})

t.test('a wait longer than the queue timeout is CMP_ERR_OVERLOADED, and the next in line moves up', async t => {
  const b = budget(100, 10, 50)
  const held = await b.reserve(60)
  const started = Date.now()
  await t.rejects(b.reserve(50), { code: 'CMP_ERR_OVERLOADED' })
  t.ok(Date.now() - started >= 45, 'it waited for the timeout')
  t.equal(b.queued, 0)
  const later = await b.reserve(40)
  later.release()
  held.release()
  t.equal(b.reservedBytes, 0)
})

t.test('an abandoned head of the queue lets the smaller ones behind it in', async t => {
  const b = budget(100, 10, 10_000)
  const held = await b.reserve(60)
  const aborter = new AbortController()
  const big = b.reserve(50, aborter.signal)
  const small = b.reserve(30)
  t.equal(b.queued, 2)
  aborter.abort(new Error('client went away'))
  await t.rejects(big, { message: 'client went away' })
  const r = await small
  t.equal(b.reservedBytes, 90)
  r.release()
  held.release()
  t.equal(b.reservedBytes, 0)
  t.equal(b.queued, 0)
})
