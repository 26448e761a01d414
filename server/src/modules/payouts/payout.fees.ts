/**
 * EIP-1559 fees for payouts, pure. Payouts are more urgent than sweeps: maxFee = 2 × next base fee +
 * priority (ethers' headroom: six full blocks of +12.5 %). A replacement must beat the transaction it
 * replaces by ≥ 10 % on both fields (geth's PriceBump) — we take +12.5 % and +1 wei — and never bids
 * below what the market asks now.
 */
export type FeeMarket = Readonly<{ baseFeePerGas: bigint; priorityFeePerGas: bigint }>
export type Fees = Readonly<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }>

export const payoutFeeLimits = {
  baseFeeMultiplierPercent: 200n,
  /** A replacement bids ≥ this per mille of the fees it replaces (+12.5 %, + 1 wei): geth wants +10 %. */
  replacementBumpPerMille: 1125n,
  /** Gas limit = estimate × 125 % (as sweeps): a cold slot or token upgrade can add a few thousand gas. */
  gasLimitMultiplierPercent: 125n,
  /** No payout pays more than 500 gwei per gas; above it the payout waits (delay rather than overpay). */
  maxFeePerGasCapWei: 500_000_000_000n,
} as const

export function feesFor(market: FeeMarket): Fees {
  const maxPriorityFeePerGas = market.priorityFeePerGas
  const maxFeePerGas =
    (market.baseFeePerGas * payoutFeeLimits.baseFeeMultiplierPercent) / 100n + maxPriorityFeePerGas
  return { maxFeePerGas, maxPriorityFeePerGas }
}

const larger = (a: bigint, b: bigint) => (a > b ? a : b)

/** Fees of a replacement: ≥ +12.5 % + 1 wei on both fields of `previous`, and at least today's market. */
export function replacementFees(previous: Fees, market: FeeMarket): Fees {
  const bump = (value: bigint) => (value * payoutFeeLimits.replacementBumpPerMille + 999n) / 1000n + 1n
  const now = feesFor(market)
  const maxPriorityFeePerGas = larger(bump(previous.maxPriorityFeePerGas), now.maxPriorityFeePerGas)
  const maxFeePerGas = larger(larger(bump(previous.maxFeePerGas), now.maxFeePerGas), maxPriorityFeePerGas)
  return { maxFeePerGas, maxPriorityFeePerGas }
}

export function gasLimitFor(estimate: bigint): bigint {
  return (estimate * payoutFeeLimits.gasLimitMultiplierPercent + 99n) / 100n
}

/** Tokens per native coin, as the configuration's `rates` table writes them: rates[native][token]. */
export type RateTable = Readonly<Record<string, Readonly<Record<string, string>>>>

// Rates are decimal text with at most this many decimals (as invoice rates).
const rateDecimals = 18
const weiPerCoin = 10n ** 18n

/**
 * The gas a payout burned, in its token's minor units at the configured rate of the network's native
 * coin, rounded down (an estimate for the cost KPI, never booked). No rate, or one that does not parse:
 * null — unknown is said so, never guessed.
 */
export function networkFeeInAsset(
  feeWei: bigint,
  token: Readonly<{ symbol: string; decimals: number }>,
  nativeSymbol: string,
  rates: RateTable,
): Readonly<{ inAssetMinor: bigint; rate: string }> | null {
  const rate = rates[nativeSymbol]?.[token.symbol]
  if (rate === undefined) return null
  const rateScaled = parseRate(rate)
  if (rateScaled === undefined) return null
  const inAssetMinor =
    (feeWei * rateScaled * 10n ** BigInt(token.decimals)) / (weiPerCoin * 10n ** BigInt(rateDecimals))
  return { inAssetMinor, rate }
}

function parseRate(text: string): bigint | undefined {
  const match = /^(\d{1,30})(?:\.(\d{1,18}))?$/.exec(text)
  if (match === null) return undefined
  return (
    BigInt(match[1] ?? '0') * 10n ** BigInt(rateDecimals) +
    BigInt((match[2] ?? '').padEnd(rateDecimals, '0') || '0')
  )
}
