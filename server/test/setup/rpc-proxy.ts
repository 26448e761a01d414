import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export type ProxyMode = 'forward' | 'down' | 'stale-head'

/**
 * A JSON-RPC proxy in front of anvil for failure tests: it can go down (503), serve a stale head, or
 * refuse eth_getLogs over more than `logsRangeMax` blocks the way hosted providers do.
 */
export async function startRpcProxy(targetUrl: string) {
  const state: { mode: ProxyMode; logsRangeMax: bigint | undefined; calls: number } = {
    mode: 'forward',
    logsRangeMax: undefined,
    calls: 0,
  }
  const server: Server = createServer(async (request, response) => {
    state.calls += 1
    const body = await readBody(request)
    if (state.mode === 'down') {
      response.writeHead(503).end('unavailable')
      return
    }
    const call = JSON.parse(body) as {
      id: number
      method: string
      params: Array<Record<string, string> | string | boolean>
    }
    const refusal = refuseLargeRange(call, state.logsRangeMax)
    if (refusal !== undefined) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(refusal))
      return
    }
    const upstream = await fetch(targetUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    const answer = (await upstream.json()) as { result?: { timestamp?: string } }
    if (
      state.mode === 'stale-head' &&
      call.method === 'eth_getBlockByNumber' &&
      answer.result?.timestamp !== undefined
    ) {
      answer.result.timestamp = '0x1' // 1970: older than any staleness bound
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

function refuseLargeRange(
  call: { id: number; method: string; params: unknown[] },
  logsRangeMax: bigint | undefined,
) {
  if (call.method !== 'eth_getLogs' || logsRangeMax === undefined) return undefined
  const filter = call.params[0] as { fromBlock: string; toBlock: string }
  if (BigInt(filter.toBlock) - BigInt(filter.fromBlock) + 1n <= logsRangeMax) return undefined
  return {
    jsonrpc: '2.0',
    id: call.id,
    error: { code: -32005, message: `query returned more than 10000 results` },
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  let body = ''
  for await (const chunk of request) body += chunk
  return body
}
