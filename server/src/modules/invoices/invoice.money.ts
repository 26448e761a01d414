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
