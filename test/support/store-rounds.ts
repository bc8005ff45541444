// Store mode under a flaky network, over a real socket: rounds of identical store-mode bundles
// with clients leaving early between them, then a retry whose second file cannot be written.
// Afterwards every file any 200 listed must exist with its listed size, whatever the store.
import type { Test } from 'tap'
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import type { App } from '../../src/app.ts'
import type { SegmentStore } from '../../src/storage/index.ts'
import { CompactorError } from '../../src/errors.ts'

export interface ListedFile {
  readonly url: string
  readonly file_size: number
}

interface Answer { status: number, body: string }

/** POSTs a JSON body; `leave` destroys the request after writing that many bytes of it (undefined: waits for the answer). */
function post (port: number, body: string, leave?: number): Promise<Answer | null> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/compact', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, res => {
      let text = ''
      res.on('data', (c: Buffer) => { text += c.toString() })
      res.on('end', () => resolve({ status: res.statusCode!, body: text }))
      res.on('error', reject)
    })
    if (leave === undefined) {
      req.on('error', reject)
      req.end(body)
      return
    }
    req.on('error', () => resolve(null))
    req.write(body.slice(0, leave), () => {
      req.destroy()
      resolve(null)
    })
  })
}

/**
 * Runs `rounds` rounds of `copies` identical requests, each round with a client that leaves during
 * its upload and one that leaves after it, then one retry whose second put fails; returns every
 * file the 200s listed and the retry's answer.
 */
export async function storeRounds (t: Test, app: App, manifest: object, rounds = 5, copies = 4): Promise<{ listed: ListedFile[], retry: Answer }> {
  if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const body = JSON.stringify(manifest)
  const listed: ListedFile[] = []
  for (let round = 0; round < rounds; round++) {
    const answers = await Promise.all([
      ...Array.from({ length: copies }, () => post(port, body)),
      post(port, body, Math.floor(body.length / 2)),
      post(port, body, body.length).then(async a => { await sleep(5); return a }),
    ])
    for (const answer of answers) {
      if (answer === null) continue
      t.equal(answer.status, 200, `round ${round}: ${answer.body.slice(0, 200)}`)
      if (answer.status === 200) listed.push(...(JSON.parse(answer.body).files as ListedFile[]))
    }
  }
  // the retry: its second file cannot be written
  const storage = app.service.storage
  const storeFor = storage.storeFor.bind(storage)
  let puts = 0
  storage.storeFor = (url: string): SegmentStore => {
    const store = storeFor(url)
    return {
      checkUrl: u => store.checkUrl(u),
      fetch: (u, label, temp) => store.fetch(u, label, temp),
      checkPrefix: u => store.checkPrefix(u),
      put: async (prefix, key, source) => {
        if (++puts === 2) throw new CompactorError('CMP_ERR_OUTPUT', `${key}: the store refused it`, { key })
        return store.put(prefix, key, source)
      },
    }
  }
  let retry: Answer | null
  try {
    retry = await post(port, body)
  } finally {
    storage.storeFor = storeFor
  }
  // the clients that left: their requests end too
  for (let i = 0; i < 500 && app.service.state.compactionsInFlight > 0; i++) await sleep(10)
  return { listed, retry: retry! }
}
