import type { TokenTransferLog } from './chain.types.ts'
import { type EvmRpc, RpcResponseError } from './evm-rpc.ts'

/** keccak256("Transfer(address,address,uint256)") */
export const transferTopic = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef'

export type RawLog = {
  address: string
  topics: string[]
  data: string
  blockNumber: string
  blockHash: string
  transactionHash: string
  logIndex: string
  removed?: boolean
}

export type BlockRange = { fromBlock: bigint; toBlock: bigint }

// Providers refuse large answers with assorted messages and codes (Infura: "query returned more than
// 10000 results"; Alchemy: "Log response size exceeded"; others: "block range is too large", -32005).
const tooManyResultsPattern =
  /more than \d+ results|response size|range is too (large|wide)|too many|limit exceeded|exceed/i

// -32005 ("limit exceeded", EIP-1474) is also what several providers answer a rate limit with ("project ID
// request rate exceeded", "daily request count exceeded", "compute units per second capacity"). A shorter
// range does not help there, and the watcher keeps planning ranges at the length last answered in full: a
// rate limit read as "too many results" would halve ranges to a few blocks for a whole catch-up.
const rateLimitPattern = /\brate\b|request count|requests? per|capacity|credits|throttl/i

export function isTooManyResultsError(error: unknown): boolean {
  if (!(error instanceof RpcResponseError) || rateLimitPattern.test(error.message)) return false
  return error.code === -32005 || tooManyResultsPattern.test(error.message)
}

/**
 * A node answered a Transfer log whose hashes, topics or numbers are not well-formed hex. The range is
 * refused (the tick fails and is tried again), never skipped: a deposit in it would be missed.
 */
export class MalformedLogError extends Error {
  override readonly name = 'MalformedLogError'
}

const hash32Pattern = /^0x[0-9a-fA-F]{64}$/
const quantityPattern = /^0x[0-9a-fA-F]{1,16}$/
const addressPattern = /^0x[0-9a-fA-F]{40}$/

/** Decodes a Transfer log; logs that are not a standard 3-topic Transfer (e.g. ERC-721) return undefined. */
export function decodeTransferLog(log: RawLog): TokenTransferLog | undefined {
  const [topic0, fromTopic, toTopic] = log.topics
  if (topic0 !== transferTopic || fromTopic === undefined || toTopic === undefined || log.topics.length !== 3)
    return undefined
  if (!/^0x[0-9a-fA-F]{1,64}$/.test(log.data)) return undefined
  assertWellFormed(log, fromTopic, toTopic)
  return {
    blockNumber: BigInt(log.blockNumber),
    blockHash: log.blockHash.toLowerCase(),
    txHash: log.transactionHash.toLowerCase(),
    logIndex: Number.parseInt(log.logIndex, 16),
    tokenAddress: log.address.toLowerCase(),
    from: `0x${fromTopic.slice(26).toLowerCase()}`,
    to: `0x${toTopic.slice(26).toLowerCase()}`,
    amount: BigInt(log.data),
  }
}

/** What is stored or matched from a log must be hex (payment.repo.ts sends it comma-delimited). */
function assertWellFormed(log: RawLog, fromTopic: string, toTopic: string): void {
  const wellFormed =
    hash32Pattern.test(log.transactionHash) &&
    hash32Pattern.test(log.blockHash) &&
    hash32Pattern.test(fromTopic) &&
    hash32Pattern.test(toTopic) &&
    quantityPattern.test(log.blockNumber) &&
    quantityPattern.test(log.logIndex) &&
    addressPattern.test(log.address)
  if (!wellFormed) throw new MalformedLogError('a node answered a Transfer log that is not well-formed hex')
}

export type LogQuery = { address?: readonly string[]; topics: readonly (string | readonly string[] | null)[] }

/**
 * eth_getLogs over `range`, halving the range whenever the provider answers "too many results", so a
 * busy block range costs more calls but never fails the scan. Returns the logs and the block the answer
 * actually covers up to (≤ range.toBlock): the caller advances its cursor to there.
 */
export async function getLogsShrinking(
  rpc: EvmRpc,
  range: BlockRange,
  query: LogQuery,
): Promise<{ logs: RawLog[]; coveredToBlock: bigint }> {
  let toBlock = range.toBlock
  for (;;) {
    try {
      const logs = await rpc.call<RawLog[]>('eth_getLogs', [
        { fromBlock: `0x${range.fromBlock.toString(16)}`, toBlock: `0x${toBlock.toString(16)}`, ...query },
      ])
      return { logs, coveredToBlock: toBlock }
    } catch (error) {
      if (!isTooManyResultsError(error) || toBlock === range.fromBlock) throw error
      toBlock = range.fromBlock + (toBlock - range.fromBlock) / 2n
    }
  }
}

/** Native coin transfers are recorded like token transfers, under this token address and log index. */
export const nativeTokenAddress = '0x0000000000000000000000000000000000000000'
/** A transaction carries at most one native value transfer: the reserved log index names it. */
export const nativeTransferLogIndex = 2_147_483_647

type FullBlock = {
  number: string
  hash: string
  transactions: { hash: string; to: string | null; from: string; value: string }[]
}

/**
 * Native coin sent to watched addresses in `blockNumber` (from the block's transactions: there is no log).
 * Internal transfers by contracts are not seen this way; that needs tracing (docs/adr/0011).
 */
export async function nativeTransfersInBlock(
  rpc: EvmRpc,
  blockNumber: bigint,
  isWatched: (address: string) => boolean,
): Promise<TokenTransferLog[]> {
  const block = await rpc.call<FullBlock | null>('eth_getBlockByNumber', [
    `0x${blockNumber.toString(16)}`,
    true,
  ])
  if (block === null) return []
  return block.transactions
    .filter(
      (transaction) => transaction.to !== null && BigInt(transaction.value) > 0n && isWatched(transaction.to),
    )
    .map((transaction) => ({
      blockNumber,
      blockHash: block.hash.toLowerCase(),
      txHash: transaction.hash.toLowerCase(),
      logIndex: nativeTransferLogIndex,
      tokenAddress: nativeTokenAddress,
      from: transaction.from.toLowerCase(),
      to: (transaction.to as string).toLowerCase(),
      amount: BigInt(transaction.value),
    }))
}
