import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EvmRpc } from './evm-rpc.ts'
import { postJson } from './http-post.ts'

// The node:http transport of JSON-RPC (http-post.ts): kept-alive connections, timeouts, resends.
let server: Server
let url = ''
const requestsBySocket = new Map<Socket, number>()
const routes: Record<string, (request: IncomingMessage, response: ServerResponse) => void> = {
  '/quick': (_request, response) => response.writeHead(200).end('{"jsonrpc":"2.0","id":1,"result":"0x1"}'),
  '/late': (_request, response) => {
    setTimeout(() => response.writeHead(200).end('{"jsonrpc":"2.0","id":1,"result":"0x2"}'), 400)
  },
  // A server that drops a kept-alive connection as the next request arrives on it (restart, idle close).
  '/drops-reused': (request, response) => {
    const seen = (requestsBySocket.get(request.socket) ?? 0) + 1
    requestsBySocket.set(request.socket, seen)
    if (seen > 1) request.socket.destroy()
    else response.writeHead(200).end('{"jsonrpc":"2.0","id":1,"result":"0x3"}')
  },
  '/moved': (_request, response) => response.writeHead(308, { location: '/quick' }).end(),
}

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume()
    request.on('end', () => routes[request.url ?? '']?.(request, response))
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => {
  server.closeAllConnections()
  server.close()
})

describe('postJson on kept-alive connections', () => {
  it("a finished request's timeout does not cut the next request on the same kept-alive connection", async () => {
    await postJson(`${url}/quick`, '{}', 200)
    // Same socket (kept alive), a longer answer: the first request's signal fires at 200 ms.
    const answer = await postJson(`${url}/late`, '{}', 2_000)
    expect(answer.bytes.toString()).toContain('0x2')
  })

  it('adds no listener per request to a kept-alive socket', async () => {
    const warnings: Error[] = []
    const onWarning = (warning: Error) => warnings.push(warning)
    process.on('warning', onWarning)
    try {
      for (let index = 0; index < 30; index += 1) await postJson(`${url}/quick`, '{}', 1_000)
      await new Promise((resolve) => setTimeout(resolve, 50))
    } finally {
      process.off('warning', onWarning)
    }
    expect(warnings.map((warning) => warning.name)).not.toContain('MaxListenersExceededWarning')
  })

  it('sends again, on a new connection, a request whose kept-alive connection the server had closed', async () => {
    await postJson(`${url}/drops-reused`, '{}', 1_000)
    const answer = await postJson(`${url}/drops-reused`, '{}', 1_000)
    expect(answer.bytes.toString()).toContain('0x3')
  })

  it('does not fail over to the next RPC URL because the current one closed a kept-alive connection', async () => {
    const rpc = new EvmRpc({
      name: 'keep-alive',
      rpcUrls: [`${url}/drops-reused`, `${url}/quick`],
    } as unknown as ConstructorParameters<typeof EvmRpc>[0])
    await rpc.call('eth_blockNumber', [])
    await rpc.call('eth_blockNumber', [])
    expect(rpc.status().urls[0]?.failures).toBe(0)
  })
})
