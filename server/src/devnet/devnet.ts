import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { bscUsdCloneAbi, bscUsdCloneBytecode } from '@sluice/contracts/artifacts/BscUsdClone'
import { tetherUsdCloneAbi, tetherUsdCloneBytecode } from '@sluice/contracts/artifacts/TetherUsdClone'
import { usdCoinCloneAbi, usdCoinCloneBytecode } from '@sluice/contracts/artifacts/UsdCoinClone'
import { type Abi, createPublicClient, createTestClient, createWalletClient, type Hex, http } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import type { DevnetConfig, NetworkConfig, TokenConfig } from '../config/config.types.ts'
import { type AnvilInstance, startAnvil, stopOrphanedAnvil } from './anvil.ts'
import {
  type DevnetChainSpec,
  type DevnetTokenKind,
  devnetChains,
  devnetDeployerIndex,
  devnetMnemonic,
} from './devnet-chains.ts'

export type Devnet = { networks: NetworkConfig[]; stop: () => Promise<void> }

const tokenArtifacts: Record<DevnetTokenKind, { abi: Abi; bytecode: Hex }> = {
  'tether-usd-clone': { abi: tetherUsdCloneAbi, bytecode: tetherUsdCloneBytecode },
  'usd-coin-clone': { abi: usdCoinCloneAbi, bytecode: usdCoinCloneBytecode },
  'bsc-usd-clone': { abi: bscUsdCloneAbi, bytecode: bscUsdCloneBytecode },
}

/** Where the generated networks config lives; the devnet CLI reads it to find the running chains. */
export function devnetNetworksPath(dataDir: string): string {
  return join(dataDir, 'devnet', 'networks.json')
}

export function readDevnetNetworks(dataDir: string): NetworkConfig[] | undefined {
  const path = devnetNetworksPath(dataDir)
  if (!existsSync(path)) return undefined
  return (JSON.parse(readFileSync(path, 'utf8')) as { networks: NetworkConfig[] }).networks
}

async function isPortFree(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}`, { method: 'POST', signal: AbortSignal.timeout(300) })
    return false
  } catch {
    return true
  }
}

async function startChain(
  spec: DevnetChainSpec,
  devnet: DevnetConfig,
  dataDir: string,
): Promise<AnvilInstance> {
  const blockTimeMs = devnet.blockTimeMs[spec.name] ?? spec.blockTimeMsDefault
  const statePath = devnet.persistState ? join(dataDir, 'devnet', `${spec.name}.state.json`) : undefined
  // An anvil orphaned by a killed gateway still holds the preferred port: stop it before choosing.
  const pidPath = join(dataDir, 'devnet', `${spec.name}.pid`)
  await stopOrphanedAnvil(pidPath)
  return await startAnvil({
    chainId: spec.chainId,
    blockTimeSeconds: blockTimeMs / 1000,
    slotsInAnEpoch: spec.slotsInAnEpoch,
    port: (await isPortFree(spec.portPreferred)) ? spec.portPreferred : undefined,
    statePath,
    pidPath,
  })
}

async function deployTokens(spec: DevnetChainSpec, rpcUrl: string, previous: NetworkConfig | undefined) {
  const publicClient = createPublicClient({ transport: http(rpcUrl, { timeout: 10_000 }) })
  const previousTokens = previous?.chainId === spec.chainId ? previous.tokens : []
  const reusable = await Promise.all(
    previousTokens.map(
      async (token) => ((await publicClient.getCode({ address: token.contractAddress })) ?? '0x') !== '0x',
    ),
  )
  if (previousTokens.length === spec.tokens.length && reusable.every(Boolean)) return previousTokens
  const account = mnemonicToAccount(devnetMnemonic, { addressIndex: devnetDeployerIndex })
  const wallet = createWalletClient({ account, transport: http(rpcUrl, { timeout: 10_000 }) })
  const chain = {
    id: spec.chainId,
    name: spec.name,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  }
  let nonce = await publicClient.getTransactionCount({ address: account.address, blockTag: 'pending' })
  const hashes: Hex[] = []
  for (const token of spec.tokens) {
    const artifact = tokenArtifacts[token.kind]
    hashes.push(await wallet.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode, chain, nonce }))
    nonce += 1
  }
  // Mined now rather than at the chain's next interval block (up to 2 s on the ethereum devnet).
  const testClient = createTestClient({ mode: 'anvil', transport: http(rpcUrl, { timeout: 10_000 }) })
  await testClient.mine({ blocks: 1 })
  const receipts = await Promise.all(
    hashes.map((hash) => publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 })),
  )
  return spec.tokens.map((token, index): TokenConfig => {
    const address = receipts[index]?.contractAddress
    if (address === undefined || address === null)
      throw new Error(`deploying ${token.symbol} on ${spec.name} failed`)
    return { symbol: token.symbol, contractAddress: address, decimals: token.decimals }
  })
}

/**
 * Starts the three devnet chains, deploys (or, with persisted state, reuses) the token clones and
 * writes the generated networks config to <dataDir>/devnet/networks.json.
 */
export async function startDevnet(devnet: DevnetConfig, dataDir: string): Promise<Devnet> {
  mkdirSync(join(dataDir, 'devnet'), { recursive: true })
  const previous = devnet.persistState ? (readDevnetNetworks(dataDir) ?? []) : []
  const instances: AnvilInstance[] = []
  const stop = async () => {
    await Promise.all(instances.map((instance) => instance.stop()))
  }
  try {
    // The chains are independent: started and given their tokens side by side (startup time, issue 2).
    const started = await Promise.allSettled(
      devnetChains.map(async (spec): Promise<NetworkConfig> => {
        const instance = await startChain(spec, devnet, dataDir)
        instances.push(instance)
        const tokens = await deployTokens(
          spec,
          instance.rpcUrl,
          previous.find((network) => network.name === spec.name),
        )
        return {
          name: spec.name,
          kind: 'evm',
          chainId: spec.chainId,
          rpcUrls: [instance.rpcUrl, instance.wsUrl],
          blockTimeMs: devnet.blockTimeMs[spec.name] ?? spec.blockTimeMsDefault,
          finality: spec.finality,
          tokens,
        }
      }),
    )
    // Every chain has settled, so the catch below stops all that started, none still starting.
    const networks = started.map((result) => {
      if (result.status === 'rejected') throw result.reason
      return result.value
    })
    writeFileSync(
      devnetNetworksPath(dataDir),
      `${JSON.stringify({ generatedAt: new Date().toISOString(), networks }, null, 2)}\n`,
    )
    return { networks, stop }
  } catch (error) {
    await stop()
    throw error
  }
}
