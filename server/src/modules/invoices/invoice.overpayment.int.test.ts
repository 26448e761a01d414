import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { offlineNetwork } from '../../../test/setup/offline-network.ts'
import { importTestSanctionsList } from '../../../test/setup/sanctions.ts'
import type { NetworkConfig } from '../../config/config.types.ts'
import { withTransaction } from '../../db/tx.ts'
import { createRawMasterKeyProvider } from '../keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../keys/key.service.ts'
import { listOwnerBalances } from '../ledger/ledger.service.ts'
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

async function pay(network: NetworkConfig, token: `0x${string}`, to: string, amount: bigint) {
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
        from: buyer,
        to,
        amount,
      },
    ]),
  )
  return at
}

async function finalizeAll() {
  for (const network of [networkA, networkB]) {
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
    const view = await withTransaction(database.pool, (client) =>
      createInvoice(client, { merchantId, amount: '100', currency: 'USDT' }, context),
    )
    const address = view.options[0]?.address as string
    // 150 USDT on chain-a first, then 1 USDT on chain-b (seen later, so listed first: newest first).
    await pay(networkA, tokenA, address, 150_000_000n)
    await new Promise((resolve) => setTimeout(resolve, 5))
    await pay(networkB, tokenB, address, 1_000_000n)
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
    const stuck = await withTransaction(database.pool, (client) =>
      createInvoice(
        client,
        { merchantId, amount: '100', currency: 'USDT', expiresInMinutes: 1, monitoringMinutes: 1 },
        context,
      ),
    )
    const address = stuck.options[0]?.address as string
    await pay(networkA, tokenA, address, 150_000_000n)
    await new Promise((resolve) => setTimeout(resolve, 5))
    await pay(networkB, tokenB, address, 1_000_000n)
    // Seen (processing), then final; the evaluation job would fail as above.
    await reevaluateInvoice(database.pool, stuck.row.id, context)
    expect((await getInvoice(database.pool, merchantId, stuck.row.id, context)).row.status).toBe('processing')
    await finalizeAll()
    const other = await withTransaction(database.pool, (client) =>
      createInvoice(client, { merchantId, amount: '5', currency: 'USDT', expiresInMinutes: 2 }, context),
    )
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
    const late = await withTransaction(database.pool, (client) =>
      createInvoice(client, { merchantId, amount: '10', currency: 'USDT', expiresInMinutes: 1 }, past),
    )
    await pay(networkA, tokenA, late.options[0]?.address as string, 25_000_000n)
    await finalizeAll()
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
    const view = await withTransaction(database.pool, (client) =>
      createInvoice(
        client,
        { merchantId, amount: '10', currency: 'USDT', expiresInMinutes: 1 },
        {
          ...context,
          now: () => new Date(),
        },
      ),
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
    const invoice = await withTransaction(database.pool, (client) =>
      createInvoice(client, { merchantId, amount: '10', currency: 'USDT' }, context),
    )
    const address = invoice.options[0]?.address as string
    await pay(networkA, tokenA, address, 10_000_000n)
    await finalizeAll()
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
