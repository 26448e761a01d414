import { createHash } from 'node:crypto'
import { getAddress, isAddress, zeroAddress } from 'viem'
import type { InvoiceState } from '../invoices/invoice.types.ts'
import { destinationInvalid } from './refund.errors.ts'
import type { RefundStatus, StoredRefundStatus } from './refund.types.ts'

/** Pure rules of refunds: which invoices, how much, from where, to what address; each has a test row. */

/**
 * A refund can be opened on a settled invoice, or on any invoice holding a buyer's money: the same rule as
 * the invoices module's `canRefund` (invoice.state.ts, which modules may not import; a unit test holds
 * the two equal over every state). New and processing invoices are still being paid, and an invoice made
 * invalid by a reorg holds nothing final.
 */
export function invoiceRefundable(state: InvoiceState): boolean {
  return (
    state.status === 'settled' ||
    (state.status === 'expired' && state.exception !== 'none') ||
    (state.status === 'invalid' && state.exception === 'marked')
  )
}

/**
 * Refundable in one asset: what the buyer paid in it (final payments: those credited in the ledger) less
 * the refunds of the invoice in that asset still holding or having moved money (not cancelled, not
 * expired). Never negative.
 */
export function refundableMinor(paidFinalMinor: bigint, refundedMinor: bigint): bigint {
  return paidFinalMinor > refundedMinor ? paidFinalMinor - refundedMinor : 0n
}

export type ReservationSplit = Readonly<{ fromBuyerCredit: bigint; fromMerchantBalance: bigint }>

/**
 * The buyer credit (an overpayment set apart at settlement) is the buyer's already, so a refund takes it
 * first and only the rest from the store's available balance: refunding an overpayment never touches the
 * merchant's revenue.
 */
export function splitReservation(amount: bigint, buyerCreditAvailable: bigint): ReservationSplit {
  const credit =
    buyerCreditAvailable <= 0n ? 0n : buyerCreditAvailable < amount ? buyerCreditAvailable : amount
  return { fromBuyerCredit: credit, fromMerchantBalance: amount - credit }
}

/** The stored status, or expired once the reservation has lapsed without a payout. */
export function refundStatusAt(stored: StoredRefundStatus, expiresAt: Date, now: Date): RefundStatus {
  // A requested payout holds its own reservation: the refund's expiry no longer applies.
  if (stored === 'cancelled' || stored === 'payout_requested') return stored
  return expiresAt.getTime() <= now.getTime() ? 'expired' : stored
}

/** Whether a refund in this status still holds (or has moved) money: it counts against the refundable. */
export function refundHoldsMoney(status: RefundStatus): boolean {
  return status === 'awaiting_destination' || status === 'awaiting_payout' || status === 'payout_requested'
}

const evmAddressPattern = /^0x[0-9a-fA-F]{40}$/

/**
 * The buyer's destination as an EIP-55 address. All-lowercase carries no checksum and is taken as typed;
 * anything else must carry a valid EIP-55 checksum (viem `isAddress` strict), so a typo in a copied,
 * checksummed address is caught (all-uppercase is refused unless it happens to be its own checksum).
 * Tron (T…), ENS names and anything else are refused: refunds go out on the EVM network paid on. The
 * zero address would burn the tokens.
 */
export function checkDestination(text: string): string {
  if (/^T[1-9A-HJ-NP-Za-km-z]{33}$/.test(text))
    throw destinationInvalid('a Tron address: refunds are sent on the EVM network the invoice was paid on')
  if (!evmAddressPattern.test(text))
    throw destinationInvalid('not an EVM address (0x followed by 40 hex digits)')
  if (!isAddress(text, { strict: true }))
    throw destinationInvalid('the EIP-55 checksum does not match: check for a typo')
  const address = getAddress(text)
  if (address === zeroAddress) throw destinationInvalid('the zero address would burn the refund')
  return address
}

/** Link tokens are stored as their SHA-256: a database reader cannot redirect a refund. */
export function hashLinkToken(token: string): Buffer {
  return createHash('sha256').update(token).digest()
}
