import {
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  encodeFunctionData,
  erc20Abi,
  fallback,
  type Hex,
  http,
  keccak256,
  type Log,
  parseAbi,
  TransactionReceiptNotFoundError,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { NetworkConfig } from '../../config/config.types.ts'
import { limits } from '../../config/limits.ts'
import { sweepLimits } from './sweep.limits.ts'
import type { BroadcastOutcome, FeeMarket, ReceiptTransfer, SweepChain, SweepReceipt } from './sweep.types.ts'

/**
 * The sweeps module's view of an EVM network, through viem: reads, fee market, broadcast, receipts, and
 * offline EIP-1559 signing. Signing never touches the network, so it can run inside the database
 * transaction that stores the signed bytes before they are broadcast.
 */

// transfer() is declared without a return value: USDT returns nothing, and nothing here decodes one.
const transferAbi = parseAbi(['function transfer(address to, uint256 amount)'])
const transferTopic = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef'
// What nodes answer when this transaction is already in their pool, and when its nonce is already mined
// (geth, erigon, anvil, besu wording; OpenZeppelin Relayer's ALREADY_SUBMITTED_PATTERNS).
const alreadyKnown = /already known|known transaction|already imported|same hash was already/i
const nonceUsed = /nonce too low/i

/** viem's chain object, from our configuration (the wallet client refuses to sign for another chain id). */
export function chainOf(network: NetworkConfig): Chain {
  return defineChain({
    id: network.chainId,
    name: network.name,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [...network.rpcUrls] } },
  })
}

/** Encodes `transfer(to, amount)`: the sweep transaction's calldata. */
export function encodeTokenTransfer(to: Address, amount: bigint): Hex {
  return encodeFunctionData({ abi: transferAbi, functionName: 'transfer', args: [to, amount] })
}

export type UnsignedTransaction = Readonly<{
  to: Address
  data?: Hex
  value: bigint
  gas: bigint
  nonce: number
  maxFeePerGas: bigint
  maxPriorityFeePerGas: bigint
}>

/** Signs an EIP-1559 transaction offline; the hash is keccak256 of the signed bytes, as the node computes it. */
export async function signEip1559(
  privateKey: Hex,
  chainId: number,
  transaction: UnsignedTransaction,
): Promise<{ rawTransaction: Hex; hash: Hex }> {
  const rawTransaction = await privateKeyToAccount(privateKey).signTransaction({
    type: 'eip1559',
    chainId,
    ...transaction,
  })
  return { rawTransaction, hash: keccak256(rawTransaction) }
}

function decodeTransfers(logs: readonly Log[]): ReceiptTransfer[] {
  const transfers: ReceiptTransfer[] = []
  for (const log of logs) {
    const [topic, from, to] = log.topics
    // Three topics: ERC-20 (ERC-721 indexes the token id as a fourth).
    if (topic !== transferTopic || from === undefined || to === undefined || log.topics.length !== 3) continue
    transfers.push({
      tokenAddress: log.address.toLowerCase(),
      from: `0x${from.slice(26)}`.toLowerCase(),
      to: `0x${to.slice(26)}`.toLowerCase(),
      amount: BigInt(log.data),
    })
  }
  return transfers
}

/** The middle value of a non-empty list (the upper middle for an even count). */
function median(values: readonly bigint[]): bigint {
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return sorted[sorted.length >> 1] ?? 0n
}

/** A SweepChain on the network's RPC URLs, in their failover order, with explicit timeouts and retries. */
export function createSweepChain(network: NetworkConfig): SweepChain {
  const chain = chainOf(network)
  const transport = fallback(
    network.rpcUrls
      .filter((url) => url.startsWith('http'))
      .map((url) => http(url, { timeout: limits.rpcTimeoutMs, retryCount: 1 })),
    { retryCount: 0 },
  )
  const client = createPublicClient({ chain, transport, cacheTime: 0 })
  const wallet = createWalletClient({ chain, transport })
  return {
    network,
    chainId: () => wallet.getChainId(),
    tokenBalance: (tokenAddress, holder) =>
      client.readContract({
        address: tokenAddress,
        abi: erc20Abi,
        functionName: 'balanceOf',
        args: [holder],
      }),
    nativeBalance: (address) => client.getBalance({ address }),
    transactionCount: (address) => client.getTransactionCount({ address, blockTag: 'pending' }),
    // The account is an address, not a signer: viem then sends no fee fields, so a deposit address without
    // native coin can still be estimated.
    estimateTokenTransferGas: (input) =>
      client.estimateGas({
        account: input.from,
        to: input.tokenAddress,
        data: encodeTokenTransfer(input.to, input.amount),
      }),
    feeMarket: () => readFeeMarket(client),
    broadcast: async (rawTransaction): Promise<BroadcastOutcome> => {
      try {
        await wallet.sendRawTransaction({ serializedTransaction: rawTransaction })
        return 'accepted'
      } catch (error) {
        if (error instanceof Error && alreadyKnown.test(error.message)) return 'already-known'
        if (error instanceof Error && nonceUsed.test(error.message)) return 'nonce-used'
        throw error
      }
    },
    receipt: async (hash): Promise<SweepReceipt | undefined> => {
      try {
        const receipt = await client.getTransactionReceipt({ hash })
        return {
          status: receipt.status,
          blockNumber: receipt.blockNumber,
          gasUsed: receipt.gasUsed,
          effectiveGasPrice: receipt.effectiveGasPrice,
          transfers: decodeTransfers(receipt.logs),
        }
      } catch (error) {
        if (error instanceof TransactionReceiptNotFoundError) return undefined
        throw error
      }
    },
  }
}

type FeeReader = Pick<ReturnType<typeof createPublicClient>, 'getFeeHistory' | 'estimateMaxPriorityFeePerGas'>

/**
 * Next block's base fee (the last entry of eth_feeHistory) and the median of recent blocks' median tips;
 * empty blocks report a zero tip, and then the node's own suggestion is used.
 */
async function readFeeMarket(client: FeeReader): Promise<FeeMarket> {
  const history = await client.getFeeHistory({
    blockCount: sweepLimits.feeHistoryBlocks,
    rewardPercentiles: [sweepLimits.priorityFeePercentile],
  })
  const baseFeePerGas = history.baseFeePerGas.at(-1) ?? 0n
  const rewards = (history.reward ?? []).map((block) => block[0] ?? 0n)
  const fromHistory = rewards.length === 0 ? 0n : median(rewards)
  const priorityFeePerGas = fromHistory > 0n ? fromHistory : await client.estimateMaxPriorityFeePerGas()
  return { baseFeePerGas, priorityFeePerGas }
}
