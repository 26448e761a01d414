import { valueDecimals } from './invoice.types.ts'

// Exact conversions between an asset's minor units and an invoice's value units (10^-36 of one unit of
// the invoice currency), through a rate in tokens per currency unit × 10^18. Only integers.
const rateOne = 10n ** 18n

export function unitsPerMinor(decimals: number): bigint {
  return 10n ** BigInt(valueDecimals - decimals)
}

/** The value a payment of `minor` units carries (rounded down: a payer never gets more than they paid). */
export function valueOfPayment(minor: bigint, decimals: number, rateScaled: bigint = rateOne): bigint {
  return (minor * unitsPerMinor(decimals) * rateOne) / rateScaled
}

/** The minor units to ask for `dueValue` (rounded up to the asset's smallest unit, the only rounding). */
export function minorDueFor(dueValue: bigint, decimals: number, rateScaled: bigint = rateOne): bigint {
  const numerator = dueValue * rateScaled
  const denominator = rateOne * unitsPerMinor(decimals)
  return (numerator + denominator - 1n) / denominator
}

export const sameCurrencyRate = rateOne

/** The minor units `value` buys (rounded down: never more than the value). */
export function minorOfValue(value: bigint, decimals: number, rateScaled: bigint = rateOne): bigint {
  return (value * rateScaled) / (rateOne * unitsPerMinor(decimals))
}

/** One accepted asset of an invoice as the buyer credit sees it; amounts in the asset's minor units. */
export type BuyerCreditPart = Readonly<{
  assetId: string
  decimals: number
  rateScaled: bigint
  /** Final, counted payments in the asset. */
  arrivedMinor: bigint
  /** Already credited to the buyer as overpayment, in the asset. */
  creditedMinor: bigint
  /** What the store's available balance in the asset can give now. */
  coverableMinor: bigint
}>

export type BuyerCreditPlan = Readonly<{
  credits: readonly Readonly<{ assetId: string; minor: bigint }>[]
  /** Some of what is owed is still uncredited because the store's available balance cannot cover it now. */
  short: boolean
}>

const valueOfPart = (part: BuyerCreditPart, minor: bigint) =>
  valueOfPayment(minor, part.decimals, part.rateScaled)

/**
 * What to add to an invoice's buyer credit so that it holds `owedValue` (final payments above the amount
 * due): the difference with what was credited already, taken from the assets whose arrivals are least
 * credited yet (most value first), never more of an asset than arrived in it, and never more than the
 * store's available balance gives now (the rest is `short`, for a later try). Rounded down per asset: the
 * buyer is never credited more than arrived.
 */
export function planBuyerCredit(owedValue: bigint, parts: readonly BuyerCreditPart[]): BuyerCreditPlan {
  let remaining = owedValue - parts.reduce((sum, part) => sum + valueOfPart(part, part.creditedMinor), 0n)
  const ordered = parts
    .map((part) => {
      const room = part.arrivedMinor > part.creditedMinor ? part.arrivedMinor - part.creditedMinor : 0n
      const coverable = part.coverableMinor > 0n ? part.coverableMinor : 0n
      return { part, room, roomValue: valueOfPart(part, room), coverable, taken: 0n }
    })
    // Most uncredited value first; ties by asset id, so the plan never depends on the input's order.
    .sort((a, b) => {
      if (a.roomValue !== b.roomValue) return a.roomValue < b.roomValue ? 1 : -1
      return a.part.assetId < b.part.assetId ? -1 : 1
    })
  const credits: { assetId: string; minor: bigint }[] = []
  for (const line of ordered) {
    if (remaining <= 0n) break
    const wanted = smaller(line.room, minorOfValue(remaining, line.part.decimals, line.part.rateScaled))
    const minor = smaller(wanted, line.coverable)
    if (minor <= 0n) continue
    line.taken = minor
    credits.push({ assetId: line.part.assetId, minor })
    remaining -= valueOfPart(line.part, minor)
  }
  // Short: what remains would fit (a whole minor unit) in an asset's room, but not in the store's balance.
  const short =
    remaining > 0n &&
    ordered.some((line) => {
      const wanted = smaller(
        line.room - line.taken,
        minorOfValue(remaining, line.part.decimals, line.part.rateScaled),
      )
      return wanted > 0n && line.coverable - line.taken < wanted
    })
  return { credits, short }
}

const smaller = (a: bigint, b: bigint) => (a < b ? a : b)
