import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postJson } from './http-post.ts'

let server: Server
let url = ''
const routes: Record<string, (response: ServerResponse) => void> = {
  '/whole': (response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"result":1}'),
  '/cut': (response) => {
    response.writeHead(200, { 'content-length': '100' }).write('{"result":')
    setTimeout(() => response.destroy(), 20)
  },
  '/slow': () => {},
}

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume()
    request.on('end', () => routes[request.url ?? '']?.(response))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => {
  server.closeAllConnections()
  server.close()
})

describe('postJson', () => {
  it('answers with the status and the whole body', async () => {
    const answer = await postJson(`${url}/whole`, '{}', 1_000)
    expect(answer.status).toBe(200)
    expect(answer.bytes.toString()).toBe('{"result":1}')
  })

  it('rejects an answer cut short instead of handing on part of it', async () => {
    await expect(postJson(`${url}/cut`, '{}', 1_000)).rejects.toThrow()
  })

  it('rejects when the exchange outlasts the timeout', async () => {
    await expect(postJson(`${url}/slow`, '{}', 100)).rejects.toThrow()
  })
})
