import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { batchTransferBytecode } from '@sluice/contracts/artifacts/BatchTransfer'
import { getContractAddress, type Hex } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import type { Config, NetworkConfig } from '../config/config.types.ts'
import type { Pool } from '../db/pool.ts'
import { devnetFinalityLagBlocks, devnetMnemonic, devnetSanctionedIndex } from '../devnet/devnet-chains.ts'
import { isAppError } from '../lib/errors.ts'
import type { Logger } from '../lib/logger.ts'
import { loadKeyFileMasterKeyProvider, writeNewMasterKeyFile } from '../modules/keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../modules/keys/key.service.ts'
import type { MasterKeyProvider } from '../modules/keys/key.types.ts'
import { defaultSanctionsPaths } from '../modules/sanctions/sanction.files.ts'
import { importSanctionLists, listActiveSanctionLists } from '../modules/sanctions/sanction.service.ts'
import { getGatewayHotWalletAddress, recordGasStationFunding } from '../modules/sweeps/sweep.service.ts'
import { ensureDemoMerchant } from './demo-merchant.ts'
import { ensureDemoOperator } from './demo-operator.ts'
import { configuredMasterKeyProvider, MasterKeyMissingError } from './master-key.ts'

/**
 * What `npm start` prepares on the devnet so a first try works end to end: a master key file and an HD
 * seed (both under the data directory, dev only), the demo merchant with its xpub exported, and
 * sanctions lists (the OFAC snapshot when present, plus a devnet list naming one anvil account, so
 * paying from it shows a held deposit).
 */
export async function bootstrapDevnet(
  pool: Pool,
  config: Config,
  networks: readonly NetworkConfig[],
  logger: Logger,
): Promise<{
  demo: { merchantId: string; apiKey: string }
  masterKeyProvider: MasterKeyProvider
  /** The networks with the BatchTransfer contract's address added (batch payouts). */
  networks: NetworkConfig[]
}> {
  const provider = await devnetMasterKeyProvider(config)
  try {
    await initKeys(pool, provider)
    logger.info('devnet: HD seed created (encrypted under the devnet master key)')
  } catch (error) {
    if (!isAppError(error) || error.code !== 'keys-already-initialised') throw error
  }
  const demo = await ensureDemoMerchant(pool, config.dataDir)
  // The dashboard's demo user (login, password, TOTP secret printed by the banner).
  await ensureDemoOperator(pool, config.dataDir, demo.merchantId)
  await exportAccountXpub(pool, provider, demo.merchantId)
  await ensureSanctionLists(pool, config.dataDir, logger)
  await fundGasStation(pool, provider, networks, logger)
  // Side by side: each deploy is a round of RPC calls on its own chain (startup budget, issue 2).
  const withBatches: NetworkConfig[] = await Promise.all(
    networks.map(async (network) =>
      network.batchTransferAddress === undefined
        ? { ...network, batchTransferAddress: await deployBatchTransfer(network, logger) }
        : network,
    ),
  )
  // The hot-wallet reconciliation reads balances at the newest final block, and its first run comes
  // right after start: on a fresh chain that block predates the tokens, the gas and BatchTransfer set up
  // above, and a new user's first screen showed warnings ("could not read every asset", a drift).
  await Promise.all(withBatches.map((network) => mineSetupToFinality(network)))
  return { demo, masterKeyProvider: provider, networks: withBatches }
}

/** Mines blocks until what the bootstrap set up is final (a few seconds of block time, on a devnet). */
async function mineSetupToFinality(network: NetworkConfig): Promise<void> {
  const lag = devnetFinalityLagBlocks(network.name)
  if (lag === 0) return
  const url = network.rpcUrls.find((candidate) => candidate.startsWith('http')) ?? ''
  await jsonRpc(url, 'anvil_mine', [`0x${(lag + 1).toString(16)}`])
}

// A devnet account used for nothing but deploying BatchTransfer: its first contract lands at the same address
// on every start (CREATE from nonce 0), so a persisted chain keeps it and a fresh one gets it again.
const batchTransferDeployerIndex = 19

/** Deploys BatchTransfer once per devnet chain (it has no constructor and no owner) and returns its address. */
export async function deployBatchTransfer(network: NetworkConfig, logger: Logger): Promise<`0x${string}`> {
  const url = network.rpcUrls.find((candidate) => candidate.startsWith('http')) ?? ''
  const deployer = mnemonicToAccount(devnetMnemonic, { addressIndex: batchTransferDeployerIndex }).address
  const planned = getContractAddress({ from: deployer, nonce: 0n })
  if ((await jsonRpc<string>(url, 'eth_getCode', [planned, 'latest'])) !== '0x') return planned
  await jsonRpc(url, 'anvil_setBalance', [deployer, `0x${(10n ** 18n).toString(16)}`])
  await jsonRpc(url, 'anvil_impersonateAccount', [deployer])
  const hash = await jsonRpc<Hex>(url, 'eth_sendTransaction', [
    { from: deployer, data: batchTransferBytecode },
  ])
  await jsonRpc(url, 'anvil_stopImpersonatingAccount', [deployer])
  // Mined now rather than at the chain's next interval block (up to 2 s on the ethereum devnet).
  await jsonRpc(url, 'evm_mine', [])
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const receipt = await jsonRpc<{ contractAddress: `0x${string}` | null } | null>(
      url,
      'eth_getTransactionReceipt',
      [hash],
    )
    if (receipt?.contractAddress) {
      logger.info(
        { network: network.name, address: receipt.contractAddress },
        'devnet: BatchTransfer deployed',
      )
      return receipt.contractAddress
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`deploying BatchTransfer on ${network.name}: no receipt`)
}

// The hot wallet (gas station) gets 1,000 devnet ETH once per chain, booked as operator capital, so the
// sweeper can top up deposit addresses and the ledger matches the chain from the first block.
const gasStationFundingWei = 1_000n * 10n ** 18n

async function fundGasStation(
  pool: Pool,
  provider: MasterKeyProvider,
  networks: readonly NetworkConfig[],
  logger: Logger,
): Promise<void> {
  const hotWallet = await getGatewayHotWalletAddress(pool, provider)
  for (const network of networks) {
    const url = network.rpcUrls.find((candidate) => candidate.startsWith('http')) ?? ''
    // Booked first (idempotent by reference), then minted if the chain lacks it: a crash between the two
    // steps is repaired by the next start instead of leaving chain and ledger apart.
    await recordGasStationFunding(pool, network.name, gasStationFundingWei, `devnet-genesis-${network.name}`)
    const balance = BigInt(await jsonRpc<string>(url, 'eth_getBalance', [hotWallet, 'latest']))
    if (balance > 0n) continue
    await jsonRpc(url, 'anvil_setBalance', [hotWallet, `0x${gasStationFundingWei.toString(16)}`])
    logger.info({ network: network.name, hotWallet }, 'devnet: gas station funded')
  }
}

async function jsonRpc<T>(url: string, method: string, params: unknown[]): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(10_000),
  })
  const body = (await response.json()) as { result: T; error?: { message: string } }
  if (body.error !== undefined) throw new Error(`${method}: ${body.error.message}`)
  return body.result
}

async function devnetMasterKeyProvider(config: Config): Promise<MasterKeyProvider> {
  try {
    return await configuredMasterKeyProvider(config)
  } catch (error) {
    if (!(error instanceof MasterKeyMissingError)) throw error
  }
  const path = join(config.dataDir, 'devnet-master.key')
  if (!existsSync(path)) await writeNewMasterKeyFile(path)
  return await loadKeyFileMasterKeyProvider(path)
}

async function ensureSanctionLists(pool: Pool, dataDir: string, logger: Logger): Promise<void> {
  if ((await listActiveSanctionLists(pool)).length > 0) return
  const devnetList = join(dataDir, 'devnet', 'sanctioned_addresses_DEVNET.txt')
  writeFileSync(
    devnetList,
    `${mnemonicToAccount(devnetMnemonic, { addressIndex: devnetSanctionedIndex }).address}\n`,
  )
  const paths = [...defaultSanctionsPaths().filter((path) => existsSync(path)), devnetList]
  const report = await importSanctionLists(pool, paths)
  logger.info(
    { lists: report.lists.length, skipped: report.skipped.length },
    'devnet: sanctions lists imported',
  )
}
