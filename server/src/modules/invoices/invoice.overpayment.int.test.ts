import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { offlineNetwork } from '../../../test/setup/offline-network.ts'
import { importTestSanctionsList } from '../../../test/setup/sanctions.ts'
import type { NetworkConfig } from '../../config/config.types.ts'
import { withTransaction } from '../../db/tx.ts'
import { createEvaluateInvoiceHandler } from '../../jobs/invoices.ts'
import { RetryLater } from '../../jobs/runner.ts'
import { createRawMasterKeyProvider } from '../keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../keys/key.service.ts'
import {
  createTransfer,
  getAccountBalance,
  getOrCreateAccount,
  getOrCreateSystemAccount,
  listOwnerBalances,
} from '../ledger/ledger.service.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import { progressPayments, recordObservedTransfers } from '../payments/payment.service.ts'
import { orphanPayments } from '../payments/payment-recording.service.ts'
import { invoiceLimits } from './invoice.limits.ts'
import { staticRateSource } from './invoice.rates.ts'
import {
  createInvoice,
  expireDueInvoices,
  getInvoice,
  type InvoiceContext,
  reevaluateInvoice,
} from './invoice.service.ts'

// How an invoice's overpayment reaches the buyer credit (in the assets it arrived in, late ones too), that
// one invoice failing to evaluate does not stop the others expiring, what a reorg does to "late", and
// that dust sent to an invoice's public address cannot push its payment out of the count.

const tokenA: `0x${string}` = `0x${'11'.repeat(20)}`
const tokenB: `0x${string}` = `0x${'22'.repeat(20)}`
const networkA = offlineNetwork({ name: 'chain-a', tokenAddress: tokenA })
const networkB = offlineNetwork({ name: 'chain-b', tokenAddress: tokenB, chainId: 31_338 })
const buyer = '0x52908400098527886e0f7030069857d2e4169ee7'

let database: TestDatabase
let provider: ReturnType<typeof createRawMasterKeyProvider>
let nowMs = Date.now()
const context: InvoiceContext = {
  networks: [networkA, networkB],
  rateSource: staticRateSource({ USD: { USDT: '1' } }),
  now: () => new Date(nowMs),
}
let block = 100n

async function newMerchant(): Promise<string> {
  const id = (await createMerchant(database.pool, { name: `Audit ${randomBytes(3).toString('hex')}` }))
    .merchant.id
  await exportAccountXpub(database.pool, provider, id)
  return id
}

async function pay(
  network: NetworkConfig,
  token: `0x${string}`,
  to: string,
  amount: bigint,
  from: string = buyer,
) {
  block += 1n
  const at = block
  await withTransaction(database.pool, (client) =>
    recordObservedTransfers(client, network, [
      {
        blockNumber: at,
        blockHash: `0x${randomBytes(32).toString('hex')}`,
        txHash: `0x${randomBytes(32).toString('hex')}`,
        logIndex: 0,
        tokenAddress: token,
        from,
        to,
        amount,
      },
    ]),
  )
  return at
}

async function finalizeAll(networks: readonly NetworkConfig[] = [networkA, networkB]) {
  for (const network of networks) {
    await withTransaction(database.pool, (client) =>
      progressPayments(
        client,
        network,
        { headNumber: block + 10n, finalizedNumber: block + 5n },
        { creditingHalted: false },
      ),
    )
  }
}

/** A USDT invoice of `amount` for the store, created at `invoiceContext`'s clock (the suite's by default). */
async function newInvoice(
  merchantId: string,
  amount: string,
  limits: { expiresInMinutes?: number; monitoringMinutes?: number } = {},
  invoiceContext: InvoiceContext = context,
) {
  return await withTransaction(database.pool, (client) =>
    createInvoice(client, { merchantId, amount, currency: 'USDT', ...limits }, invoiceContext),
  )
}

/** A payment that is final at once: the store's balance is credited; the invoice is not evaluated. */
async function payFinal(network: NetworkConfig, token: `0x${string}`, to: string, amount: bigint) {
  await pay(network, token, to, amount)
  await finalizeAll()
}

/** 150 USDT on chain-a first, then 1 USDT on chain-b (seen later, so listed first: newest first). */
async function payOnTwoNetworks(to: string) {
  await pay(networkA, tokenA, to, 150_000_000n)
  await new Promise((resolve) => setTimeout(resolve, 5))
  await pay(networkB, tokenB, to, 1_000_000n)
}

async function buyerCredit(invoiceId: string) {
  return (await listOwnerBalances(database.pool, 'customer', invoiceId))
    .filter((balance) => balance.account.purpose === 'buyer-credit')
    .map((balance) => [balance.account.assetId, balance.posted])
}

beforeAll(async () => {
  database = await createTestDatabase()
  provider = createRawMasterKeyProvider(randomBytes(32))
  await initKeys(database.pool, provider)
  await importTestSanctionsList(database.pool)
})

afterAll(async () => {
  await database?.drop()
})

describe('overpayment credit, expiry and reorgs', () => {
  it('settles an invoice overpaid on one network and topped up by a small payment on another', async () => {
    const merchantId = await newMerchant()
    const view = await newInvoice(merchantId, '100')
    await payOnTwoNetworks(view.options[0]?.address as string)
    await finalizeAll()
    // Excess 51 USDT; the merchant holds 150 on chain-a and 1 on chain-b. The credit is taken in the asset
    // of the newest payment (chain-b), where the store holds 1: insufficient funds, the evaluation fails.
    await expect(reevaluateInvoice(database.pool, view.row.id, context)).resolves.toEqual({
      status: 'settled',
      exception: 'paid_over',
    })
    expect(await buyerCredit(view.row.id)).toEqual([['USDT@chain-a', 51_000_000n]])
  })

  it('one failing invoice does not stop every other invoice from expiring', async () => {
    const merchantId = await newMerchant()
    const stuck = await newInvoice(merchantId, '100', { expiresInMinutes: 1, monitoringMinutes: 1 })
    await payOnTwoNetworks(stuck.options[0]?.address as string)
    // Seen (processing), then final; the evaluation job would fail as above.
    await reevaluateInvoice(database.pool, stuck.row.id, context)
    expect((await getInvoice(database.pool, merchantId, stuck.row.id, context)).row.status).toBe('processing')
    await finalizeAll()
    const other = await newInvoice(merchantId, '5', { expiresInMinutes: 2 })
    nowMs += 10 * 60_000
    const failure = await expireDueInvoices(database.pool, context).then(
      () => 'ok',
      (error: { code?: string }) => error.code,
    )
    // The stuck invoice (oldest expiry, first in every scan) throws, and the scan stops with it.
    expect({
      failure,
      stuck: (await getInvoice(database.pool, merchantId, stuck.row.id, context)).row.status,
    }).toEqual({
      failure: 'ok',
      stuck: 'settled',
    })
    expect((await getInvoice(database.pool, merchantId, other.row.id, context)).row.status).toBe('expired')
  })

  it('credits the buyer for a late overpayment', async () => {
    const merchantId = await newMerchant()
    // Created two minutes ago with one minute to pay: the payment below (stamped by the database's now())
    // is first seen after expiry, inside the monitoring window.
    const past = { ...context, now: () => new Date(Date.now() - 2 * 60_000) }
    const late = await newInvoice(merchantId, '10', { expiresInMinutes: 1 }, past)
    await payFinal(networkA, tokenA, late.options[0]?.address as string, 25_000_000n)
    const live = { ...context, now: () => new Date() }
    expect(await reevaluateInvoice(database.pool, late.row.id, live)).toEqual({
      status: 'settled',
      exception: 'paid_late',
    })
    // 15 USDT above the amount due belong to the buyer, as for any other overpayment.
    expect(await buyerCredit(late.row.id)).toEqual([['USDT@chain-a', 15_000_000n]])
  })

  it('a payment detected in time and re-included after a reorg is not late', async () => {
    const merchantId = await newMerchant()
    const view = await newInvoice(
      merchantId,
      '10',
      { expiresInMinutes: 1 },
      { ...context, now: () => new Date() },
    )
    const address = view.options[0]?.address as string
    const txHash = `0x${randomBytes(32).toString('hex')}` as const
    const transfer = (at: bigint) => ({
      blockNumber: at,
      blockHash: `0x${randomBytes(32).toString('hex')}`,
      txHash,
      logIndex: 0,
      tokenAddress: tokenA,
      from: buyer,
      to: address,
      amount: 10_000_000n,
    })
    block += 1n
    const first = block
    await withTransaction(database.pool, (client) =>
      recordObservedTransfers(client, networkA, [transfer(first)]),
    )
    const live = { ...context, now: () => new Date() }
    expect(await reevaluateInvoice(database.pool, view.row.id, live)).toEqual({
      status: 'processing',
      exception: 'none',
    })
    // Seen ten minutes ago, expiry five minutes ago: paid in time.
    await database.pool.query(
      `update payments set detected_at = now() - interval '10 minutes' where tx_hash = $1`,
      [txHash],
    )
    await database.pool.query(`update invoices set expires_at = now() - interval '5 minutes' where id = $1`, [
      view.row.id,
    ])
    expect(await reevaluateInvoice(database.pool, view.row.id, live)).toEqual({
      status: 'processing',
      exception: 'none',
    })
    // A shallow reorg drops the block; the same transfer is re-included in the next block.
    await withTransaction(database.pool, (client) => orphanPayments(client, networkA, first))
    block += 1n
    const second = block
    await withTransaction(database.pool, (client) =>
      recordObservedTransfers(client, networkA, [transfer(second)]),
    )
    await finalizeAll()
    const state = await reevaluateInvoice(database.pool, view.row.id, live)
    expect(state).toEqual({ status: 'settled', exception: 'none' })
  })

  it('a thousand dust transfers after the payment do not push it out of the count', async () => {
    const merchantId = await newMerchant()
    const invoice = await newInvoice(merchantId, '10')
    const address = invoice.options[0]?.address as string
    await payFinal(networkA, tokenA, address, 10_000_000n)
    expect(await reevaluateInvoice(database.pool, invoice.row.id, context)).toEqual({
      status: 'settled',
      exception: 'none',
    })
    // Zero-value transfers (dust: address poisoning) from anyone, newer than the payment.
    block += 1n
    const at = block
    await withTransaction(database.pool, (client) =>
      recordObservedTransfers(
        client,
        networkA,
        Array.from({ length: invoiceLimits.paymentsPerInvoiceMax + 1 }, (_, index) => ({
          blockNumber: at,
          blockHash: `0x${'ab'.repeat(32)}`,
          txHash: `0x${randomBytes(32).toString('hex')}`,
          logIndex: index,
          tokenAddress: tokenA,
          from: buyer,
          to: address,
          amount: 0n,
        })),
      ),
    )
    const view = await getInvoice(database.pool, merchantId, invoice.row.id, context)
    expect(view.payments.some((payment) => payment.amount === 10_000_000n)).toBe(false) // shown: newest
    expect([view.facts.finalValue > 0n, view.row.status]).toEqual([true, 'settled'])
  })
})

// Every final, counted payment above the amount due reaches the buyer credit exactly once, also when it
// arrives after the invoice settled (audit, 2026-11-22: before, only the excess present at the settle was).
describe('an excess arriving after the invoice settled', () => {
  /** The evaluate-invoice job as the worker runs it (enqueued by each payment change). */
  async function runEvaluateJob(invoiceId: string): Promise<'done' | 'retry-later'> {
    const [, evaluateJob] = createEvaluateInvoiceHandler(database.pool, context)
    try {
      await evaluateJob(
        {
          id: '1',
          kind: 'evaluate-invoice',
          payload: { invoice_id: invoiceId },
          attempts: 1,
          attemptsMax: 25,
        },
        new AbortController().signal,
      )
      return 'done'
    } catch (error) {
      if (error instanceof RetryLater) return 'retry-later'
      throw error
    }
  }

  async function storeAccount(merchantId: string, assetId: string) {
    return await getOrCreateAccount(database.pool, {
      ownerType: 'merchant',
      ownerId: merchantId,
      purpose: 'available',
      assetId,
      normalSide: 'credit',
      flags: { debitsMustNotExceedCredits: true },
    })
  }

  async function storeAvailable(merchantId: string, assetId: string): Promise<bigint> {
    return (await getAccountBalance(database.pool, (await storeAccount(merchantId, assetId)).id)).available
  }

  /** Stands in for refunds or payouts: reserves all but `leave` of the store's available balance. */
  async function reserveStore(merchantId: string, assetId: string, leave: bigint): Promise<string> {
    const id = `test-reserve:${randomBytes(6).toString('hex')}`
    await createTransfer(database.pool, {
      kind: 'pending',
      id,
      debitAccountId: (await storeAccount(merchantId, assetId)).id,
      creditAccountId: (await getOrCreateSystemAccount(database.pool, 'payout-clearing', assetId)).id,
      assetId,
      amount: (await storeAvailable(merchantId, assetId)) - leave,
      code: 'test-reserve',
      timeoutMs: 3_600_000,
    })
    return id
  }

  async function release(pendingId: string) {
    await createTransfer(database.pool, { kind: 'void', id: `${pendingId}:void`, pendingId })
  }

  async function overpaymentTransfers(invoiceId: string) {
    const result = await database.pool.query<{ id: string; asset_id: string; amount: string }>(
      "select id, asset_id, amount from ledger_transfers where code = 'invoice-overpayment' and metadata->>'invoice_id' = $1 order by seq",
      [invoiceId],
    )
    return result.rows.map((row) => [row.id, row.asset_id, BigInt(row.amount)])
  }

  it('credits a second and a third payment, in whatever order they finalize, once however often evaluated', async () => {
    const merchantId = await newMerchant()
    const view = await newInvoice(merchantId, '10')
    const address = view.options[0]?.address as string
    await payFinal(networkA, tokenA, address, 10_000_000n)
    expect(await runEvaluateJob(view.row.id)).toBe('done')
    expect(await buyerCredit(view.row.id)).toEqual([])

    // The buyer pays again (4 USDT): the invoice is settled already, and all 4 are the buyer's.
    await payFinal(networkA, tokenA, address, 4_000_000n)
    expect(await reevaluateInvoice(database.pool, view.row.id, context)).toEqual({
      status: 'settled',
      exception: 'paid_over',
    })
    expect(await buyerCredit(view.row.id)).toEqual([['USDT@chain-a', 4_000_000n]])
    // The job runs again (a retry, a restart): nothing more.
    expect(await runEvaluateJob(view.row.id)).toBe('done')
    expect(await runEvaluateJob(view.row.id)).toBe('done')
    expect(await buyerCredit(view.row.id)).toEqual([['USDT@chain-a', 4_000_000n]])

    // Two more, on two networks; the later one (chain-b) finalizes first, each evaluated twice.
    await pay(networkA, tokenA, address, 1_000_000n)
    await pay(networkB, tokenB, address, 6_000_000n)
    await finalizeAll([networkB])
    expect(await runEvaluateJob(view.row.id)).toBe('done')
    expect(await runEvaluateJob(view.row.id)).toBe('done')
    expect(await buyerCredit(view.row.id)).toEqual([['USDT@chain-a', 10_000_000n]])
    await finalizeAll([networkA])
    expect(await runEvaluateJob(view.row.id)).toBe('done')
    expect(await runEvaluateJob(view.row.id)).toBe('done')
    // 21 paid for 10 due: 11 belong to the buyer, each unit once; the store keeps exactly the 10 due.
    expect(await buyerCredit(view.row.id)).toEqual([
      ['USDT@chain-a', 10_000_000n],
      ['USDT@chain-b', 1_000_000n],
    ])
    expect(
      (await storeAvailable(merchantId, 'USDT@chain-a')) + (await storeAvailable(merchantId, 'USDT@chain-b')),
    ).toBe(10_000_000n)
    // One transfer per increment, numbered: a replay could only repeat one of them.
    expect(await overpaymentTransfers(view.row.id)).toEqual([
      [`invoice-overpaid:${view.row.id}:1`, 'USDT@chain-a', 4_000_000n],
      [`invoice-overpaid:${view.row.id}:2`, 'USDT@chain-a', 6_000_000n],
      [`invoice-overpaid:${view.row.id}:3`, 'USDT@chain-b', 1_000_000n],
    ])
  })

  it('never counts payments that do not count: after monitoring, dust, from a sanctioned sender', async () => {
    const merchantId = await newMerchant()
    const view = await newInvoice(merchantId, '10')
    const address = view.options[0]?.address as string
    await pay(networkA, tokenA, address, 12_000_000n)
    await pay(networkA, tokenA, address, 5_000n) // dust: below a hundredth of a token
    await pay(networkA, tokenA, address, 7_000_000n, '0x000000000000000000000000000000000000dead') // held
    await finalizeAll()
    expect(await runEvaluateJob(view.row.id)).toBe('done')
    const statuses = (await getInvoice(database.pool, merchantId, view.row.id, context)).payments.map(
      (payment) => payment.status,
    )
    expect(statuses.sort()).toEqual(['dust', 'finalized', 'held'])
    expect(await buyerCredit(view.row.id)).toEqual([['USDT@chain-a', 2_000_000n]])
    // Monitoring ends (the payments above were seen in time); a payment seen after it is not counted.
    await database.pool.query(
      `update payments set detected_at = now() - interval '10 minutes' where owner_id = $1`,
      [view.row.id],
    )
    await database.pool.query(
      `update invoices set expires_at = now() - interval '5 minutes', monitoring_until = now() - interval '1 minute'
       where id = $1`,
      [view.row.id],
    )
    await payFinal(networkA, tokenA, address, 3_000_000n)
    expect(await runEvaluateJob(view.row.id)).toBe('done')
    expect(await buyerCredit(view.row.id)).toEqual([['USDT@chain-a', 2_000_000n]])
  })

  it('settles and credits what the store can cover now, the rest when its balance returns', async () => {
    const merchantId = await newMerchant()
    const view = await newInvoice(merchantId, '10')
    const address = view.options[0]?.address as string
    await payFinal(networkA, tokenA, address, 15_000_000n)
    // Refunds or payouts reserved all but 2 USDT before the evaluation ran.
    const reservation = await reserveStore(merchantId, 'USDT@chain-a', 2_000_000n)
    // The invoice settles anyway (before, the whole evaluation failed with insufficient funds), 2 of the
    // 5 owed are credited, and the job asks to run again later.
    expect(await runEvaluateJob(view.row.id)).toBe('retry-later')
    const settled = await getInvoice(database.pool, merchantId, view.row.id, context)
    expect([settled.row.status, settled.row.exception]).toEqual(['settled', 'paid_over'])
    expect(await buyerCredit(view.row.id)).toEqual([['USDT@chain-a', 2_000_000n]])
    expect(await runEvaluateJob(view.row.id)).toBe('retry-later')
    expect(await buyerCredit(view.row.id)).toEqual([['USDT@chain-a', 2_000_000n]])
    // Another invoice of the store is evaluated meanwhile as usual.
    const other = await newInvoice(merchantId, '1')
    await payFinal(networkA, tokenA, other.options[0]?.address as string, 1_000_000n)
    expect(await runEvaluateJob(other.row.id)).toBe('done')
    expect((await getInvoice(database.pool, merchantId, other.row.id, context)).row.status).toBe('settled')
    // The reservation ends: the next run credits the rest, once.
    await release(reservation)
    expect(await runEvaluateJob(view.row.id)).toBe('done')
    expect(await runEvaluateJob(view.row.id)).toBe('done')
    expect(await buyerCredit(view.row.id)).toEqual([['USDT@chain-a', 5_000_000n]])
  })

  it('takes a later excess from another asset the buyer paid in when the store spent the first', async () => {
    const merchantId = await newMerchant()
    const view = await newInvoice(merchantId, '10')
    const address = view.options[0]?.address as string
    await payFinal(networkA, tokenA, address, 10_000_000n)
    expect(await runEvaluateJob(view.row.id)).toBe('done')
    // The store pays out all of chain-a; then the buyer pays 4 more on chain-b.
    await reserveStore(merchantId, 'USDT@chain-a', 0n)
    await payFinal(networkB, tokenB, address, 4_000_000n)
    expect(await runEvaluateJob(view.row.id)).toBe('done')
    expect(await buyerCredit(view.row.id)).toEqual([['USDT@chain-b', 4_000_000n]])
  })
})
