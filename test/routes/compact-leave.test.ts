// Clients that leave: whenever a client goes away (before, during or right after its upload), its
// request ends and releases everything: the in-flight count, the budget, the temporary files.
import t from 'tap'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { assertNoTempFiles, multipart, testApp, twoSegments } from '../support/http.ts'

t.test('40 uploads closed right after their body: every request ends, nothing is held', async t => {
  const app = await testApp(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const paths = await twoSegments(t.testdir())
  const body = await multipart(await Promise.all(paths.map(async (p, i) => ({ name: `${i}.parquet`, data: await readFile(p) }))))
  const head = Buffer.from(`POST /compact HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: ${body.headers['content-type']}\r\ncontent-length: ${body.payload.length}\r\n\r\n`)
  const cuts = [head.length + body.payload.length, head.length + Math.floor(body.payload.length / 2), head.length, Math.floor(head.length / 2)]
  await Promise.all(Array.from({ length: Number(process.env.LEAVERS ?? 40) }, (_, i) => new Promise<void>(resolve => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(Buffer.concat([head, body.payload]).subarray(0, cuts[i % cuts.length]), () => {
        socket.destroy()
        resolve()
      })
    })
    socket.on('error', () => resolve())
  })))
  const deadline = Date.now() + 20_000
  while (app.service.state.compactionsInFlight > 0 && Date.now() < deadline) await sleep(20)
  t.equal(app.service.state.compactionsInFlight, 0, 'no request is left in flight')
  t.equal(app.service.budget.reservedBytes, 0, 'no budget is held')
  await assertNoTempFiles(t, app)
})
