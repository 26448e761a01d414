import { signerFeeOverCap } from './signer.errors.ts'

/**
 * Per-network fee caps, pure. The cap is a signing rule, not only a sender's preference: a signer refuses a
 * transaction whose max fee is above it, so even a compromised gateway cannot burn the hot wallet's gas
 * coin on fees. A sender whose *needed* fee (next base fee + tip) is above the cap waits; when only the
 * headroom (2 × base) is above it, the max fee is lowered to the cap and the transaction still goes.
 */
export type FeeMarket = Readonly<{ baseFeePerGas: bigint; priorityFeePerGas: bigint }>
export type Fees = Readonly<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }>

export type CappedFees =
  | Readonly<{ kind: 'ok'; fees: Fees }>
  | Readonly<{ kind: 'over-cap'; neededPerGasWei: bigint; capWei: bigint; reason: string }>

/** The reason a waiting payout shows: numbers in wei/gas, so an operator can compare with a block explorer. */
export function feeCapReason(neededPerGasWei: bigint, capWei: bigint): string {
  return `fee-cap-exceeded: needs ${neededPerGasWei} wei/gas (base + tip), the network cap is ${capWei} wei/gas; waiting`
}

/** `fees` limited to `capWei`, or over-cap when base fee + tip alone is above it. */
export function capFees(fees: Fees, market: FeeMarket, capWei: bigint): CappedFees {
  const neededPerGasWei = market.baseFeePerGas + fees.maxPriorityFeePerGas
  if (neededPerGasWei > capWei || fees.maxPriorityFeePerGas > capWei)
    return { kind: 'over-cap', neededPerGasWei, capWei, reason: feeCapReason(neededPerGasWei, capWei) }
  const maxFeePerGas = fees.maxFeePerGas > capWei ? capWei : fees.maxFeePerGas
  return { kind: 'ok', fees: { maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas } }
}

/** The signer's own check: throws `signer-fee-over-cap`. */
export function assertFeesWithinCap(fees: Fees, capWei: bigint): void {
  if (fees.maxFeePerGas > capWei) throw signerFeeOverCap(fees.maxFeePerGas, capWei)
}
