import { formatUnits, MoneyError, parseUnits } from '@sluice/sdk/money'
import { AppError } from '../../lib/errors.ts'
import { amountBoundsInvalid, linkAmountInvalid } from './payment-link.errors.ts'
import { paymentLinkLimits } from './payment-link.limits.ts'
import type { PaymentLink, PaymentLinkStatus } from './payment-link.types.ts'

/** Pure rules of payment links: pricing at creation, the buyer's amount at opening, and status. */

export function linkStatus(
  link: Pick<PaymentLink, 'deactivatedAt' | 'expiresAt'>,
  now: Date,
): PaymentLinkStatus {
  if (link.deactivatedAt !== null) return 'deactivated'
  if (link.expiresAt !== null && link.expiresAt.getTime() <= now.getTime()) return 'expired'
  return 'active'
}

/** Largest amount in minor units at `decimals`. */
export function amountMaxMinor(decimals: number): bigint {
  return paymentLinkLimits.amountWholeUnitsMax * 10n ** BigInt(decimals)
}

/** A positive amount with at most `decimals` fraction digits, within the invoice maximum; 422 at `path`. */
export function parseLinkAmount(text: string, decimals: number, path: string): bigint {
  let units: bigint
  try {
    units = parseUnits(text, decimals)
  } catch (error) {
    if (error instanceof MoneyError) throw linkAmountInvalid(error.code, path, error.message)
    throw error
  }
  if (units === 0n)
    throw linkAmountInvalid('amount-not-positive', path, 'the amount must be greater than zero')
  if (units > amountMaxMinor(decimals))
    throw linkAmountInvalid(
      'amount-too-large',
      path,
      `at most ${paymentLinkLimits.amountWholeUnitsMax} units`,
    )
  return units
}

export type LinkPricing = Readonly<{
  amount: bigint | null
  amountMin: bigint | null
  amountMax: bigint | null
}>

/**
 * A fixed price (`amount` alone) or a buyer's choice bounded by amount_min/amount_max, which default to
 * the smallest unit and the invoice maximum, so every stored buyer-chosen link has both bounds.
 */
export function linkPricing(
  input: Readonly<{
    amount?: string | undefined
    amountMin?: string | undefined
    amountMax?: string | undefined
  }>,
  decimals: number,
): LinkPricing {
  if (input.amount !== undefined) {
    if (input.amountMin !== undefined || input.amountMax !== undefined)
      throw amountBoundsInvalid('body.amount_min', 'a fixed amount takes no amount_min or amount_max')
    return {
      amount: parseLinkAmount(input.amount, decimals, 'body.amount'),
      amountMin: null,
      amountMax: null,
    }
  }
  const amountMin =
    input.amountMin === undefined ? 1n : parseLinkAmount(input.amountMin, decimals, 'body.amount_min')
  const amountMax =
    input.amountMax === undefined
      ? amountMaxMinor(decimals)
      : parseLinkAmount(input.amountMax, decimals, 'body.amount_max')
  if (amountMin > amountMax) throw amountBoundsInvalid('body.amount_max', 'amount_max is below amount_min')
  return { amount: null, amountMin, amountMax }
}

const buyerAmountError = (code: string, message: string) =>
  new AppError(code, 422, message, { details: [{ path: 'body.amount', message }] })

/** The invoice amount for one opening: the fixed price, or the buyer's within the link's bounds. */
export function buyerAmount(link: PaymentLink, text: string | undefined): bigint {
  if (link.amount !== null) {
    if (text !== undefined)
      throw buyerAmountError('amount-fixed', 'this link has a fixed price; send no amount')
    return link.amount
  }
  if (text === undefined)
    throw buyerAmountError('amount-required', 'this link needs the amount you want to pay')
  let units: bigint
  try {
    units = parseUnits(text, link.amountDecimals)
  } catch (error) {
    if (error instanceof MoneyError) throw buyerAmountError(error.code, error.message)
    throw error
  }
  const min = link.amountMin ?? 1n
  const max = link.amountMax ?? amountMaxMinor(link.amountDecimals)
  if (units < min || units > max) {
    const range = `${formatUnits(min, link.amountDecimals)} to ${formatUnits(max, link.amountDecimals)}`
    throw buyerAmountError('amount-out-of-bounds', `the amount must be from ${range} ${link.currency}`)
  }
  return units
}
