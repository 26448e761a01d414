import { getPublicNetworkFees, type NetworkFeeWire } from '@sluice/sdk/api/network-fees'
import { formatUnits } from '@sluice/sdk/money'
import type { FastifyInstance } from 'fastify'
import type { NetworkConfig } from '../../config/config.types.ts'
import { limits } from '../../config/limits.ts'
import { type RouteDependencies, registerOperation } from '../route.ts'

/** Limits of the checkout's fee hint, each with its reason. */
export const networkFeeLimits = {
  /**
   * Gas of a typical ERC-20 `transfer` to an address that already holds the token: ~35k–65k; we quote
   * the top so the estimate is not below what the buyer pays (a first receipt costs more, ~52k+).
   */
  transferGas: 65_000n,
  /**
   * Gas prices are cached this long per network: every checkout page asks, and the price a buyer sees
   * need not be fresher than a block or two on the slowest network we know (12 s).
   */
  cacheMs: 15_000,
  /**
   * Networks whose finality is the RPC's `finalized` tag: finality is taken as this many blocks (Ethereum
   * finalizes after two epochs of 32 slots). An estimate for the hint only; crediting follows the tag.
   */
  finalizedTagBlocks: 64,
  /** Native coins of EVM networks have 18 decimals. */
  nativeDecimals: 18,
} as const

type CachedPrice = { gasPriceWei: bigint | undefined; fetchedAtMs: number }

async function fetchGasPrice(network: NetworkConfig): Promise<bigint | undefined> {
  const url = network.rpcUrls.find((candidate) => candidate.startsWith('http'))
  if (url === undefined) return undefined
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_gasPrice', params: [] }),
      signal: AbortSignal.timeout(limits.rpcTimeoutMs),
    })
    const body = (await response.json()) as { result?: string }
    return body.result === undefined ? undefined : BigInt(body.result)
  } catch {
    // The hint is optional: a slow or failing RPC shows no fee rather than failing the page.
    return undefined
  }
}

export function finalSeconds(network: NetworkConfig): number {
  const blocks =
    network.finality.kind === 'tag' ? networkFeeLimits.finalizedTagBlocks : network.finality.confirmations
  return Math.ceil((blocks * network.blockTimeMs) / 1000)
}

/** Marks the cheapest and the fastest networks; no mark where every network is the same. */
export function rankNetworkFees(
  rows: readonly Omit<NetworkFeeWire, 'cheapest' | 'fastest'>[],
): NetworkFeeWire[] {
  const fees = rows.flatMap((row) => (row.gas_price_wei === null ? [] : [BigInt(row.gas_price_wei)]))
  const lowestFee = fees.reduce<bigint | undefined>(
    (low, fee) => (low === undefined || fee < low ? fee : low),
    undefined,
  )
  const feesDiffer = fees.some((fee) => fee !== lowestFee)
  const times = rows.map((row) => row.final_seconds)
  const fastest = Math.min(...times)
  const timesDiffer = times.some((time) => time !== fastest)
  return rows.map((row) => ({
    ...row,
    cheapest: feesDiffer && row.gas_price_wei !== null && BigInt(row.gas_price_wei) === lowestFee,
    fastest: timesDiffer && row.final_seconds === fastest,
  }))
}

export function registerNetworkFeeRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  // One entry per configured network: bounded by the configuration.
  const cache = new Map<string, CachedPrice>()
  const priceOf = async (network: NetworkConfig): Promise<bigint | undefined> => {
    const nowMs = dependencies.now().getTime()
    const cached = cache.get(network.name)
    if (cached !== undefined && nowMs - cached.fetchedAtMs < networkFeeLimits.cacheMs)
      return cached.gasPriceWei
    const gasPriceWei = await fetchGasPrice(network)
    cache.set(network.name, { gasPriceWei, fetchedAtMs: nowMs })
    return gasPriceWei
  }
  registerOperation(
    app,
    getPublicNetworkFees,
    async () => {
      const rows = await Promise.all(
        dependencies.networks.map(async (network) => {
          const gasPrice = await priceOf(network)
          const fee = gasPrice === undefined ? undefined : gasPrice * networkFeeLimits.transferGas
          return {
            network: network.name,
            gas_price_wei: gasPrice === undefined ? null : gasPrice.toString(),
            transfer_gas: networkFeeLimits.transferGas.toString(),
            fee_native: fee === undefined ? null : formatUnits(fee, networkFeeLimits.nativeDecimals),
            final_seconds: finalSeconds(network),
          }
        }),
      )
      return { data: rankNetworkFees(rows) }
    },
    dependencies,
  )
}
