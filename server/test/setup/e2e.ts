import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SluiceApiError } from '@sluice/sdk/client'
import type { Hex } from 'viem'
import type { TestChain } from './chain.ts'

// Helpers every end-to-end test file uses: polling, API errors, a webhook receiver, a network config.

/** Reads until `accept` says yes (or the deadline passes, failing with the last value read). */
export async function until<T>(
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (accept(value)) return value
    if (Date.now() > deadline) throw new Error(`condition not met; last value: ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

/** The SluiceApiError a call ends with (fails the test if it succeeds or fails otherwise). */
export async function apiError(call: Promise<unknown>): Promise<SluiceApiError> {
  try {
    await call
  } catch (error) {
    if (error instanceof SluiceApiError) return error
    throw error
  }
  throw new Error('expected an API error')
}

export type ReceivedWebhook = { headers: IncomingHttpHeaders; body: string; failed: boolean }

/** A webhook receiver on loopback: records every request; `failNext` answers 500 to that many first. */
export async function startWebhookReceiver() {
  const received: ReceivedWebhook[] = []
  const state = { failNext: 0 }
  const server: Server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString()
    })
    request.on('end', () => {
      const failed = state.failNext > 0
      if (failed) state.failNext -= 1
      received.push({ headers: request.headers, body, failed })
      response.writeHead(failed ? 500 : 204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}/hooks`, received, state, close: () => server.close() }
}

/** A configured network for a test chain (automine: a long block time keeps its head "fresh"). */
export function testNetwork(name: string, chain: TestChain, token: Hex, decimals: number, symbol = 'USDT') {
  return {
    name,
    kind: 'evm',
    chainId: chain.anvil.chainId,
    rpcUrls: [chain.anvil.rpcUrl, chain.anvil.wsUrl],
    blockTimeMs: 60_000,
    finality: { kind: 'confirmations', confirmations: 3 },
    tokens: [{ symbol, contractAddress: token, decimals }],
  }
}
