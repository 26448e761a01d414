import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestDatabase } from '../../../test/setup/database.ts'
import { offlineNetwork } from '../../../test/setup/offline-network.ts'
import {
  type OfflinePaymentsFixture,
  startOfflinePaymentsFixture,
} from '../../../test/setup/offline-payments-fixture.ts'
import { withTransaction } from '../../db/tx.ts'
import { getInvoice, type InvoiceContext, reevaluateInvoice } from '../invoices/invoice.service.ts'
import { openRefund } from './refund.service.ts'

// Review 2 of "a refund never splits against a buyer credit that is still owed something" (ADR 0013).
// topUpBuyerCredit only credits an invoice whose *stored* status is settled. An invoice stored as
// expired/paid_partial (refundable) whose late payment is final but not yet evaluated will settle
// paid_over at its next evaluation and owe the excess to the buyer credit: the refund opened in between
// splits against a buyer credit of 0, and the evaluation then takes the excess from the store again.

const asset = 'USDT@chain-r2'
const tokenAddress: `0x${string}` = `0x${'22'.repeat(20)}`
const network = offlineNetwork({ name: 'chain-r2', tokenAddress })

let fixture: OfflinePaymentsFixture
let database: TestDatabase
let context: InvoiceContext

/** A final payment to `address`: the store's balance is credited; its evaluate-invoice job has not run. */
async function pay(address: string, amount: bigint): Promise<void> {
  await fixture.observePayment(address, amount)
  await fixture.finalizePayments()
}

const runEvaluateJob = (invoiceId: string) => fixture.runEvaluateJob(invoiceId)
const storeAvailable = (merchantId: string) => fixture.storeAvailable(merchantId)
const buyerCreditPosted = async (invoiceId: string) => (await fixture.buyerCredit(invoiceId))[0]

beforeAll(async () => {
  fixture = await startOfflinePaymentsFixture({ network, tokenAddress })
  database = fixture.database
  context = fixture.context
})

afterAll(async () => {
  await fixture?.stop()
})

// Review (2026-11-22): a refund used to trust the invoice's stored status, so a final late payment whose
// evaluation had not run yet was refunded from the store and then credited to the buyer from it again.
describe('a refund of an expired, underpaid invoice whose late payment is final but not yet evaluated', () => {
  it('takes the excess from the store once (the buyer credit is completed first, or the refund refused)', {
    retry: 0,
    timeout: 180_000,
  }, async () => {
    const store = await fixture.createStore(`Review2 ${randomBytes(3).toString('hex')}`)
    const view = await fixture.newInvoice(store, '10')
    const invoiceId = view.row.id
    const address = view.options[0]?.address as string
    // The buyer pays 4 of 10; the invoice expires underpaid: refundable (expired, paid_partial).
    await pay(address, 4_000_000n)
    fixture.advanceClock(16 * 60_000)
    await reevaluateInvoice(database.pool, invoiceId, context)
    const expired = (await getInvoice(database.pool, store, invoiceId, context)).row
    expect([expired.status, expired.exception]).toEqual(['expired', 'paid_partial'])

    // Within monitoring the buyer sends 8 more (12 in all: 2 over). Final, the store credited 12, but the
    // evaluate-invoice job it enqueued has not run when the store refunds everything the buyer paid.
    await pay(address, 8_000_000n)
    expect(await storeAvailable(store)).toBe(12_000_000n)
    const opened = await withTransaction(database.pool, (client) =>
      openRefund(
        client,
        { merchantId: store, invoiceId, amount: '12', assetId: asset, apiKeyId: 'key_review2' },
        context,
      ),
    )
    // The refund evaluates the invoice first (settled, paid_over: 2 owed to the buyer credit, credited
    // from the store's 12), then splits: 2 from the buyer credit, 10 from the store.
    expect([opened.refund.fromBuyerCredit, opened.refund.fromMerchantBalance]).toEqual([
      2_000_000n,
      10_000_000n,
    ])
    const settled = (await getInvoice(database.pool, store, invoiceId, context)).row
    expect([settled.status, settled.exception]).toEqual(['settled', 'paid_over'])
    // The job, when it runs, finds nothing more owed.
    expect(await runEvaluateJob(invoiceId)).toBe('done')
    const other = await fixture.newInvoice(store, '10')
    await pay(other.options[0]?.address as string, 10_000_000n)
    await runEvaluateJob(invoiceId)
    const refused = await withTransaction(database.pool, (client) =>
      openRefund(
        client,
        { merchantId: store, invoiceId, amount: '0.000001', assetId: asset, apiKeyId: 'key_review2' },
        context,
      ),
    ).catch((error: { code?: string }) => error.code)
    expect(refused).toBe('refund-exceeds-refundable')
    // The buyer paid 12 and gets 12 back; the store keeps the other invoice's 10, and the buyer credit's 2
    // are all reserved by the refund (posted, not available).
    expect({ store: await storeAvailable(store), buyerCredit: await buyerCreditPosted(invoiceId) }).toEqual({
      store: 10_000_000n,
      buyerCredit: 2_000_000n,
    })
  })
})
