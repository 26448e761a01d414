import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getAddress } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { offlineNetwork } from '../../../test/setup/offline-network.ts'
import { withTransaction } from '../../db/tx.ts'
import { createLogger } from '../../lib/logger.ts'
import { staticRateSource } from '../invoices/invoice.rates.ts'
import { createInvoice, type InvoiceContext, reevaluateInvoice } from '../invoices/invoice.service.ts'
import { createRawMasterKeyProvider } from '../keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../keys/key.service.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import { progressPayments, recordObservedTransfers } from '../payments/payment.service.ts'
import { updatePayoutSettings } from '../payouts/payout.book.ts'
import { bookPayoutFinal } from '../payouts/payout.ledger.ts'
import { failBeforeSigning } from '../payouts/payout.send.ts'
import { getPayout } from '../payouts/payout.service.ts'
import { importSanctionLists } from '../sanctions/sanction.service.ts'
import { openRefund, payOutRefund, submitRefundDestination } from './refund.service.ts'
import type { OpenRefundInput } from './refund.types.ts'

// A refund whose payout had a canary (docs/adr/0015): the canary is paid first and may reach the buyer
// even when the rest of the payout then ends unpaid, so it stays counted against the invoice.
// Refunds on real PostgreSQL and the real ledger: invoices are paid by feeding observed transfers to the
// payments module (no chain needed), then refunded, reserved, cancelled and given destinations.

const asset = 'USDT@chain-a'
const tokenAddress: `0x${string}` = `0x${'11'.repeat(20)}`
const buyer = '0x52908400098527886E0F7030069857D2E4169EE7'
const network = offlineNetwork({ name: 'chain-a', tokenAddress })

let database: TestDatabase
let merchantId: string
let nowMs = Date.now()
const context: InvoiceContext = {
  networks: [network],
  rateSource: staticRateSource({ USD: { USDT: '1' } }),
  now: () => new Date(nowMs),
}
let block = 100n

/** An invoice of `amount` USDT paid with each of `payments` (minor units), final and evaluated. */
async function paidInvoice(amount: string, payments: readonly bigint[]): Promise<string> {
  const view = await withTransaction(database.pool, (client) =>
    createInvoice(client, { merchantId, amount, currency: 'USDT' }, context),
  )
  const address = view.options[0]?.address as string
  for (const paid of payments) {
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
          amount: paid,
        },
      ]),
    )
  }
  await withTransaction(database.pool, (client) =>
    progressPayments(
      client,
      network,
      { headNumber: block + 10n, finalizedNumber: block + 5n },
      { creditingHalted: false },
    ),
  )
  await reevaluateInvoice(database.pool, view.row.id, context)
  return view.row.id
}

function open(invoiceId: string, amount: string, extra: Partial<OpenRefundInput> = {}) {
  // Ids are time-ordered to the millisecond: a step per refund keeps "newest first" well defined.
  nowMs += 1
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

beforeAll(async () => {
  database = await createTestDatabase()
  const provider = createRawMasterKeyProvider(randomBytes(32))
  await initKeys(database.pool, provider)
  merchantId = (await createMerchant(database.pool, { name: 'Refund Store' })).merchant.id
  await exportAccountXpub(database.pool, provider, merchantId)
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

describe('a refund whose payout had a canary', () => {
  const payoutContext = { networks: [network], now: () => new Date(nowMs) }

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
