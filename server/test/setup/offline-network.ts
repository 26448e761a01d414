import type { NetworkConfig } from '../../src/config/config.types.ts'

/**
 * A network for tests that never reach a chain: its one RPC URL (port 1) refuses connections, so a test
 * that talks to it by mistake fails at once. One USDT token with 6 decimals; slow blocks, so nothing waits
 * on time.
 */
export function offlineNetwork(
  options: Readonly<{
    name: string
    tokenAddress: `0x${string}`
    chainId?: number
    confirmations?: number
    treasury?: NetworkConfig['treasury']
  }>,
): NetworkConfig {
  return {
    name: options.name,
    kind: 'evm',
    chainId: options.chainId ?? 31_337,
    rpcUrls: ['http://127.0.0.1:1'],
    blockTimeMs: 60_000,
    finality: { kind: 'confirmations', confirmations: options.confirmations ?? 3 },
    tokens: [{ symbol: 'USDT', contractAddress: options.tokenAddress, decimals: 6 }],
    ...(options.treasury === undefined ? {} : { treasury: options.treasury }),
  }
}
