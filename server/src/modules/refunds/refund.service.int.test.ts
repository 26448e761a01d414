import { randomBytes } from 'node:crypto'
import { getAddress } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestDatabase } from '../../../test/setup/database.ts'
import { offlineNetwork } from '../../../test/setup/offline-network.ts'
import {
  fixtureBuyer,
  type OfflinePaymentsFixture,
  startOfflinePaymentsFixture,
} from '../../../test/setup/offline-payments-fixture.ts'
import { withTransaction } from '../../db/tx.ts'
import { createRefundPayoutEndedHandler } from '../../jobs/refunds.ts'
import { RetryLater } from '../../jobs/runner.ts'
import { createLogger } from '../../lib/logger.ts'
import { invoiceLimits } from '../invoices/invoice.limits.ts'
import {
  getInvoice,
  type InvoiceContext,
  reevaluateInvoice,
  topUpBuyerCredit,
} from '../invoices/invoice.service.ts'
import {
  createTransfer,
  getOrCreateAccount,
  getOrCreateSystemAccount,
  getTransfer,
  listOwnerBalances,
} from '../ledger/ledger.service.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import { recordObservedTransfers } from '../payments/payment.service.ts'
import { updatePayoutSettings } from '../payouts/payout.book.ts'
import { bookPayoutFinal } from '../payouts/payout.ledger.ts'
import { failBeforeSigning } from '../payouts/payout.send.ts'
import { cancelPayout, getPayout } from '../payouts/payout.service.ts'
import {
  cancelRefund,
  getRefund,
  getRefundByLinkToken,
  listInvoiceRefunds,
  openRefund,
  payOutRefund,
  payOutRefundJobKind,
  refundPayoutEndedJobKind,
  reissueRefundLink,
  submitRefundDestination,
} from './refund.service.ts'
import type { OpenRefundInput } from './refund.types.ts'

// Refunds on real PostgreSQL and the real ledger: invoices are paid by feeding observed transfers to the
// payments module (no chain needed), then refunded, reserved, cancelled and given destinations.

const asset = 'USDT@chain-a'
const tokenAddress: `0x${string}` = `0x${'11'.repeat(20)}`
const buyer = fixtureBuyer
const network = offlineNetwork({ name: 'chain-a', tokenAddress })

let fixture: OfflinePaymentsFixture
let database: TestDatabase
let context: InvoiceContext
let merchantId: string
const payoutContext = { networks: [network], now: () => context.now() }

/** An invoice of `amount` USDT paid with each of `payments` (minor units), final and evaluated. */
async function paidInvoice(amount: string, payments: readonly bigint[]): Promise<string> {
  const invoiceId = await fixture.payInvoice(merchantId, amount, payments)
  await reevaluateInvoice(database.pool, invoiceId, context)
  return invoiceId
}

const runEvaluateJob = (invoiceId: string) => fixture.runEvaluateJob(invoiceId)
const merchantAvailable = (merchant = merchantId) => fixture.storeAvailable(merchant)
const buyerCredit = (invoiceId: string) => fixture.buyerCredit(invoiceId)

function open(invoiceId: string, amount: string, extra: Partial<OpenRefundInput> = {}) {
  // Ids are time-ordered to the millisecond: a step per refund keeps "newest first" well defined.
  fixture.advanceClock(1)
  return withTransaction(database.pool, (client) =>
    openRefund(
      client,
      { merchantId, invoiceId, amount, assetId: asset, apiKeyId: 'key_test', ...extra },
      context,
    ),
  )
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    return (error as { code: string }).code
  }
  throw new Error('expected a refusal')
}

/** Runs the refund's refund-payout-ended jobs as the worker would (`times` each: a retry), then drops them. */
async function runPayoutEndedJobs(refundId: string, times = 1): Promise<string[]> {
  const jobs = await database.pool.query<{ id: string; payload: Record<string, unknown> }>(
    "select id, payload from jobs where kind = $1 and payload->>'refund_id' = $2 order by id",
    [refundPayoutEndedJobKind, refundId],
  )
  const [, handle] = createRefundPayoutEndedHandler(database.pool)
  const outcomes: string[] = []
  for (const job of jobs.rows) {
    for (let run = 0; run < times; run += 1) {
      try {
        await handle(
          {
            id: job.id,
            kind: refundPayoutEndedJobKind,
            payload: job.payload,
            attempts: 1,
            attemptsMax: 25,
          },
          new AbortController().signal,
        )
        outcomes.push('done')
      } catch (error) {
        if (!(error instanceof RetryLater)) throw error
        outcomes.push('retry-later')
      }
    }
    if (outcomes.at(-1) === 'done') await database.pool.query('delete from jobs where id = $1', [job.id])
  }
  return outcomes
}

beforeAll(async () => {
  fixture = await startOfflinePaymentsFixture({ network, tokenAddress })
  database = fixture.database
  context = fixture.context
  merchantId = await fixture.createStore('Refund Store')
})

afterAll(async () => {
  await fixture?.stop()
})

describe('opening refunds', () => {
  it('bounds the amount by what was paid less open refunds, to one minor unit on both sides', async () => {
    const invoiceId = await paidInvoice('10', [10_000_000n])
    expect((await getInvoice(database.pool, merchantId, invoiceId, context)).row.status).toBe('settled')
    const first = await open(invoiceId, '4')
    expect(first.refund).toMatchObject({
      amount: 4_000_000n,
      fromMerchantBalance: 4_000_000n,
      status: 'awaiting_destination',
    })
    expect(await codeOf(open(invoiceId, '6.000001'))).toBe('refund-exceeds-refundable')
    const second = await open(invoiceId, '6')
    expect(second.refund.amount).toBe(6_000_000n)
    expect(await codeOf(open(invoiceId, '0.000001'))).toBe('refund-exceeds-refundable')
    const refunds = await listInvoiceRefunds(database.pool, merchantId, invoiceId, context)
    expect(refunds.map((refund) => refund.id)).toEqual([second.refund.id, first.refund.id])
  })

  it('still refunds the payment after a thousand dust transfers to the invoice address', async () => {
    const invoiceId = await paidInvoice('2', [2_000_000n])
    const address = (await getInvoice(database.pool, merchantId, invoiceId, context)).options[0]
      ?.address as string
    const at = fixture.nextBlock()
    // Zero-value transfers (address poisoning) from anyone, newer than the payment and more than shown.
    await withTransaction(database.pool, (client) =>
      recordObservedTransfers(
        client,
        network,
        Array.from({ length: invoiceLimits.paymentsPerInvoiceMax + 1 }, (_, index) => ({
          blockNumber: at,
          blockHash: `0x${'cd'.repeat(32)}`,
          txHash: `0x${randomBytes(32).toString('hex')}`,
          logIndex: index,
          tokenAddress,
          from: buyer.toLowerCase(),
          to: address,
          amount: 0n,
        })),
      ),
    )
    expect(await codeOf(open(invoiceId, '2.000001'))).toBe('refund-exceeds-refundable')
    expect((await open(invoiceId, '2')).refund.amount).toBe(2_000_000n)
  })

  it('reserves in the ledger (available drops, posted stays), records refund.opened, and cancel voids it', async () => {
    const invoiceId = await paidInvoice('3', [3_000_000n])
    const before = await merchantAvailable()
    const { refund } = await open(invoiceId, '2.5', { reason: 'damaged' })
    expect(await merchantAvailable()).toBe(before - 2_500_000n)
    const pending = await getTransfer(database.pool, refund.merchantReservationId as string)
    expect(pending).toMatchObject({ kind: 'pending', amount: 2_500_000n, code: 'refund-reserve' })
    const clearing = await getOrCreateSystemAccount(database.pool, 'payout-clearing', asset)
    expect(pending?.creditAccountId).toBe(clearing.id)
    const events = await database.pool.query(
      "select payload from events where type = 'refund.opened' and subject_id = $1",
      [refund.id],
    )
    expect(events.rows[0]?.payload).toMatchObject({
      refund_id: refund.id,
      amount: '2.5',
      asset,
      reason: 'damaged',
    })

    const cancelled = await cancelRefund(database.pool, merchantId, refund.id, context.now())
    expect(cancelled.status).toBe('cancelled')
    expect(await merchantAvailable()).toBe(before)
    expect(await getTransfer(database.pool, `${refund.merchantReservationId}:void`)).toMatchObject({
      kind: 'void',
    })
    // Cancelling again changes nothing; the amount is refundable again in full.
    expect((await cancelRefund(database.pool, merchantId, refund.id, context.now())).cancelledAt).toEqual(
      cancelled.cancelledAt,
    )
    expect((await open(invoiceId, '3')).refund.amount).toBe(3_000_000n)
  })

  it('takes an overpayment from the buyer credit first, the rest from the store', async () => {
    const invoiceId = await paidInvoice('5', [7_500_000n])
    const view = await getInvoice(database.pool, merchantId, invoiceId, context)
    expect([view.row.status, view.row.exception]).toEqual(['settled', 'paid_over'])
    const { refund } = await open(invoiceId, '3')
    expect([refund.fromBuyerCredit, refund.fromMerchantBalance]).toEqual([2_500_000n, 500_000n])
    const credit = (await listOwnerBalances(database.pool, 'customer', invoiceId)).find(
      (balance) => balance.account.purpose === 'buyer-credit',
    )
    expect([credit?.posted, credit?.available]).toEqual([2_500_000n, 0n])
    expect(await codeOf(open(invoiceId, '4.500001'))).toBe('refund-exceeds-refundable')
    await cancelRefund(database.pool, merchantId, refund.id, context.now())
    const released = (await listOwnerBalances(database.pool, 'customer', invoiceId)).find(
      (balance) => balance.account.purpose === 'buyer-credit',
    )
    expect(released?.available).toBe(2_500_000n)
  })

  it('answers refund-exceeds-balance when the store’s money has moved on, and writes nothing', async () => {
    const invoiceId = await paidInvoice('2', [2_000_000n])
    const available = await getOrCreateAccount(database.pool, {
      ownerType: 'merchant',
      ownerId: merchantId,
      purpose: 'available',
      assetId: asset,
      normalSide: 'credit',
      flags: { debitsMustNotExceedCredits: true },
    })
    const suspense = await getOrCreateSystemAccount(database.pool, 'suspense', asset)
    const everything = await merchantAvailable()
    // Stands in for payouts: the whole balance leaves the available account.
    await createTransfer(database.pool, {
      kind: 'single',
      id: `test-drain:${invoiceId}`,
      debitAccountId: available.id,
      creditAccountId: suspense.id,
      assetId: asset,
      amount: everything,
      code: 'test-drain',
    })
    expect(await codeOf(open(invoiceId, '1'))).toBe('refund-exceeds-balance')
    expect(await listInvoiceRefunds(database.pool, merchantId, invoiceId, context)).toEqual([])
    await createTransfer(database.pool, {
      kind: 'single',
      id: `test-refill:${invoiceId}`,
      debitAccountId: suspense.id,
      creditAccountId: available.id,
      assetId: asset,
      amount: everything,
      code: 'test-drain',
    })
  })

  it('refuses open invoices, unpaid assets, excess decimals, zero and another store', async () => {
    const unpaid = await fixture.newInvoice(merchantId, '1')
    expect(await codeOf(open(unpaid.row.id, '1'))).toBe('invoice-not-refundable')
    const invoiceId = await paidInvoice('1', [1_000_000n])
    expect(await codeOf(open(invoiceId, '1', { assetId: 'USDC@chain-a' }))).toBe('refund-asset-invalid')
    expect(await codeOf(open(invoiceId, '0.0000001'))).toBe('amount-precision-exceeded')
    expect(await codeOf(open(invoiceId, '0'))).toBe('amount-not-positive')
    const other = (await createMerchant(database.pool, { name: 'Other' })).merchant.id
    expect(await codeOf(open(invoiceId, '1', { merchantId: other }))).toBe('invoice-not-found')
  })

  it('serialises concurrent refunds of one invoice: their sum never exceeds what was paid', async () => {
    const invoiceId = await paidInvoice('10', [10_000_000n])
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => open(invoiceId, '3')))
    const opened = results.filter((result) => result.status === 'fulfilled')
    expect(opened).toHaveLength(3)
    for (const result of results)
      if (result.status === 'rejected')
        expect(result.reason).toMatchObject({ code: 'refund-exceeds-refundable' })
  })
})

describe('the refund link', () => {
  it('takes one destination under concurrency; the others get refund-link-used', async () => {
    const invoiceId = await paidInvoice('1', [1_000_000n])
    const { refund, linkToken } = await open(invoiceId, '1')
    expect((await getRefundByLinkToken(database.pool, linkToken, context.now())).id).toBe(refund.id)
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () =>
        submitRefundDestination(database.pool, linkToken, buyer.toLowerCase(), context.now()),
      ),
    )
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
    for (const result of results)
      if (result.status === 'rejected')
        expect(result.reason).toMatchObject({ code: 'refund-link-used', httpStatus: 410 })
    const stored = await getRefund(database.pool, merchantId, refund.id, context.now())
    expect([stored.status, stored.destination]).toEqual(['awaiting_payout', buyer])
    expect(await codeOf(submitRefundDestination(database.pool, linkToken, buyer, context.now()))).toBe(
      'refund-link-used',
    )
  })

  it('refuses bad destinations without using the link, and unknown, reissued or cancelled links', async () => {
    const invoiceId = await paidInvoice('2', [2_000_000n])
    const { refund, linkToken } = await open(invoiceId, '1')
    const submit = (token: string, address: string) =>
      codeOf(submitRefundDestination(database.pool, token, address, context.now()))
    expect(await submit(linkToken, 'TJRabPrwbZy45sbavfcjinPJC18kjpRTv8')).toBe('destination-invalid')
    expect(await submit(linkToken, '0x52908400098527886E0F7030069857D2E4169Ee7')).toBe('destination-invalid')
    expect(await submit('A'.repeat(43), buyer)).toBe('refund-link-not-found')
    const reissued = await reissueRefundLink(database.pool, merchantId, refund.id, context.now())
    expect(await submit(linkToken, buyer)).toBe('refund-link-not-found')
    await cancelRefund(database.pool, merchantId, refund.id, context.now())
    expect(await submit(reissued.linkToken, buyer)).toBe('refund-cancelled')
    expect(await codeOf(reissueRefundLink(database.pool, merchantId, refund.id, context.now()))).toBe(
      'refund-status-conflict',
    )
  })

  it('shows a refund past its reservation as expired: no destination, no cancel', async () => {
    const invoiceId = await paidInvoice('1', [1_000_000n])
    const { refund, linkToken } = await open(invoiceId, '0.5')
    const later = new Date(refund.expiresAt.getTime() + 1)
    expect((await getRefund(database.pool, merchantId, refund.id, later)).status).toBe('expired')
    expect(await codeOf(submitRefundDestination(database.pool, linkToken, buyer, later))).toBe(
      'refund-expired',
    )
    expect(await codeOf(cancelRefund(database.pool, merchantId, refund.id, later))).toBe(
      'refund-status-conflict',
    )
    // Back at the present it still holds its reservation, and cancelling releases it.
    expect((await cancelRefund(database.pool, merchantId, refund.id, context.now())).status).toBe('cancelled')
  })
})

describe('a refund becomes a payout', () => {
  async function withDestination(invoiceId: string, amount: string) {
    const { refund, linkToken } = await open(invoiceId, amount)
    await submitRefundDestination(database.pool, linkToken, buyer, context.now())
    return refund
  }

  async function payOutJobs(refundId: string): Promise<number> {
    const result = await database.pool.query<{ count: number }>(
      "select count(*)::int as count from jobs where kind = $1 and payload->>'refund_id' = $2",
      [payOutRefundJobKind, refundId],
    )
    return result.rows[0]?.count ?? -1
  }

  it('moves the buyer credit and the store’s part into one payout reservation, exactly once', async () => {
    const invoiceId = await paidInvoice('5', [7_500_000n])
    const refund = await withDestination(invoiceId, '3')
    expect(await payOutJobs(refund.id)).toBe(1)
    const availableBefore = await merchantAvailable()
    const result = await payOutRefund(database.pool, refund.id, payoutContext)
    if (result.kind !== 'requested') throw new Error(`expected a payout, got ${result.kind}`)
    const carried = await getRefund(database.pool, merchantId, refund.id, context.now())
    expect(carried).toMatchObject({
      status: 'payout_requested',
      payoutId: result.payoutId,
      payoutError: null,
    })
    const payout = await getPayout(database.pool, merchantId, result.payoutId)
    expect(payout).toMatchObject({
      amount: 3_000_000n,
      destination: buyer,
      externalReference: `refund:${refund.id}`,
    })
    // The store's available balance is unchanged: its part was reserved by the refund, and is by the payout.
    expect(await merchantAvailable()).toBe(availableBefore)
    const credit = (await listOwnerBalances(database.pool, 'customer', invoiceId)).find(
      (balance) => balance.account.purpose === 'buyer-credit',
    )
    expect([credit?.posted, credit?.available]).toEqual([0n, 0n])
    expect(await getTransfer(database.pool, `${refund.buyerCreditReservationId}:to-payout`)).toMatchObject({
      kind: 'void',
    })
    const events = await database.pool.query(
      "select payload from events where type = 'refund.payout_requested' and subject_id = $1",
      [refund.id],
    )
    expect(events.rows.map((row) => row.payload.payout_id)).toEqual([result.payoutId])
    // Again: nothing to do, nothing moves.
    expect((await payOutRefund(database.pool, refund.id, payoutContext)).kind).toBe('nothing-to-do')
    expect(await merchantAvailable()).toBe(availableBefore)
    // Its money is the payout's now: cancelling the refund is refused; cancelling the payout frees it.
    expect(await codeOf(cancelRefund(database.pool, merchantId, refund.id, context.now()))).toBe(
      'refund-status-conflict',
    )
    // 7.5 paid, 3 carried by the payout: 4.5 is left to refund, not a unit more…
    expect(await codeOf(open(invoiceId, '4.500001'))).toBe('refund-exceeds-refundable')
    // …until the payout is cancelled: its reservation returns and all 7.5 is refundable again.
    await cancelPayout(database.pool, { merchantId, id: result.payoutId, apiKeyId: 'key_test' })
    expect((await open(invoiceId, '7.5')).refund.amount).toBe(7_500_000n)
  })

  it('waits, showing why, while the store’s payout rules refuse the destination; nothing moves', async () => {
    const invoiceId = await paidInvoice('2', [2_000_000n])
    const refund = await withDestination(invoiceId, '2')
    await updatePayoutSettings(database.pool, { merchantId, actor: 'test', change: { whitelistOnly: true } })
    try {
      const availableBefore = await merchantAvailable()
      const result = await payOutRefund(database.pool, refund.id, payoutContext)
      expect(result).toEqual({ kind: 'refused', code: 'destination-not-in-address-book' })
      const waiting = await getRefund(database.pool, merchantId, refund.id, context.now())
      expect(waiting.status).toBe('awaiting_payout')
      expect(waiting.payoutError).toMatch(/^destination-not-in-address-book: /)
      expect(await merchantAvailable()).toBe(availableBefore)
      expect(await getTransfer(database.pool, `${refund.merchantReservationId}:to-payout`)).toBeUndefined()
    } finally {
      await updatePayoutSettings(database.pool, {
        merchantId,
        actor: 'test',
        change: { whitelistOnly: false },
      })
    }
    const result = await payOutRefund(database.pool, refund.id, payoutContext)
    expect(result.kind).toBe('requested')
    expect((await getRefund(database.pool, merchantId, refund.id, context.now())).payoutError).toBeNull()
  })

  // The canary (docs/adr/0015) is paid first and may reach the buyer even when the rest of the payout
  // then ends unpaid: it stays counted against the invoice.
  it('never lets an invoice be refunded more than was paid, also when the canary was paid and the rest failed', async () => {
    // Canaries for first payouts to a new address above 5 tokens: 1 token goes first (ADR 0015 §5).
    await updatePayoutSettings(database.pool, {
      merchantId,
      actor: 'test',
      change: { canaryThreshold: '5', canaryAmount: '1' },
    })
    // The store has other revenue (another invoice), as any store does.
    await paidInvoice('100', [100_000_000n])
    const invoiceId = await paidInvoice('10', [10_000_000n])
    const { refund, linkToken } = await open(invoiceId, '10')
    // A never-paid address (a retry of this test must not find it paid already).
    const refundTo = getAddress(`0x${randomBytes(20).toString('hex')}`)
    await submitRefundDestination(database.pool, linkToken, refundTo, context.now())
    const result = await payOutRefund(database.pool, refund.id, payoutContext)
    if (result.kind !== 'requested') throw new Error(`expected a payout, got ${result.kind}`)
    const parent = await getPayout(database.pool, merchantId, result.payoutId)
    expect(parent.canaryPayoutId).not.toBeNull()
    const canary = await getPayout(database.pool, merchantId, parent.canaryPayoutId as string)
    expect([parent.amount, canary.amount]).toEqual([9_000_000n, 1_000_000n])

    // The parent is approved (queued); the canary goes out and is final: 1 USDT reached the buyer.
    await database.pool.query("update payouts set status = 'queued' where id = $1", [parent.id])
    await withTransaction(database.pool, async (client) => {
      await bookPayoutFinal(client, canary, `0x${'ab'.repeat(32)}`, 0n)
      await client.query("update payouts set status = 'finalized', nonce = 0 where id = $1", [canary.id])
    })
    // The remainder then fails before signing (e.g. the token refuses the transfer: payout.send.ts).
    const queuedParent = await getPayout(database.pool, merchantId, parent.id)
    await failBeforeSigning(
      { pool: database.pool, logger: createLogger('silent') } as never,
      queuedParent,
      'token refused the transfer: test',
      false,
    )
    expect((await getPayout(database.pool, merchantId, parent.id)).status).toBe('failed')

    // 10 paid, 1 already refunded on chain through the canary: at most 9 may be refunded again.
    expect(await codeOf(open(invoiceId, '10'))).toBe('refund-exceeds-refundable')
  })
})

// The buyer-credit part of a refund goes back to the buyer credit when its payout ends unpaid (audit,
// 2026-11-22: before, it stayed in the store's available balance, where the payout's void returned it).
describe('a refund whose payout ends unpaid', () => {
  async function requestPayout(invoiceId: string, amount: string, destination: string) {
    const { refund, linkToken } = await open(invoiceId, amount)
    await submitRefundDestination(database.pool, linkToken, destination, context.now())
    const result = await payOutRefund(database.pool, refund.id, payoutContext)
    if (result.kind !== 'requested') throw new Error(`expected a payout, got ${result.kind}`)
    return { refund, payoutId: result.payoutId }
  }

  it('returns the buyer-credit part once when the payout is cancelled, for a new refund to use', async () => {
    const invoiceId = await paidInvoice('5', [7_500_000n])
    const storeBefore = await merchantAvailable()
    const { refund, payoutId } = await requestPayout(invoiceId, '3', buyer)
    expect([refund.fromBuyerCredit, refund.fromMerchantBalance]).toEqual([2_500_000n, 500_000n])
    expect(await buyerCredit(invoiceId)).toEqual([0n, 0n])

    await cancelPayout(database.pool, { merchantId, id: payoutId, apiKeyId: 'key_test' })
    // The cancel wrote the job in its own transaction; run twice (a retry): the credit returns once.
    expect(await runPayoutEndedJobs(refund.id, 2)).toEqual(['done', 'done'])
    expect(await buyerCredit(invoiceId)).toEqual([2_500_000n, 2_500_000n])
    expect(await merchantAvailable()).toBe(storeBefore)
    expect(await getTransfer(database.pool, `refund:${refund.id}:credit-returned`)).toMatchObject({
      amount: 2_500_000n,
      code: 'refund-credit-returned',
    })
    // The refund still shows its payout, which shows how it ended.
    const shown = await getRefund(database.pool, merchantId, refund.id, context.now())
    expect([shown.status, shown.payoutId]).toEqual(['payout_requested', payoutId])
    expect((await getPayout(database.pool, merchantId, payoutId)).status).toBe('cancelled')

    // A new refund takes the overpayment from the buyer credit again, and no more than was paid.
    expect(await codeOf(open(invoiceId, '7.500001'))).toBe('refund-exceeds-refundable')
    const again = await open(invoiceId, '3')
    expect([again.refund.fromBuyerCredit, again.refund.fromMerchantBalance]).toEqual([2_500_000n, 500_000n])
  })

  it('waits while the store has spent what the payout released, and returns it once it can', async () => {
    const invoiceId = await paidInvoice('1', [3_000_000n])
    const { refund, payoutId } = await requestPayout(invoiceId, '2', buyer)
    await cancelPayout(database.pool, { merchantId, id: payoutId, apiKeyId: 'key_test' })
    // Before the job runs, the store's whole balance leaves (another payout, say).
    const available = await getOrCreateAccount(database.pool, {
      ownerType: 'merchant',
      ownerId: merchantId,
      purpose: 'available',
      assetId: asset,
      normalSide: 'credit',
      flags: { debitsMustNotExceedCredits: true },
    })
    const suspense = await getOrCreateSystemAccount(database.pool, 'suspense', asset)
    const everything = await merchantAvailable()
    const move = (id: string, from: string, to: string) =>
      createTransfer(database.pool, {
        kind: 'single',
        id,
        debitAccountId: from,
        creditAccountId: to,
        assetId: asset,
        amount: everything,
        code: 'test-drain',
      })
    await move(`test-drain:${refund.id}`, available.id, suspense.id)
    expect(await runPayoutEndedJobs(refund.id)).toEqual(['retry-later'])
    expect(await buyerCredit(invoiceId)).toEqual([0n, 0n])
    await move(`test-refill:${refund.id}`, suspense.id, available.id)
    expect(await runPayoutEndedJobs(refund.id)).toEqual(['done'])
    expect(await buyerCredit(invoiceId)).toEqual([2_000_000n, 2_000_000n])
  })

  it('returns it in the same transaction when the payout is blocked as it is created', async () => {
    const invoiceId = await paidInvoice('1', [2_000_000n])
    const { refund, payoutId } = await requestPayout(
      invoiceId,
      '1.5',
      '0x000000000000000000000000000000000000dead',
    )
    expect((await getPayout(database.pool, merchantId, payoutId)).status).toBe('blocked')
    expect(refund.fromBuyerCredit).toBe(1_000_000n)
    expect(await buyerCredit(invoiceId)).toEqual([1_000_000n, 1_000_000n])
    // Nothing left for a job to do.
    expect(await runPayoutEndedJobs(refund.id)).toEqual([])
  })

  it('returns only the buyer credit the paid canary did not carry', async () => {
    await updatePayoutSettings(database.pool, {
      merchantId,
      actor: 'test',
      change: { canaryThreshold: '5', canaryAmount: '1' },
    })
    const invoiceId = await paidInvoice('5', [12_000_000n])
    const { refund, payoutId } = await requestPayout(
      invoiceId,
      '10',
      getAddress(`0x${randomBytes(20).toString('hex')}`),
    )
    expect([refund.fromBuyerCredit, refund.fromMerchantBalance]).toEqual([7_000_000n, 3_000_000n])
    const parent = await getPayout(database.pool, merchantId, payoutId)
    const canary = await getPayout(database.pool, merchantId, parent.canaryPayoutId as string)
    expect([parent.amount, canary.amount]).toEqual([9_000_000n, 1_000_000n])
    // The canary is paid; until the rest ends nothing moves.
    await database.pool.query("update payouts set status = 'queued' where id = $1", [parent.id])
    await withTransaction(database.pool, async (client) => {
      await bookPayoutFinal(client, canary, `0x${'cd'.repeat(32)}`, 0n)
      await client.query("update payouts set status = 'finalized', nonce = 1 where id = $1", [canary.id])
    })
    expect(await runPayoutEndedJobs(refund.id)).toEqual(['done'])
    expect(await buyerCredit(invoiceId)).toEqual([0n, 0n])
    // The rest fails before signing: 7 came from the buyer credit, 1 of it reached the buyer.
    await failBeforeSigning(
      { pool: database.pool, logger: createLogger('silent') } as never,
      await getPayout(database.pool, merchantId, parent.id),
      'token refused the transfer: test',
      false,
    )
    expect(await runPayoutEndedJobs(refund.id, 2)).toEqual(['done', 'done'])
    expect(await buyerCredit(invoiceId)).toEqual([6_000_000n, 6_000_000n])
    // 12 paid, 1 refunded through the canary: 11 refundable, the buyer credit first.
    expect(await codeOf(open(invoiceId, '11.000001'))).toBe('refund-exceeds-refundable')
    const again = await open(invoiceId, '11')
    expect([again.refund.fromBuyerCredit, again.refund.fromMerchantBalance]).toEqual([6_000_000n, 5_000_000n])
  })
})

// A refund never splits itself against a buyer credit that is still owed something (review, 2026-11-22):
// while an overpayment credit or a refund's credit return waits for the store's balance, the buyer credit
// reads short, a refund took the difference from the store, and the credit landing later took it from the
// store again. The store then lost the excess twice, depending on whether a job ran before the refund.
describe('a refund while the buyer credit is owed something', () => {
  const newStore = () => fixture.createStore(`Credit Store ${randomBytes(3).toString('hex')}`)

  /** Reserves `amount` of the store's available balance, as a payout does; returns its void (the payout fails). */
  async function reserve(merchant: string, amount: bigint): Promise<() => Promise<unknown>> {
    const id = `test-reserve:${randomBytes(6).toString('hex')}`
    const store = await getOrCreateAccount(database.pool, {
      ownerType: 'merchant',
      ownerId: merchant,
      purpose: 'available',
      assetId: asset,
      normalSide: 'credit',
      flags: { debitsMustNotExceedCredits: true },
    })
    await createTransfer(database.pool, {
      kind: 'pending',
      id,
      debitAccountId: store.id,
      creditAccountId: (await getOrCreateSystemAccount(database.pool, 'payout-clearing', asset)).id,
      assetId: asset,
      amount,
      code: 'test-reserve',
      timeoutMs: 3_600_000,
    })
    return () => createTransfer(database.pool, { kind: 'void', id: `${id}:void`, pendingId: id })
  }

  const openFor = (merchant: string, invoiceId: string, amount: string) =>
    open(invoiceId, amount, { merchantId: merchant })

  async function openedEvents(invoiceId: string): Promise<number> {
    const result = await database.pool.query<{ count: number }>(
      "select count(*)::int as count from events where type = 'refund.opened' and payload->>'invoice_id' = $1",
      [invoiceId],
    )
    return result.rows[0]?.count ?? -1
  }

  /** A 10 USDT invoice paid 15, its 5 excess refunded after the evaluation credited it, or before. */
  async function refundExcess(order: 'credit-then-refund' | 'refund-then-deferred-credit') {
    const store = await newStore()
    const invoiceId = await fixture.payInvoice(store, '10', [15_000_000n])
    if (order === 'refund-then-deferred-credit') {
      // A payout reserves the store's whole balance before the evaluation runs: the credit is deferred.
      const fail = await reserve(store, await merchantAvailable(store))
      expect(await runEvaluateJob(invoiceId)).toBe('retry-later')
      expect(await buyerCredit(invoiceId)).toEqual([0n, 0n])
      // That payout fails (the balance is back) before the job's 10-minute retry.
      await fail()
    } else {
      expect(await runEvaluateJob(invoiceId)).toBe('done')
    }
    const { refund } = await openFor(store, invoiceId, '5')
    // The job's retry then credits nothing more.
    expect(await runEvaluateJob(invoiceId)).toBe('done')
    return {
      split: [refund.fromBuyerCredit, refund.fromMerchantBalance],
      store: await merchantAvailable(store),
      buyerCredit: await buyerCredit(invoiceId),
    }
  }

  it('takes an excess the evaluation has deferred from the buyer credit, as in the normal order', async () => {
    const normal = await refundExcess('credit-then-refund')
    // The refund takes the 5 excess from the buyer credit (posted 5, reserved); the store keeps the 10 due.
    expect(normal).toEqual({
      split: [5_000_000n, 0n],
      store: 10_000_000n,
      buyerCredit: [5_000_000n, 0n],
    })
    // Deferred: the refund completes the credit first, then takes from it. The excess leaves the store once.
    expect(await refundExcess('refund-then-deferred-credit')).toEqual(normal)
  }, 60_000)

  it('refuses while the store cannot cover what the overpayment owes the buyer credit, writing nothing', async () => {
    const store = await newStore()
    const invoiceId = await fixture.payInvoice(store, '10', [15_000_000n])
    // Two payouts reserve the store's whole balance: the evaluation can credit none of the 5 excess.
    const failMost = await reserve(store, 13_000_000n)
    const failRest = await reserve(store, 2_000_000n)
    expect(await runEvaluateJob(invoiceId)).toBe('retry-later')
    // One fails: 2 are available, less than the 5 owed. Split now, a refund of 2 would come from the
    // store, and the 5 credited later would come from the store again.
    await failRest()
    expect(await codeOf(openFor(store, invoiceId, '2'))).toBe('refund-buyer-credit-pending')
    expect(await listInvoiceRefunds(database.pool, store, invoiceId, context)).toEqual([])
    expect(await openedEvents(invoiceId)).toBe(0)
    expect(await buyerCredit(invoiceId)).toEqual([0n, 0n])
    expect(await merchantAvailable(store)).toBe(2_000_000n)

    // The other fails too: the refund completes the credit first, then takes from it.
    await failMost()
    const { refund } = await openFor(store, invoiceId, '2')
    expect([refund.fromBuyerCredit, refund.fromMerchantBalance]).toEqual([2_000_000n, 0n])
    expect(await buyerCredit(invoiceId)).toEqual([5_000_000n, 3_000_000n])
    expect(await merchantAvailable(store)).toBe(10_000_000n)
    // The job's retry finds nothing left to credit.
    expect(await runEvaluateJob(invoiceId)).toBe('done')
    expect(await buyerCredit(invoiceId)).toEqual([5_000_000n, 3_000_000n])
    expect(await merchantAvailable(store)).toBe(10_000_000n)
  }, 60_000)

  it('refuses while an unpaid refund’s buyer credit cannot go back yet; once it can, returns it first', async () => {
    const store = await newStore()
    const invoiceId = await fixture.payInvoice(store, '1', [3_000_000n])
    expect(await runEvaluateJob(invoiceId)).toBe('done')
    const first = await openFor(store, invoiceId, '2')
    expect([first.refund.fromBuyerCredit, first.refund.fromMerchantBalance]).toEqual([2_000_000n, 0n])
    await submitRefundDestination(database.pool, first.linkToken, buyer, context.now())
    const requested = await payOutRefund(database.pool, first.refund.id, payoutContext)
    if (requested.kind !== 'requested') throw new Error(`expected a payout, got ${requested.kind}`)
    await cancelPayout(database.pool, { merchantId: store, id: requested.payoutId, apiKeyId: 'key_test' })
    // Before refund-payout-ended runs, another payout reserves what the cancel released, but 1.
    const fail = await reserve(store, 2_000_000n)
    expect(await merchantAvailable(store)).toBe(1_000_000n)
    // The 2 owed back to the buyer credit do not fit in 1: a refund of 1 is refused, nothing is written.
    expect(await codeOf(openFor(store, invoiceId, '1'))).toBe('refund-buyer-credit-pending')
    const refunds = await listInvoiceRefunds(database.pool, store, invoiceId, context)
    expect(refunds.map((refund) => refund.id)).toEqual([first.refund.id])
    expect(await openedEvents(invoiceId)).toBe(1)
    expect(await buyerCredit(invoiceId)).toEqual([0n, 0n])
    expect(await merchantAvailable(store)).toBe(1_000_000n)
    expect(await getTransfer(database.pool, `refund:${first.refund.id}:credit-returned`)).toBeUndefined()

    // That payout fails: the next refund returns the 2 first, then takes from the buyer credit.
    await fail()
    const second = await openFor(store, invoiceId, '1')
    expect([second.refund.fromBuyerCredit, second.refund.fromMerchantBalance]).toEqual([1_000_000n, 0n])
    expect(await buyerCredit(invoiceId)).toEqual([2_000_000n, 1_000_000n])
    expect(await merchantAvailable(store)).toBe(1_000_000n)
    // The job then replays the same return: nothing more moves.
    expect(await runPayoutEndedJobs(first.refund.id, 2)).toEqual(['done', 'done'])
    expect(await buyerCredit(invoiceId)).toEqual([2_000_000n, 1_000_000n])
    expect(await merchantAvailable(store)).toBe(1_000_000n)
  }, 60_000)

  it('waits for an evaluation crediting the buyer credit, then takes from what it credited', async () => {
    const store = await newStore()
    const invoiceId = await fixture.payInvoice(store, '10', [15_000_000n])
    const fail = await reserve(store, 15_000_000n)
    expect(await runEvaluateJob(invoiceId)).toBe('retry-later')
    await fail()
    // The job's retry has credited the 5, its transaction still open, when the store opens a refund.
    let credited!: () => void
    let commit!: () => void
    const creditedNow = new Promise<void>((resolve) => {
      credited = resolve
    })
    const committing = new Promise<void>((resolve) => {
      commit = resolve
    })
    const evaluation = withTransaction(database.pool, async (client) => {
      const waiting = await topUpBuyerCredit(client, store, invoiceId, context)
      credited()
      await committing
      return waiting
    })
    await creditedNow
    let refundSettled = false
    const refund = openFor(store, invoiceId, '5').finally(() => {
      refundSettled = true
    })
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(refundSettled).toBe(false)
    commit()
    expect(await evaluation).toBe(false)
    const { refund: opened } = await refund
    expect([opened.fromBuyerCredit, opened.fromMerchantBalance]).toEqual([5_000_000n, 0n])
    expect(await merchantAvailable(store)).toBe(10_000_000n)
    expect(await buyerCredit(invoiceId)).toEqual([5_000_000n, 0n])
  }, 60_000)
})
