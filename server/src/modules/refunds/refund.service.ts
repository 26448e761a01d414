import { randomBytes } from 'node:crypto'
import { formatUnits, MoneyError, parseUnits } from '@sluice/sdk/money'
import type { TokenConfig } from '../../config/config.types.ts'
import { enqueueJob } from '../../db/job-queue.ts'
import type { Pool, PoolClient, Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { isAppError } from '../../lib/errors.ts'
import { type IdPrefix, newId } from '../../lib/ids.ts'
import { recordEvent } from '../events/event.service.ts'
import {
  getInvoice,
  type InvoiceContext,
  type InvoiceView,
  topUpBuyerCredit,
} from '../invoices/invoice.service.ts'
import {
  createTransfers,
  getAccountBalance,
  getOrCreateAccount,
  getOrCreateSystemAccount,
  getTransfer,
  listOwnerBalances,
} from '../ledger/ledger.service.ts'
import type { TransferRequest } from '../ledger/ledger.types.ts'
import { createPayout, getPayout, lockPolicyWindows, type PayoutContext } from '../payouts/payout.service.ts'
import type { Payout } from '../payouts/payout.types.ts'
import {
  invoiceNotRefundable,
  refundAmountInvalid,
  refundAssetInvalid,
  refundBuyerCreditPending,
  refundCancelled,
  refundExceedsBalance,
  refundExceedsRefundable,
  refundExpired,
  refundLinkNotFound,
  refundLinkUsed,
  refundNotFound,
  refundStatusConflict,
  refundsPerInvoiceExceeded,
} from './refund.errors.ts'
import { refundLimits } from './refund.limits.ts'
import {
  insertRefund,
  lockInvoiceRefunds,
  replaceLinkTokenHash,
  selectInvoiceRefunds,
  selectRefund,
  selectRefundByTokenHash,
  setCancelled,
  setDestination,
  setPayoutError,
  setPayoutRequested,
} from './refund.repo.ts'
import {
  checkDestination,
  hashLinkToken,
  invoiceRefundable,
  type ReservationSplit,
  refundableMinor,
  refundHoldsMoney,
  splitReservation,
} from './refund.rules.ts'
import type { OpenRefundInput, Refund, RefundWithLink } from './refund.types.ts'

// lib/ids.ts lists the prefixes it knows; 'rfd' is ours until its owner adds it there.
const refundIdPrefix = 'rfd' as IdPrefix

const newLinkToken = () => randomBytes(refundLimits.linkTokenBytes).toString('base64url')

type AssetLine = { network: string; token: TokenConfig }

/** The configured token of `SYMBOL@network` (a payment in an asset the invoice did not offer counts too). */
function assetLine(context: InvoiceContext, assetId: string): AssetLine | undefined {
  for (const network of context.networks) {
    const token = network.tokens.find((candidate) => `${candidate.symbol}@${network.name}` === assetId)
    if (token !== undefined) return { network: network.name, token }
  }
  return undefined
}

/**
 * What the buyer paid in the asset and the ledger credited: final payments only, read from the payments
 * that count (not the newest shown: a thousand dust transfers to the invoice's public address would push
 * the real payment out of those and leave nothing refundable).
 */
function finalPaidMinor(view: InvoiceView, assetId: string): bigint {
  return view.counted
    .filter((payment) => payment.status === 'finalized' && payment.assetId === assetId)
    .reduce((sum, payment) => sum + payment.amount, 0n)
}

function parseRefundAmount(text: string, decimals: number): bigint {
  let units: bigint
  try {
    units = parseUnits(text, decimals)
  } catch (error) {
    if (error instanceof MoneyError) throw refundAmountInvalid(error.code, error.message)
    throw error
  }
  if (units === 0n) throw refundAmountInvalid('amount-not-positive', 'the amount must be greater than zero')
  return units
}

type Reservations = ReservationSplit & {
  buyerCreditReservationId: string | null
  merchantReservationId: string | null
}

/**
 * Reserves the refund in the ledger as one linked batch of pending transfers to payout-clearing: the
 * buyer-credit part from the invoice's buyer-credit account, the rest from the store's available
 * account. Both or neither; insufficient funds is `refund-exceeds-balance`.
 */
async function reserveRefund(
  client: PoolClient,
  refund: { id: string; merchantId: string; invoiceId: string; assetId: string; amount: bigint },
): Promise<Reservations> {
  const { assetId } = refund
  const credit = (await listOwnerBalances(client, 'customer', refund.invoiceId)).find(
    (balance) => balance.account.purpose === 'buyer-credit' && balance.account.assetId === assetId,
  )
  const split = splitReservation(refund.amount, credit?.available ?? 0n)
  const clearing = await getOrCreateSystemAccount(client, 'payout-clearing', assetId)
  const leg = (id: string, debitAccountId: string, amount: bigint): TransferRequest => ({
    kind: 'pending',
    id,
    debitAccountId,
    creditAccountId: clearing.id,
    assetId,
    amount,
    code: 'refund-reserve',
    timeoutMs: refundLimits.reservationTimeoutMs,
    metadata: { refund_id: refund.id, invoice_id: refund.invoiceId },
  })
  const legs: TransferRequest[] = []
  const creditId = `refund:${refund.id}:buyer-credit`
  const merchantId = `refund:${refund.id}:merchant`
  if (split.fromBuyerCredit > 0n && credit !== undefined)
    legs.push(leg(creditId, credit.account.id, split.fromBuyerCredit))
  if (split.fromMerchantBalance > 0n) {
    const available = await getOrCreateAccount(client, {
      ownerType: 'merchant',
      ownerId: refund.merchantId,
      purpose: 'available',
      assetId,
      normalSide: 'credit',
      flags: { debitsMustNotExceedCredits: true },
    })
    legs.push(leg(merchantId, available.id, split.fromMerchantBalance))
  }
  try {
    await createTransfers(client, legs)
  } catch (error) {
    if (isAppError(error) && error.code === 'insufficient-funds') throw refundExceedsBalance(error)
    throw error
  }
  return {
    ...split,
    buyerCreditReservationId: split.fromBuyerCredit > 0n ? creditId : null,
    merchantReservationId: split.fromMerchantBalance > 0n ? merchantId : null,
  }
}

/**
 * A refund of the invoice with its payout and that payout's canary (none before its payout is requested),
 * read once: what counts as held and what goes back to the buyer credit are decided from the same read.
 */
type RefundHolding = Readonly<{ refund: Refund; payoutParts: readonly Payout[] }>

/** A refund's payout and its canary (docs/adr/0015), if a payout carries the refund. */
async function payoutPartsOf(db: Queryable, refund: Refund): Promise<Payout[]> {
  if (refund.payoutId === null) return []
  const payout = await getPayout(db, refund.merchantId, refund.payoutId)
  if (payout.canaryPayoutId === null) return [payout]
  return [payout, await getPayout(db, refund.merchantId, payout.canaryPayoutId)]
}

/**
 * Locks every refund of the invoice (refunds of the invoice must be serialised already) and reads their
 * payouts. Locking them all orders this transaction with pay-out-refund, refund-payout-ended and cancel,
 * which each lock one refund row before they move its money.
 */
async function lockRefundHoldings(
  client: PoolClient,
  invoiceId: string,
  now: Date,
): Promise<RefundHolding[]> {
  const max = refundLimits.refundsPerInvoiceMax
  const refunds = await selectInvoiceRefunds(client, invoiceId, now, max, { forUpdate: true })
  if (refunds.length >= max) throw refundsPerInvoiceExceeded(max)
  const holdings: RefundHolding[] = []
  for (const refund of refunds) holdings.push({ refund, payoutParts: await payoutPartsOf(client, refund) })
  return holdings
}

/** The refundable amount of the invoice in the asset, given its refunds (locked) and their payouts. */
function refundableIn(view: InvoiceView, assetId: string, holdings: readonly RefundHolding[]): bigint {
  let refunded = 0n
  for (const { refund, payoutParts } of holdings) {
    if (refund.assetId !== assetId || !refundHoldsMoney(refund.status)) continue
    refunded += refund.payoutId === null ? refund.amount : heldByPayout(payoutParts)
  }
  return refundableMinor(finalPaidMinor(view, assetId), refunded)
}

/**
 * What a refund's payout still holds or has paid. A payout that failed, was cancelled or blocked returned
 * its reservation; its canary (docs/adr/0015) is a payout of its own, paid first, and may have reached
 * the buyer before the rest ended unpaid: its amount stays counted unless it ended unpaid too. The
 * payout and its canary add up to the refund's amount.
 */
function heldByPayout(parts: readonly Payout[]): bigint {
  return parts.reduce((held, part) => (payoutEndedUnpaid(part) ? held : held + part.amount), 0n)
}

const payoutEndedUnpaid = (payout: Payout) =>
  payout.status === 'failed' || payout.status === 'cancelled' || payout.status === 'blocked'

/**
 * Brings the invoice's buyer credit up to what it is owed before a refund splits itself against it: the
 * overpayment not credited yet (topUpBuyerCredit, as the evaluate-invoice job does) and the buyer-credit
 * parts that refunds' payouts ended without paying and that were not returned yet (as the
 * refund-payout-ended job does). A split read while either waits would take that part from the store's
 * balance, and the credit landing later would take it from the store a second time. What the store's
 * available balance cannot cover now refuses the refund (`refund-buyer-credit-pending`); the caller's
 * transaction then rolls back whatever this wrote.
 */
async function settleBuyerCredit(
  client: PoolClient,
  input: OpenRefundInput,
  holdings: readonly RefundHolding[],
  context: InvoiceContext,
): Promise<void> {
  try {
    if (await topUpBuyerCredit(client, input.merchantId, input.invoiceId, context))
      throw refundBuyerCreditPending()
    for (const { refund, payoutParts } of holdings) {
      const owed = creditToReturn(refund, payoutParts)
      if (owed.kind !== 'return' || (await getTransfer(client, creditReturnId(refund))) !== undefined)
        continue
      const available = await getAccountBalance(
        client,
        (await ledgerAccount(client, 'merchant', refund.merchantId, 'available', refund.assetId)).id,
      )
      if (available.available < owed.amount) throw refundBuyerCreditPending()
      await transferCreditBack(client, refund, owed)
    }
  } catch (error) {
    // Spent between the read and the write (another payout reserved it): the same answer, same reason.
    if (isAppError(error) && error.code === 'insufficient-funds') throw refundBuyerCreditPending(error)
    throw error
  }
}

/**
 * Opens a refund in the caller's transaction: checks the invoice and the amount against what is
 * refundable, brings the invoice's buyer credit up to what it is owed (or refuses with
 * `refund-buyer-credit-pending` when the store's balance cannot cover that now), reserves the money in
 * the ledger, writes the refund (with its link token's hash) and its `refund.opened` event. Refunds of
 * one invoice are serialised, so two concurrent refunds cannot both fit under the same bound. Returns the
 * token: the only time it exists outside the buyer's hands.
 */
export async function openRefund(
  client: PoolClient,
  input: OpenRefundInput,
  context: InvoiceContext,
): Promise<RefundWithLink> {
  // Locks, always in this order where a transaction takes more than one: the invoice's refunds (advisory),
  // the invoice's refund rows, the invoice row, ledger accounts (taken by the ledger's writes, last). The
  // evaluate-invoice job takes the invoice row, then ledger accounts; pay-out-refund, refund-payout-ended
  // and cancel take one refund row, then ledger accounts (pay-out-refund: policy windows in between);
  // nothing takes the advisory lock or a refund row after the invoice row or a ledger account, so none of
  // them can wait on this transaction while it waits on them.
  await lockInvoiceRefunds(client, input.invoiceId)
  const view = await getInvoice(client, input.merchantId, input.invoiceId, context)
  if (!invoiceRefundable(view.row)) throw invoiceNotRefundable(view.row.status, view.row.exception)
  const line = assetLine(context, input.assetId)
  if (line === undefined || finalPaidMinor(view, input.assetId) === 0n)
    throw refundAssetInvalid(input.assetId)
  const amount = parseRefundAmount(input.amount, line.token.decimals)
  const now = context.now()
  const holdings = await lockRefundHoldings(client, input.invoiceId, now)
  // Never split against a buyer credit that is still owed something (docs/adr/0013, 2026-11-22).
  await settleBuyerCredit(client, input, holdings, context)
  const refundable = refundableIn(view, input.assetId, holdings)
  if (amount > refundable)
    throw refundExceedsRefundable(formatUnits(refundable, line.token.decimals), input.assetId)
  const id = newId(refundIdPrefix, now.getTime())
  const base = {
    id,
    merchantId: input.merchantId,
    invoiceId: input.invoiceId,
    assetId: input.assetId,
    amount,
  }
  const reservations = await reserveRefund(client, base)
  const linkToken = newLinkToken()
  const refund = await insertRefund(
    client,
    {
      ...base,
      ...reservations,
      network: line.network,
      symbol: line.token.symbol,
      decimals: line.token.decimals,
      reason: input.reason ?? null,
      apiKeyId: input.apiKeyId,
      expiresAt: new Date(now.getTime() + refundLimits.reservationTimeoutMs),
      createdAt: now,
      linkTokenHash: hashLinkToken(linkToken),
    },
    now,
  )
  await recordEvent(client, {
    type: 'refund.opened',
    merchantId: refund.merchantId,
    subjectId: refund.id,
    payload: refundEventPayload(refund),
  })
  return { refund, linkToken }
}

function refundEventPayload(refund: Refund) {
  return {
    refund_id: refund.id,
    invoice_id: refund.invoiceId,
    status: refund.status,
    amount: formatUnits(refund.amount, refund.decimals),
    amount_minor: refund.amount.toString(),
    asset: refund.assetId,
    network: refund.network,
    from_buyer_credit: formatUnits(refund.fromBuyerCredit, refund.decimals),
    from_merchant_balance: formatUnits(refund.fromMerchantBalance, refund.decimals),
    reason: refund.reason,
  }
}

/** A refund of the store; another store's refund is not found. */
export async function getRefund(db: Queryable, merchantId: string, id: string, now: Date): Promise<Refund> {
  const refund = await selectRefund(db, id, now)
  if (refund === undefined || refund.merchantId !== merchantId) throw refundNotFound()
  return refund
}

/** An invoice's refunds, newest first (all of them: at most refundsPerInvoiceMax). */
export async function listInvoiceRefunds(
  db: Queryable,
  merchantId: string,
  invoiceId: string,
  context: InvoiceContext,
): Promise<Refund[]> {
  await getInvoice(db, merchantId, invoiceId, context)
  return await selectInvoiceRefunds(db, invoiceId, context.now(), refundLimits.refundsPerInvoiceMax)
}

/**
 * Cancels a refund the payout has not taken: voids its reservations (the amount is refundable again and
 * the store's balance spendable) and kills its link, in one transaction. A cancelled refund is returned
 * as it is; an expired one has nothing left to release.
 */
export async function cancelRefund(pool: Pool, merchantId: string, id: string, now: Date): Promise<Refund> {
  return await withTransaction(pool, async (client) => {
    const refund = await selectRefund(client, id, now, { forUpdate: true })
    if (refund === undefined || refund.merchantId !== merchantId) throw refundNotFound()
    if (refund.status === 'cancelled') return refund
    // Its money is the payout's now: cancelling that payout is what stops it.
    if (refund.status === 'payout_requested' || !refundHoldsMoney(refund.status))
      throw refundStatusConflict(refund.status, 'cancelled')
    const pendingIds = [refund.buyerCreditReservationId, refund.merchantReservationId].flatMap((pendingId) =>
      pendingId === null ? [] : [pendingId],
    )
    try {
      await createTransfers(
        client,
        pendingIds.map((pendingId) => ({
          kind: 'void',
          id: `${pendingId}:void`,
          pendingId,
          code: 'refund-cancel',
          metadata: { refund_id: refund.id },
        })),
      )
    } catch (error) {
      // The ledger's clock passed the timeout before ours did: the reservation already lapsed.
      if (isAppError(error) && error.code === 'pending-transfer-expired')
        throw refundStatusConflict('expired', 'cancelled')
      throw error
    }
    return await setCancelled(client, refund.id, now)
  })
}

/** A new link token for a refund still awaiting its destination; the previous link stops working. */
export async function reissueRefundLink(
  db: Queryable,
  merchantId: string,
  id: string,
  now: Date,
): Promise<RefundWithLink> {
  const linkToken = newLinkToken()
  const refund = await replaceLinkTokenHash(db, { merchantId, id, hash: hashLinkToken(linkToken), now })
  if (refund !== undefined) return { refund, linkToken }
  const current = await getRefund(db, merchantId, id, now)
  throw refundStatusConflict(current.status, 'given a new link')
}

/** For the buyer's refund page: the refund by its link token alone (the token is the capability). */
export async function getRefundByLinkToken(db: Queryable, token: string, now: Date): Promise<Refund> {
  const refund = await selectRefundByTokenHash(db, hashLinkToken(token), now)
  if (refund === undefined) throw refundLinkNotFound()
  return refund
}

/** Why a link can no longer take a destination, most telling first. */
function refuseUsedLink(refund: Refund): void {
  if (refund.status === 'cancelled') throw refundCancelled()
  if (refund.destination !== null) throw refundLinkUsed()
  if (refund.status === 'expired') throw refundExpired()
}

/**
 * The buyer gives the destination: validated (EIP-55), then written by one conditional UPDATE, so of
 * concurrent submissions exactly one wins and the others get `refund-link-used`. The refund then awaits
 * its payout.
 */
export async function submitRefundDestination(
  pool: Pool,
  token: string,
  address: string,
  now: Date,
): Promise<Refund> {
  const hash = hashLinkToken(token)
  const refund = await selectRefundByTokenHash(pool, hash, now)
  if (refund === undefined) throw refundLinkNotFound()
  refuseUsedLink(refund)
  const destination = checkDestination(address)
  const updated = await withTransaction(pool, async (client) => {
    const set = await setDestination(client, hash, destination, now)
    // The payout is requested by a worker: the buyer's answer never waits on (or fails with) the
    // store's payout rules, which are the store's business.
    if (set !== undefined)
      await enqueueJob(
        client,
        payOutRefundJobKind,
        { refund_id: set.id },
        { dedupeKey: `${payOutRefundJobKind}:${set.id}` },
      )
    return set
  })
  if (updated !== undefined) return updated
  const current = await selectRefundByTokenHash(pool, hash, now)
  if (current !== undefined) refuseUsedLink(current)
  // Between the two reads the merchant reissued the link: this token no longer names a refund.
  throw refundLinkNotFound()
}

/** Job kind that turns a refund with a destination into a payout (payOutRefund). */
export const payOutRefundJobKind = 'pay-out-refund'

export type PayOutRefundResult =
  | Readonly<{ kind: 'requested'; payoutId: string }>
  | Readonly<{ kind: 'nothing-to-do'; reason: string }>
  | Readonly<{ kind: 'refused'; code: string }>

/**
 * Turns a refund awaiting its payout into a payout, in one transaction: the refund's reservations are
 * voided, its buyer-credit part moves to the store's available balance, and the payout (policy, screening,
 * address book, canary — as any payout) reserves the whole amount from there. Safe to run again: a refund
 * no longer awaiting its payout is left alone. A payout the store's rules refuse (address book, cooldown)
 * leaves the refund waiting, with the reason shown on it.
 */
export async function payOutRefund(
  pool: Pool,
  refundId: string,
  context: PayoutContext,
): Promise<PayOutRefundResult> {
  const now = context.now()
  try {
    return await withTransaction(pool, async (client) => {
      const refund = await selectRefund(client, refundId, now, { forUpdate: true })
      if (refund === undefined) return { kind: 'nothing-to-do', reason: 'refund not found' }
      if (refund.status !== 'awaiting_payout')
        return { kind: 'nothing-to-do', reason: `refund is ${refund.status}` }
      // Before the ledger rows releaseToMerchant locks, as every payout-creating transaction does.
      await lockPolicyWindows(client, refund.merchantId)
      await releaseToMerchant(client, refund)
      const payout = await createPayout(
        client,
        {
          merchantId: refund.merchantId,
          apiKeyId: refund.apiKeyId,
          network: refund.network,
          asset: refund.assetId,
          destination: refund.destination ?? '',
          amount: formatUnits(refund.amount, refund.decimals),
          externalReference: `refund:${refund.id}`,
        },
        context,
      )
      const requested = await setPayoutRequested(client, refund.id, payout.id, now)
      await recordEvent(client, {
        type: 'refund.payout_requested',
        merchantId: refund.merchantId,
        subjectId: refund.id,
        payload: {
          refund_id: refund.id,
          invoice_id: refund.invoiceId,
          payout_id: payout.id,
          payout_status: payout.status,
          amount: formatUnits(refund.amount, refund.decimals),
          asset: refund.assetId,
          destination: refund.destination,
        },
      })
      // Blocked as it was created (a sanctioned destination, the policy): it ended before the refund
      // pointed at it, so the database wrote no follow-up job; the buyer credit goes back here.
      await returnUnpaidBuyerCredit(client, requested)
      return { kind: 'requested', payoutId: payout.id }
    })
  } catch (error) {
    if (!isAppError(error) || error.httpStatus >= 500) throw error
    await setPayoutError(pool, refundId, `${error.code}: ${error.message}`, now)
    return { kind: 'refused', code: error.code }
  }
}

/** Voids the refund's reservations and moves its buyer-credit part to the store's available balance. */
async function releaseToMerchant(client: PoolClient, refund: Refund): Promise<void> {
  const transfers: TransferRequest[] = []
  for (const pendingId of [refund.buyerCreditReservationId, refund.merchantReservationId]) {
    if (pendingId !== null)
      transfers.push({
        kind: 'void',
        id: `${pendingId}:to-payout`,
        pendingId,
        code: 'refund-to-payout',
        metadata: { refund_id: refund.id },
      })
  }
  if (refund.fromBuyerCredit > 0n) {
    const credit = (await listOwnerBalances(client, 'customer', refund.invoiceId)).find(
      (balance) => balance.account.purpose === 'buyer-credit' && balance.account.assetId === refund.assetId,
    )
    if (credit === undefined) throw new Error(`refund ${refund.id}: buyer-credit account missing`)
    const available = await getOrCreateAccount(client, {
      ownerType: 'merchant',
      ownerId: refund.merchantId,
      purpose: 'available',
      assetId: refund.assetId,
      normalSide: 'credit',
      flags: { debitsMustNotExceedCredits: true },
    })
    transfers.push({
      kind: 'single',
      id: `refund:${refund.id}:credit-to-merchant`,
      debitAccountId: credit.account.id,
      creditAccountId: available.id,
      assetId: refund.assetId,
      amount: refund.fromBuyerCredit,
      code: 'refund-credit-to-payout',
      metadata: { refund_id: refund.id },
    })
  }
  // Linked: the voids and the move succeed together or not at all.
  await createTransfers(client, transfers)
}

/** Job kind written by the database when a refund's payout or its canary ends (migration 0025). */
export const refundPayoutEndedJobKind = 'refund-payout-ended'

export type RefundPayoutEndResult =
  | Readonly<{ kind: 'returned'; amount: bigint }>
  | Readonly<{ kind: 'nothing-to-do'; reason: string }>
  /** The store's available balance no longer holds what its payout's end released: try again later. */
  | Readonly<{ kind: 'waiting-for-funds' }>

/**
 * Follows a refund's payout to its end (job `refund-payout-ended`): once the payout and its canary have
 * both ended, the part of the refund that came from the buyer credit and was not paid goes back to the
 * invoice's buyer credit, from the store's available balance where the payout's void returned it. Once:
 * the transfer id is the refund's, and the amount depends only on how the payouts ended (final). The
 * refund keeps its status (payout_requested); what its payout ended as tells the rest (heldByPayout).
 */
export async function followRefundPayout(
  pool: Pool,
  refundId: string,
  now: Date,
): Promise<RefundPayoutEndResult> {
  try {
    return await withTransaction(pool, async (client) => {
      const refund = await selectRefund(client, refundId, now, { forUpdate: true })
      if (refund === undefined) return { kind: 'nothing-to-do', reason: 'refund not found' }
      return await returnUnpaidBuyerCredit(client, refund)
    })
  } catch (error) {
    if (isAppError(error) && error.code === 'insufficient-funds') return { kind: 'waiting-for-funds' }
    throw error
  }
}

const payoutEnded = (payout: Payout) => payout.status === 'finalized' || payoutEndedUnpaid(payout)

type CreditReturn =
  | Readonly<{ kind: 'return'; amount: bigint; payoutId: string }>
  | Readonly<{ kind: 'nothing-to-do'; reason: string }>

/**
 * What the refund took from the buyer credit and its payout did not pay, once the payout and its canary
 * have both ended (final). What reached the buyer is counted against the buyer-credit part first, as the
 * refund took that part first: with a canary paid and the rest failed, only the buyer credit beyond the
 * canary goes back.
 */
function creditToReturn(refund: Refund, payoutParts: readonly Payout[]): CreditReturn {
  if (refund.storedStatus !== 'payout_requested' || refund.payoutId === null)
    return { kind: 'nothing-to-do', reason: `refund is ${refund.status}` }
  if (refund.fromBuyerCredit === 0n)
    return { kind: 'nothing-to-do', reason: 'nothing came from the buyer credit' }
  if (payoutParts.length === 0 || !payoutParts.every(payoutEnded))
    return { kind: 'nothing-to-do', reason: 'its payout has not ended' }
  const paid = payoutParts.reduce((sum, part) => (part.status === 'finalized' ? sum + part.amount : sum), 0n)
  if (paid >= refund.fromBuyerCredit) return { kind: 'nothing-to-do', reason: 'the buyer credit was paid' }
  return { kind: 'return', amount: refund.fromBuyerCredit - paid, payoutId: refund.payoutId }
}

/** The one transfer that returns a refund's unpaid buyer-credit part: a second run replays it. */
const creditReturnId = (refund: Refund) => `refund:${refund.id}:credit-returned`

const ledgerAccount = (
  client: PoolClient,
  ownerType: 'merchant' | 'customer',
  ownerId: string,
  purpose: string,
  assetId: string,
) =>
  getOrCreateAccount(client, {
    ownerType,
    ownerId,
    purpose,
    assetId,
    normalSide: 'credit',
    flags: { debitsMustNotExceedCredits: true },
  })

/** Moves the part from the store's available balance, where the payout's void returned it, to the credit. */
async function transferCreditBack(
  client: PoolClient,
  refund: Refund,
  owed: Readonly<{ amount: bigint; payoutId: string }>,
): Promise<void> {
  const { assetId } = refund
  await createTransfers(client, [
    {
      kind: 'single',
      id: creditReturnId(refund),
      debitAccountId: (await ledgerAccount(client, 'merchant', refund.merchantId, 'available', assetId)).id,
      creditAccountId: (await ledgerAccount(client, 'customer', refund.invoiceId, 'buyer-credit', assetId))
        .id,
      assetId,
      amount: owed.amount,
      code: 'refund-credit-returned',
      metadata: { refund_id: refund.id, payout_id: owed.payoutId },
    },
  ])
}

/** Returns to the buyer credit what the refund took from it and its payout did not pay (refund row locked). */
async function returnUnpaidBuyerCredit(client: PoolClient, refund: Refund): Promise<RefundPayoutEndResult> {
  const owed = creditToReturn(refund, await payoutPartsOf(client, refund))
  if (owed.kind === 'nothing-to-do') return owed
  await transferCreditBack(client, refund, owed)
  return { kind: 'returned', amount: owed.amount }
}
