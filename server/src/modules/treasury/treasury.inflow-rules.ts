import { createHash } from 'node:crypto'
import type { Address, Hex } from 'viem'
import type { NetworkConfig } from '../../config/config.types.ts'
import { assetId } from '../../lib/money.ts'
import { treasuryLimits } from './treasury.limits.ts'
import type {
  HotWalletInflow,
  InflowCheck,
  InflowRefusalCode,
  InflowSource,
  InflowTransaction,
} from './treasury.types.ts'

/**
 * The pure rules of booking inflows to the hot wallet (treasury.inflow.ts; docs/adr/0016 decision 9):
 * the deterministic ids, which block range the scan reads next, and what a final transaction proves.
 */

/** The native coin as every gas posting books it: `ETH@<network>` (BNB on BSC included; ADR 0027). */
export function nativeAssetOf(network: string): string {
  return `ETH@${network}`
}

function factHash(network: string, txHash: string, logIndex: number | undefined): string {
  const fact = `${network}:${txHash.toLowerCase()}:${logIndex === undefined ? 'native' : logIndex}`
  return createHash('sha256').update(fact).digest('hex')
}

/**
 * The ledger transfer id (and `treasury_inflows` id) of one chain fact. A digest, not the fact spelled
 * out: network (≤ 32) + tx hash (66) + log index would not fit the ledger's 100-character ids. The same
 * fact always gets the same id, whoever books it (the scan, the command) and however often.
 */
export function inflowId(network: string, txHash: string, logIndex: number | undefined): string {
  return `hot-inflow:${factHash(network, txHash, logIndex)}`
}

/** The id of the cold wallet's opening balance booked with an inflow (same digest, another prefix). */
export function coldOpeningId(id: string): string {
  return `cold-opening:${id.slice('hot-inflow:'.length)}`
}

/**
 * What the cold-wallet account lacks to be credited `amount` without going below zero: the part of the
 * cold wallet's holdings the ledger never saw (funded outside Sluice), booked as operator capital first.
 */
export function coldOpeningShortfall(amount: bigint, coldAvailable: bigint): bigint {
  const covered = coldAvailable > 0n ? coldAvailable : 0n
  return amount > covered ? amount - covered : 0n
}

/** The next range the scan reads: from the cursor, at most `blocksMax` blocks, never past `finalized`. */
export function nextScanRange(
  nextBlock: bigint,
  finalized: bigint,
  blocksMax: number,
): { fromBlock: bigint; toBlock: bigint } | undefined {
  if (nextBlock > finalized) return undefined
  const last = nextBlock + BigInt(blocksMax) - 1n
  return { fromBlock: nextBlock, toBlock: last < finalized ? last : finalized }
}

/** Cold address → the cold wallet's account; anyone else → the operator's capital (a deliberate deposit). */
export function inflowSource(network: NetworkConfig, from: string): InflowSource {
  const cold = network.treasury?.coldAddress.toLowerCase()
  return cold !== undefined && from.toLowerCase() === cold ? 'cold-wallet' : 'operator-capital'
}

// Control characters would let a reason forge lines in the command's output and in logs.
const controlCharacterPattern = /\p{Cc}/u

/** Why an operator's reason for booking an inflow is not acceptable; undefined when it is. */
export function inflowReasonProblem(reason: string | undefined): string | undefined {
  const text = reason?.trim() ?? ''
  if (text === '') return 'a reason is required (--reason "…"): it is the audit record of why this is booked'
  if (text.length > treasuryLimits.inflowReasonLengthMax)
    return `the reason is longer than ${treasuryLimits.inflowReasonLengthMax} characters`
  if (controlCharacterPattern.test(text)) return 'the reason must be one line without control characters'
  return undefined
}

const refused = (code: InflowRefusalCode, message: string): InflowCheck => ({
  kind: 'refused',
  code,
  message,
})

type CheckInput = Readonly<{
  network: NetworkConfig
  hotWalletAddress: Address
  transaction: InflowTransaction | undefined
  finalized: bigint
  /** A token Transfer log of the transaction; undefined: its native value. */
  logIndex: number | undefined
}>

/**
 * What a transaction proves reached the hot wallet, for the command: exactly one final Transfer log of a
 * configured token to the hot wallet (`logIndex`), or the successful transaction's native value sent to
 * the hot wallet. Anything else is a refusal with its code; nothing is guessed.
 */
export function checkInflow(input: CheckInput): InflowCheck {
  const { network, transaction } = input
  if (transaction === undefined)
    return refused('transaction-not-found', 'the network knows no mined transaction with this hash')
  if (transaction.blockNumber > input.finalized)
    return refused(
      'transaction-not-final',
      `the transaction is in block ${transaction.blockNumber}, the network's finalized block is ${input.finalized}: wait until it is final`,
    )
  if (!transaction.success)
    return refused('transaction-failed', 'the transaction failed (reverted): nothing moved')
  const hot = input.hotWalletAddress.toLowerCase() as Address
  const base = {
    network: network.name,
    txHash: transaction.hash.toLowerCase() as Hex,
    hotWalletAddress: hot,
    blockNumber: transaction.blockNumber,
  }
  if (input.logIndex === undefined) {
    if (transaction.to?.toLowerCase() !== hot)
      return refused('not-to-hot-wallet', `the transaction is not sent to the hot wallet ${hot}`)
    if (transaction.value === 0n)
      return refused(
        'zero-amount',
        'the transaction sends no native coin (name a token log with --log-index)',
      )
    const from = transaction.from.toLowerCase() as Address
    const inflow: HotWalletInflow = {
      ...base,
      logIndex: undefined,
      assetId: nativeAssetOf(network.name),
      tokenAddress: undefined,
      from,
      amount: transaction.value,
      source: inflowSource(network, from),
    }
    return { kind: 'inflow', inflow }
  }
  const log = transaction.logs.find((candidate) => candidate.logIndex === input.logIndex)
  if (log === undefined)
    return refused('log-index-unknown', `the transaction's receipt has no log ${input.logIndex}`)
  if (log.transfer === undefined)
    return refused('log-not-a-transfer', `log ${input.logIndex} is not an ERC-20 Transfer`)
  const token = network.tokens.find(
    (candidate) => candidate.contractAddress.toLowerCase() === log.address.toLowerCase(),
  )
  if (token === undefined)
    return refused('token-not-configured', `token ${log.address} is not configured on ${network.name}`)
  if (log.transfer.to.toLowerCase() !== hot)
    return refused(
      'not-to-hot-wallet',
      `log ${input.logIndex} pays ${log.transfer.to}, not the hot wallet ${hot}`,
    )
  if (log.transfer.amount === 0n)
    return refused('zero-amount', `log ${input.logIndex} moves nothing (amount 0)`)
  const from = log.transfer.from.toLowerCase() as Address
  const inflow: HotWalletInflow = {
    ...base,
    logIndex: input.logIndex,
    assetId: assetId(token.symbol, network.name),
    tokenAddress: token.contractAddress.toLowerCase() as Address,
    from,
    amount: log.transfer.amount,
    source: inflowSource(network, from),
  }
  return { kind: 'inflow', inflow }
}
