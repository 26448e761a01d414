import { assert } from '../../lib/assert.ts'
import { sweepLimits } from './sweep.limits.ts'
import type {
  FeeCaps,
  FeeMarket,
  Fees,
  GasPlan,
  GasSpent,
  ReplacementFeeDecision,
  SweepReceipt,
  SweepStatus,
} from './sweep.types.ts'

/**
 * Pure sweep rules: the state machine, and every computation a sweep's decisions rest on (threshold,
 * amount, gas limit, fees, top-up, what a receipt means). No I/O; sweep.state.test.ts covers each.
 */

export type SweepEvent =
  /** The gas station's top-up is signed and stored (it is broadcast next). */
  | 'top-up-signed'
  /** The address already holds enough native coin for the sweep's gas. */
  | 'gas-already-funded'
  /** The top-up has a successful receipt. */
  | 'top-up-included'
  /** The top-up has a reverted receipt (only possible if the address were a contract). */
  | 'top-up-reverted'
  /** The token transfer is signed and stored, and booked in transit. */
  | 'sweep-signed'
  /** The token transfer's successful receipt is final and shows the expected Transfer. */
  | 'sweep-final'
  /** The token transfer's receipt is final and moved nothing (reverted, or returned false). */
  | 'sweep-moved-nothing'

const transitions: Readonly<Record<SweepEvent, readonly [SweepStatus, SweepStatus]>> = {
  'top-up-signed': ['planned', 'gas-funding'],
  'gas-already-funded': ['planned', 'ready'],
  'top-up-included': ['gas-funding', 'ready'],
  'top-up-reverted': ['gas-funding', 'failed'],
  'sweep-signed': ['ready', 'sent'],
  'sweep-final': ['sent', 'finalized'],
  'sweep-moved-nothing': ['sent', 'failed'],
}

export function canTransition(status: SweepStatus, event: SweepEvent): boolean {
  return transitions[event][0] === status
}

/** The status after `event`. Callers derive events from the status, so an illegal pair is a bug. */
export function transition(status: SweepStatus, event: SweepEvent): SweepStatus {
  const [from, to] = transitions[event]
  assert(from === status, `sweep event ${event} is illegal in status ${status}`)
  return to
}

/** The smaller of two bigints (the built-in min takes numbers, which money code never uses). */
export function smallerOf(a: bigint, b: bigint): bigint {
  if (a < b) return a
  return b
}

/** The native coin of an EVM network, in which gas is paid and booked (ETH@<network> on every EVM chain). */
export function nativeAssetId(network: string): string {
  return `ETH@${network}`
}

export function isOpen(status: SweepStatus): boolean {
  return status !== 'finalized' && status !== 'failed'
}

/** The threshold in base units: whole tokens × 10^decimals, exact at any decimals. */
export function sweepThresholdMinor(symbol: string, decimals: number): bigint {
  assert(Number.isInteger(decimals) && decimals >= 0, `token decimals ${decimals} must be a natural number`)
  const tokens = sweepLimits.sweepThresholdTokensBySymbol[symbol] ?? sweepLimits.sweepThresholdTokens
  return tokens * 10n ** BigInt(decimals)
}

/** What to sweep: the credited amount, never more than the chain shows. A shortfall needs a person. */
export function sweepAmount(credited: bigint, onChain: bigint): { amount: bigint; shortfall: bigint } {
  assert(credited >= 0n && onChain >= 0n, 'balances are never negative')
  return credited <= onChain
    ? { amount: credited, shortfall: 0n }
    : { amount: onChain, shortfall: credited - onChain }
}

/** estimate × multiplier, rounded up: a gas limit one unit short fails the transaction. */
export function gasLimitFor(estimate: bigint): bigint {
  assert(estimate > 0n, 'a gas estimate is positive')
  const percent = sweepLimits.gasLimitMultiplierPercent
  return (estimate * percent + 99n) / 100n
}

export type FeeDecision =
  | Readonly<{ kind: 'fees'; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }>
  | Readonly<{ kind: 'over-cap'; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }>

/** EIP-1559 fees for a low-urgency transaction now: base × multiplier + priority, refused over the caps. */
export function feesFor(market: FeeMarket): FeeDecision {
  const maxPriorityFeePerGas = market.priorityFeePerGas
  const maxFeePerGas =
    (market.baseFeePerGas * sweepLimits.baseFeeMultiplierPercent) / 100n + maxPriorityFeePerGas
  const overCap =
    maxFeePerGas > sweepLimits.maxFeePerGasCapWei ||
    maxPriorityFeePerGas > sweepLimits.maxPriorityFeePerGasCapWei
  return { kind: overCap ? 'over-cap' : 'fees', maxFeePerGas, maxPriorityFeePerGas }
}

const largerOf = (a: bigint, b: bigint): bigint => (a > b ? a : b)

/**
 * Fees of a replacement at the same nonce (hot-wallet transactions: gas top-ups, sweeps to cold). Both
 * fields beat `previous` by ≥ replacementBumpPerMille + 1 wei, the minimum a node accepts, and bid at least
 * today's market (base × multiplier + tip). Above a cap the bid is lowered to it, as long as it still beats
 * `previous` by the bump; otherwise `over-cap` with the minimum it would need.
 */
export function replacementFees(previous: Fees, market: FeeMarket, caps: FeeCaps): ReplacementFeeDecision {
  const bump = (value: bigint) => (value * sweepLimits.replacementBumpPerMille + 999n) / 1000n + 1n
  const minimumPriority = bump(previous.maxPriorityFeePerGas)
  const minimumMax = largerOf(bump(previous.maxFeePerGas), minimumPriority)
  const wantedPriority = largerOf(minimumPriority, market.priorityFeePerGas)
  const marketMax = (market.baseFeePerGas * sweepLimits.baseFeeMultiplierPercent) / 100n + wantedPriority
  const maxFeePerGas = smallerOf(largerOf(minimumMax, marketMax), caps.maxFeePerGasCapWei)
  const maxPriorityFeePerGas = smallerOf(
    smallerOf(wantedPriority, caps.maxPriorityFeePerGasCapWei),
    maxFeePerGas,
  )
  if (maxFeePerGas < minimumMax || maxPriorityFeePerGas < minimumPriority)
    return { kind: 'over-cap', maxFeePerGas: minimumMax, maxPriorityFeePerGas: minimumPriority }
  return { kind: 'fees', maxFeePerGas, maxPriorityFeePerGas }
}

/** Native coin the gas station sends so the address can pay gas limit × max fee (0: it already can). */
export function topUpAmount(gas: GasPlan, nativeBalance: bigint): bigint {
  const needed = gas.gasLimit * gas.maxFeePerGas
  return needed > nativeBalance ? needed - nativeBalance : 0n
}

export type FundedFeeDecision =
  | Readonly<{ kind: 'fees'; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }>
  /** What the address holds no longer buys a place in the next block: wait for the base fee to fall. */
  | Readonly<{ kind: 'underfunded'; affordableMaxFeePerGas: bigint }>
  | Readonly<{ kind: 'over-cap' }>

/**
 * The sweep's fees when it is signed: today's fees, but never more than the address can pay with what it
 * holds (the top-up was sized at funding time, and the market may have moved since).
 */
export function fundedFees(market: FeeMarket, nativeBalance: bigint, gasLimit: bigint): FundedFeeDecision {
  const wanted = feesFor(market)
  if (wanted.kind === 'over-cap') return { kind: 'over-cap' }
  const affordable = nativeBalance / gasLimit
  const maxFeePerGas = smallerOf(wanted.maxFeePerGas, affordable)
  if (maxFeePerGas < market.baseFeePerGas) return { kind: 'underfunded', affordableMaxFeePerGas: affordable }
  const maxPriorityFeePerGas = smallerOf(wanted.maxPriorityFeePerGas, maxFeePerGas)
  return { kind: 'fees', maxFeePerGas, maxPriorityFeePerGas }
}

/** The exact fee a mined transaction paid (EIP-1559: gas used × effective gas price; no L1 fee here). */
export function feePaid(spent: GasSpent): bigint {
  return spent.gasUsed * spent.effectiveGasPrice
}

export type TopUpDecision = 'rebroadcast' | 'included' | 'reverted'

/** A top-up is good as soon as it is included: the sweep cannot be mined before it anyway. */
export function decideTopUp(receipt: SweepReceipt | undefined): TopUpDecision {
  if (receipt === undefined) return 'rebroadcast'
  return receipt.status === 'success' ? 'included' : 'reverted'
}

export type SentDecision =
  /** No receipt: the transaction may never have left (crash before broadcast) or was dropped. */
  | Readonly<{ kind: 'rebroadcast' }>
  | Readonly<{ kind: 'wait' }>
  | Readonly<{ kind: 'finalize' }>
  | Readonly<{ kind: 'moved-nothing'; reason: string }>
  /** Tokens left the address but not as planned (another amount or recipient): a person decides. */
  | Readonly<{ kind: 'anomaly'; reason: string }>

export type ExpectedTransfer = Readonly<{ tokenAddress: string; from: string; to: string; amount: bigint }>

/**
 * What a sweep transaction's receipt means once the network's finality rule is met. A successful status
 * alone proves nothing for tokens that return false instead of reverting, so the Transfer log decides.
 */
export function decideSent(
  receipt: SweepReceipt | undefined,
  finalizedNumber: bigint,
  expected: ExpectedTransfer,
): SentDecision {
  if (receipt === undefined) return { kind: 'rebroadcast' }
  if (receipt.blockNumber > finalizedNumber) return { kind: 'wait' }
  if (receipt.status === 'reverted') return { kind: 'moved-nothing', reason: 'sweep transaction reverted' }
  const fromAddress = receipt.transfers.filter(
    (transfer) => transfer.tokenAddress === expected.tokenAddress && transfer.from === expected.from,
  )
  if (fromAddress.length === 0)
    return {
      kind: 'moved-nothing',
      reason: 'sweep transaction succeeded without a Transfer (token returned false)',
    }
  const exact =
    fromAddress.length === 1 &&
    fromAddress[0]?.to === expected.to &&
    fromAddress[0]?.amount === expected.amount
  if (!exact) return { kind: 'anomaly', reason: 'sweep moved tokens other than planned; needs review' }
  return { kind: 'finalize' }
}
