import { randomBytes } from 'node:crypto'
import type { NetworkConfig } from '../../src/config/config.types.ts'
import type { Pool } from '../../src/db/pool.ts'
import { withTransaction } from '../../src/db/tx.ts'
import { createEvaluateInvoiceHandler } from '../../src/jobs/invoices.ts'
import { RetryLater } from '../../src/jobs/runner.ts'
import { staticRateSource } from '../../src/modules/invoices/invoice.rates.ts'
import { createInvoice, type InvoiceContext } from '../../src/modules/invoices/invoice.service.ts'
import { createRawMasterKeyProvider } from '../../src/modules/keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../../src/modules/keys/key.service.ts'
import {
  getAccountBalance,
  getOrCreateAccount,
  listOwnerBalances,
} from '../../src/modules/ledger/ledger.service.ts'
import { createMerchant } from '../../src/modules/merchants/merchant.service.ts'
import { progressPayments, recordObservedTransfers } from '../../src/modules/payments/payment.service.ts'
import { createTestDatabase } from './database.ts'
import { importTestSanctionsList } from './sanctions.ts'

/**
 * Shared by the refund integration tests: a migrated database with the HD root and a sanctions list,
 * stores, and invoices paid without a chain, by feeding observed transfers to the payments module. The
 * clock and the block height are the fixture's; tests move them on. Test-only (imported by
 * *.int.test.ts files).
 */
export const fixtureBuyer = '0x52908400098527886E0F7030069857D2E4169EE7'

export type OfflinePaymentsFixture = Awaited<ReturnType<typeof startOfflinePaymentsFixture>>

/** Every payment in `network` is of its one USDT token (at `tokenAddress`), from the fixture's buyer. */
export async function startOfflinePaymentsFixture(options: {
  network: NetworkConfig
  tokenAddress: `0x${string}`
}) {
  const { network, tokenAddress } = options
  const asset = `USDT@${network.name}`
  let nowMs = Date.now()
  let block = 100n
  const context: InvoiceContext = {
    networks: [network],
    rateSource: staticRateSource({ USD: { USDT: '1' } }),
    now: () => new Date(nowMs),
  }
  const database = await createTestDatabase()
  const provider = createRawMasterKeyProvider(randomBytes(32))
  await initKeys(database.pool, provider)
  await importTestSanctionsList(database.pool)

  /** A store with its account xpub exported, so its invoices get deposit addresses. */
  async function createStore(name: string): Promise<string> {
    const merchantId = (await createMerchant(database.pool, { name })).merchant.id
    await exportAccountXpub(database.pool, provider, merchantId)
    return merchantId
  }

  /** An open USDT invoice of `amount` for the store, with its deposit address. */
  async function newInvoice(merchantId: string, amount: string) {
    return await withTransaction(database.pool, (client) =>
      createInvoice(client, { merchantId, amount, currency: 'USDT' }, context),
    )
  }

  /** A transfer of `amount` (minor units) from the buyer to `address`, seen in a new block, not final. */
  async function observePayment(address: string, amount: bigint): Promise<void> {
    const at = nextBlock()
    await withTransaction(database.pool, (client) =>
      recordObservedTransfers(client, network, [
        {
          blockNumber: at,
          blockHash: `0x${randomBytes(32).toString('hex')}`,
          txHash: `0x${randomBytes(32).toString('hex')}`,
          logIndex: 0,
          tokenAddress,
          from: fixtureBuyer.toLowerCase(),
          to: address,
          amount,
        },
      ]),
    )
  }

  /** Every payment seen so far is final: the stores' balances are credited, evaluate-invoice jobs wait. */
  async function finalizePayments(): Promise<void> {
    await withTransaction(database.pool, (client) =>
      progressPayments(
        client,
        network,
        { headNumber: block + 10n, finalizedNumber: block + 5n },
        { creditingHalted: false },
      ),
    )
  }

  /** An invoice of `amount` USDT paid with each of `payments` (minor units), final but not evaluated. */
  async function payInvoice(merchantId: string, amount: string, payments: readonly bigint[]) {
    const view = await newInvoice(merchantId, amount)
    const address = view.options[0]?.address as string
    for (const paid of payments) await observePayment(address, paid)
    await finalizePayments()
    return view.row.id
  }

  /** A new block height, above every block recorded so far (the fixture's transfers, or a test's own). */
  function nextBlock(): bigint {
    block += 1n
    return block
  }

  return {
    database,
    context,
    createStore,
    newInvoice,
    observePayment,
    finalizePayments,
    payInvoice,
    nextBlock,
    advanceClock: (ms: number) => {
      nowMs += ms
    },
    runEvaluateJob: (invoiceId: string) => runEvaluateJob(database.pool, context, invoiceId),
    storeAvailable: (merchantId: string) => storeAvailable(database.pool, merchantId, asset),
    buyerCredit: (invoiceId: string) => buyerCredit(database.pool, invoiceId),
    async stop() {
      await database.drop()
    },
  }
}

/** Runs the invoice's evaluate-invoice job once, as the worker would. */
async function runEvaluateJob(
  pool: Pool,
  context: InvoiceContext,
  invoiceId: string,
): Promise<'done' | 'retry-later'> {
  const [, evaluate] = createEvaluateInvoiceHandler(pool, context)
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

/** The store's available balance of `assetId`. */
async function storeAvailable(pool: Pool, merchantId: string, assetId: string): Promise<bigint> {
  const account = await getOrCreateAccount(pool, {
    ownerType: 'merchant',
    ownerId: merchantId,
    purpose: 'available',
    assetId,
    normalSide: 'credit',
    flags: { debitsMustNotExceedCredits: true },
  })
  return (await getAccountBalance(pool, account.id)).available
}

/** The invoice's buyer credit: [posted, available] (zeros while it has no account). */
async function buyerCredit(pool: Pool, invoiceId: string): Promise<[bigint, bigint]> {
  const credit = (await listOwnerBalances(pool, 'customer', invoiceId)).find(
    (balance) => balance.account.purpose === 'buyer-credit',
  )
  return [credit?.posted ?? 0n, credit?.available ?? 0n]
}
