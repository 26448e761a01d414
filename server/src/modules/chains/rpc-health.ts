import type { NetworkConfig } from '../../config/config.types.ts'
import { limits } from '../../config/limits.ts'
import { describeUrlWithoutSecrets } from '../../lib/logger.ts'

export type RpcUrlHealth = {
  /** Scheme and host only: RPC URLs often embed API keys. */
  url: string
  healthy: boolean
  headNumber?: string
  headAgeMs?: number
  problem?: string
}

export type NetworkHealth = { network: string; chainId: number; healthy: boolean; rpcUrls: RpcUrlHealth[] }

type BlockHeader = { number: string; timestamp: string }

/** How old a head may be before its RPC counts as stale (issue 4: older than 3 block times). */
export function headStalenessMs(network: Pick<NetworkConfig, 'blockTimeMs'>): number {
  return Math.max(limits.headStalenessFloorMs, limits.headStalenessBlockTimes * network.blockTimeMs)
}

async function fetchLatestBlock(url: string): Promise<BlockHeader> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'eth_getBlockByNumber',
      params: ['latest', false],
    }),
    signal: AbortSignal.timeout(limits.rpcTimeoutMs),
  })
  if (!response.ok) throw new Error(`HTTP ${response.status}`)
  const body = (await response.json()) as { result?: BlockHeader | null; error?: { message?: string } }
  if (body.result === undefined || body.result === null) throw new Error(body.error?.message ?? 'no block')
  return body.result
}

/** Probes one http(s) RPC URL for a fresh head; WebSocket URLs are used for wake-ups only, not probed. */
export async function probeRpcUrl(
  url: string,
  network: NetworkConfig,
  nowMs = Date.now(),
): Promise<RpcUrlHealth> {
  const shown = describeUrlWithoutSecrets(url)
  if (!url.startsWith('http')) return { url: shown, healthy: false, problem: 'not probed (websocket)' }
  try {
    const block = await fetchLatestBlock(url)
    const headAgeMs = nowMs - Number.parseInt(block.timestamp, 16) * 1000
    const headNumber = BigInt(block.number).toString()
    const fresh = headAgeMs <= headStalenessMs(network)
    return fresh
      ? { url: shown, healthy: true, headNumber, headAgeMs }
      : { url: shown, healthy: false, headNumber, headAgeMs, problem: 'stale head' }
  } catch (error) {
    return { url: shown, healthy: false, problem: error instanceof Error ? error.message : String(error) }
  }
}

/** A network is healthy when at least one of its RPC URLs answers with a fresh head. */
export async function probeNetwork(network: NetworkConfig): Promise<NetworkHealth> {
  const rpcUrls = await Promise.all(network.rpcUrls.map((url) => probeRpcUrl(url, network)))
  return {
    network: network.name,
    chainId: network.chainId,
    healthy: rpcUrls.some((url) => url.healthy),
    rpcUrls,
  }
}
