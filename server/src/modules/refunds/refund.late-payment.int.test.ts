import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { offlineNetwork } from '../../../test/setup/offline-network.ts'
import { withTransaction } from '../../db/tx.ts'
import { createEvaluateInvoiceHandler } from '../../jobs/invoices.ts'
import { RetryLater } from '../../jobs/runner.ts'
import { staticRateSource } from '../invoices/invoice.rates.ts'
import {
  createInvoice,
  getInvoice,
  type InvoiceContext,
  reevaluateInvoice,
} from '../invoices/invoice.service.ts'
import { createRawMasterKeyProvider } from '../keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../keys/key.service.ts'
import { getAccountBalance, getOrCreateAccount, listOwnerBalances } from '../ledger/ledger.service.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import { progressPayments, recordObservedTransfers } from '../payments/payment.service.ts'
import { importSanctionLists } from '../sanctions/sanction.service.ts'
import { openRefund } from './refund.service.ts'

// Review 2 of "a refund never splits against a buyer credit that is still owed something" (ADR 0013).
// topUpBuyerCredit only credits an invoice whose *stored* status is settled. An invoice stored as
// expired/paid_partial (refundable) whose late payment is final but not yet evaluated will settle
// paid_over at its next evaluation and owe the excess to the buyer credit: the refund opened in between
// splits against a buyer credit of 0, and the evaluation then takes the excess from the store again.

const asset = 'USDT@chain-r2'
const tokenAddress: `0x${string}` = `0x${'22'.repeat(20)}`
const buyer = '0x52908400098527886E0F7030069857D2E4169EE7'
const network = offlineNetwork({ name: 'chain-r2', tokenAddress })

let database: TestDatabase
let nowMs = Date.now()
const context: InvoiceContext = {
  networks: [network],
  rateSource: staticRateSource({ USD: { USDT: '1' } }),
  now: () => new Date(nowMs),
}
let block = 100n
let provider: ReturnType<typeof createRawMasterKeyProvider>

async function pay(address: string, amount: bigint): Promise<void> {
  block += 1n
  await withTransaction(database.pool, (client) =>
    recordObservedTransfers(client, network, [
      {
        blockNumber: block,
        blockHash: `0x${randomBytes(32).toString('hex')}`,
        txHash: `0x${randomBytes(32).toString('hex')}`,
        logIndex: 0,
        tokenAddress,
        from: buyer.toLowerCase(),
        to: address,
        amount,
      },
    ]),
  )
  // Final: the store's balance is credited; the evaluate-invoice job it enqueues has not run yet.
  await withTransaction(database.pool, (client) =>
    progressPayments(
      client,
      network,
      { headNumber: block + 10n, finalizedNumber: block + 5n },
      { creditingHalted: false },
    ),
  )
}

async function runEvaluateJob(invoiceId: string): Promise<'done' | 'retry-later'> {
  const [, evaluate] = createEvaluateInvoiceHandler(database.pool, context)
  try {
    await evaluate(
      { id: '1', kind: 'evaluate-invoice', payload: { invoice_id: invoiceId }, attempts: 1, attemptsMax: 25 },
      new AbortController().signal,
    )
    return 'done'
  } catch (error) {
    if (error instanceof RetryLater) return 'retry-later'
    throw error
  }
}

async function storeAvailable(merchantId: string): Promise<bigint> {
  const account = await getOrCreateAccount(database.pool, {
    ownerType: 'merchant',
    ownerId: merchantId,
    purpose: 'available',
    assetId: asset,
    normalSide: 'credit',
    flags: { debitsMustNotExceedCredits: true },
  })
  return (await getAccountBalance(database.pool, account.id)).available
}

async function buyerCreditPosted(invoiceId: string): Promise<bigint> {
  const credit = (await listOwnerBalances(database.pool, 'customer', invoiceId)).find(
    (balance) => balance.account.purpose === 'buyer-credit',
  )
  return credit?.posted ?? 0n
}

beforeAll(async () => {
  database = await createTestDatabase()
  provider = createRawMasterKeyProvider(randomBytes(32))
  await initKeys(database.pool, provider)
  const directory = mkdtempSync(join(tmpdir(), 'sluice-sanctions-'))
  chmodSync(directory, 0o755)
  writeFileSync(
    join(directory, 'sanctioned_addresses_ETH.txt'),
    '0x000000000000000000000000000000000000dead\n',
  )
  await importSanctionLists(database.pool, [join(directory, 'sanctioned_addresses_ETH.txt')])
})

afterAll(async () => {
  await database?.drop()
})

// Review (2026-11-22): a refund used to trust the invoice's stored status, so a final late payment whose
// evaluation had not run yet was refunded from the store and then credited to the buyer from it again.
describe('a refund of an expired, underpaid invoice whose late payment is final but not yet evaluated', () => {
  it('takes the excess from the store once (the buyer credit is completed first, or the refund refused)', {
    retry: 0,
    timeout: 180_000,
  }, async () => {
    const store = (await createMerchant(database.pool, { name: `Review2 ${randomBytes(3).toString('hex')}` }))
      .merchant.id
    await exportAccountXpub(database.pool, provider, store)
    const view = await withTransaction(database.pool, (client) =>
      createInvoice(client, { merchantId: store, amount: '10', currency: 'USDT' }, context),
    )
    const invoiceId = view.row.id
    const address = view.options[0]?.address as string
    // The buyer pays 4 of 10; the invoice expires underpaid: refundable (expired, paid_partial).
    await pay(address, 4_000_000n)
    nowMs += 16 * 60_000
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
    const other = await withTransaction(database.pool, (client) =>
      createInvoice(client, { merchantId: store, amount: '10', currency: 'USDT' }, context),
    )
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
