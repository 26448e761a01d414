import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import type { NetworkConfig } from '../../config/config.types.ts'
import { withTransaction } from '../../db/tx.ts'
import { staticRateSource } from '../invoices/invoice.rates.ts'
import { type InvoiceContext, reevaluateInvoice } from '../invoices/invoice.service.ts'
import { createRawMasterKeyProvider } from '../keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../keys/key.service.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import {
  createPaymentLink,
  deactivatePaymentLink,
  getPaymentLink,
  listPaymentLinks,
  openPaymentLink,
  paymentLinkMerchant,
} from './payment-link.service.ts'
import type { CreatePaymentLinkInput } from './payment-link.types.ts'

// Payment links on real PostgreSQL: creation rules, openings (one-time links under concurrency), bounds.

const networks: NetworkConfig[] = [
  {
    name: 'chain-a',
    kind: 'evm',
    chainId: 31_337,
    rpcUrls: ['http://127.0.0.1:1'],
    blockTimeMs: 60_000,
    finality: { kind: 'confirmations', confirmations: 3 },
    tokens: [{ symbol: 'USDT', contractAddress: `0x${'11'.repeat(20)}`, decimals: 6 }],
  },
  {
    name: 'chain-b',
    kind: 'evm',
    chainId: 31_338,
    rpcUrls: ['http://127.0.0.1:1'],
    blockTimeMs: 60_000,
    finality: { kind: 'confirmations', confirmations: 3 },
    tokens: [{ symbol: 'USDT', contractAddress: `0x${'22'.repeat(20)}`, decimals: 18 }],
  },
]

let database: TestDatabase
let merchantId: string
let nowMs = Date.now()
const context: InvoiceContext = {
  networks,
  rateSource: staticRateSource({ USD: { USDT: '1' } }),
  now: () => new Date(nowMs),
}

function create(input: Omit<CreatePaymentLinkInput, 'merchantId'>) {
  // Ids are time-ordered to the millisecond: a step per link keeps "newest first" well defined.
  nowMs += 1
  return createPaymentLink(database.pool, { merchantId, ...input }, context)
}

const openLink = (id: string, amount?: string) =>
  withTransaction(database.pool, (client) => openPaymentLink(client, { id, amount }, context))

async function refusal(promise: Promise<unknown>): Promise<{ code: string; path: string | undefined }> {
  try {
    await promise
  } catch (error) {
    const { code, details } = error as { code: string; details: { path: string }[] }
    return { code, path: details[0]?.path }
  }
  throw new Error('expected a refusal')
}

async function invoicesOf(linkId: string): Promise<number> {
  const result = await database.pool.query<{ count: number }>(
    'select count(*)::int as count from invoices where payment_link_id = $1',
    [linkId],
  )
  return result.rows[0]?.count ?? -1
}

beforeAll(async () => {
  database = await createTestDatabase()
  const provider = createRawMasterKeyProvider(randomBytes(32))
  await initKeys(database.pool, provider)
  merchantId = (await createMerchant(database.pool, { name: 'Link Store' })).merchant.id
  await exportAccountXpub(database.pool, provider, merchantId)
})

afterAll(async () => {
  await database?.drop()
})

describe('creating links', () => {
  it('counts amounts in the fewest decimals of the accepted assets, 2 for fiat', async () => {
    expect((await create({ currency: 'USDT', amount: '1.5' })).amountDecimals).toBe(6)
    const eighteen = await create({ currency: 'USDT', networks: ['chain-b'], amount: '0.000000000001' })
    expect([eighteen.amountDecimals, eighteen.amount]).toEqual([18, 1_000_000n])
    const fiat = await create({ currency: 'USD', amountMin: '5', amountMax: '50.25' })
    expect([fiat.amountDecimals, fiat.amountMin, fiat.amountMax]).toEqual([2, 500n, 5025n])
  })

  it.each([
    [
      'excess decimals',
      { currency: 'USDT', amount: '0.0000001' },
      'amount-precision-exceeded',
      'body.amount',
    ],
    ['fiat cents', { currency: 'USD', amount: '1.001' }, 'amount-precision-exceeded', 'body.amount'],
    [
      'amount with bounds',
      { currency: 'USDT', amount: '1', amountMax: '2' },
      'amount-bounds-invalid',
      'body.amount_min',
    ],
    ['an unknown network', { currency: 'USDT', networks: ['tron'] }, 'network-unknown', 'body.networks'],
    ['a currency without rates', { currency: 'EUR' }, 'currency-unsupported', 'body.currency'],
    ['a past expiry', { currency: 'USDT', expiresAt: new Date(0) }, 'expires-at-invalid', 'body.expires_at'],
  ])('refuses %s', async (_case, input, code, path) => {
    expect(await refusal(create(input))).toEqual({ code, path })
  })

  it('lists newest first by pages, hides other stores’ links, and deactivates once', async () => {
    const other = (await createMerchant(database.pool, { name: 'Other' })).merchant.id
    const link = await create({ currency: 'USDT', amount: '1' })
    expect((await refusal(getPaymentLink(database.pool, other, link.id))).code).toBe('payment-link-not-found')
    const first = await listPaymentLinks(database.pool, merchantId, { limit: 2 })
    expect(first.links[0]?.id).toBe(link.id)
    expect(first.hasMore).toBe(true)
    const next = await listPaymentLinks(database.pool, merchantId, {
      limit: 100,
      startingAfter: first.links[1]?.id,
    })
    expect(next.links.every((candidate) => candidate.id < (first.links[1]?.id ?? ''))).toBe(true)
    const deactivated = await deactivatePaymentLink(database.pool, merchantId, link.id, context.now())
    nowMs += 1000
    const again = await deactivatePaymentLink(database.pool, merchantId, link.id, context.now())
    expect(again.deactivatedAt).toEqual(deactivated.deactivatedAt)
    expect(await paymentLinkMerchant(database.pool, link.id)).toBe(merchantId)
  })
})

describe('opening links', () => {
  it('a multi-use link opens a fresh invoice per buyer, linked to it, at the fixed price', async () => {
    const link = await create({ currency: 'USDT', amount: '12.5', description: 'T-shirt' })
    const a = await openLink(link.id)
    const b = await openLink(link.id)
    expect(a.row.id).not.toBe(b.row.id)
    expect([a.row.amount, a.row.payment_link_id, a.row.description]).toEqual(['12.5', link.id, 'T-shirt'])
    expect(await refusal(openLink(link.id, '12.5'))).toEqual({ code: 'amount-fixed', path: 'body.amount' })
  })

  it('a buyer-chosen link checks the amount to one minor unit on both sides and its decimals', async () => {
    const link = await create({ currency: 'USDT', amountMin: '1', amountMax: '100' })
    expect((await openLink(link.id, '1')).row.amount).toBe('1')
    expect((await openLink(link.id, '100')).row.amount).toBe('100')
    for (const amount of ['0.999999', '100.000001'])
      expect(await refusal(openLink(link.id, amount))).toEqual({
        code: 'amount-out-of-bounds',
        path: 'body.amount',
      })
    expect(await refusal(openLink(link.id, '1.0000001'))).toEqual({
      code: 'amount-precision-exceeded',
      path: 'body.amount',
    })
    expect(await refusal(openLink(link.id))).toEqual({ code: 'amount-required', path: 'body.amount' })
  })

  it('a one-time link opened concurrently creates one invoice, returned while payable, then 410', async () => {
    const link = await create({ currency: 'USDT', amountMin: '1', amountMax: '50', oneTime: true })
    const results = await Promise.all(Array.from({ length: 8 }, () => openLink(link.id, '20')))
    const ids = new Set(results.map((view) => view.row.id))
    expect(ids.size).toBe(1)
    expect(await invoicesOf(link.id)).toBe(1)
    const [invoiceId] = [...ids] as [string]
    expect((await getPaymentLink(database.pool, merchantId, link.id)).invoiceId).toBe(invoiceId)
    // Later openings (with any amount) return that invoice while it can be paid.
    expect((await openLink(link.id, '30')).row.id).toBe(invoiceId)
    nowMs += 16 * 60_000
    await reevaluateInvoice(database.pool, invoiceId, context)
    expect(await refusal(openLink(link.id, '20'))).toEqual({ code: 'payment-link-used', path: undefined })
    expect(await invoicesOf(link.id)).toBe(1)
  })

  it('a deactivated or expired link answers payment-link-inactive; an unknown one is not found', async () => {
    const deactivated = await create({ currency: 'USDT', amount: '1' })
    await deactivatePaymentLink(database.pool, merchantId, deactivated.id, context.now())
    expect((await refusal(openLink(deactivated.id))).code).toBe('payment-link-inactive')
    const expiring = await create({ currency: 'USDT', amount: '1', expiresAt: new Date(nowMs + 60_000) })
    expect((await openLink(expiring.id)).row.payment_link_id).toBe(expiring.id)
    nowMs += 60_000
    expect((await refusal(openLink(expiring.id))).code).toBe('payment-link-inactive')
    expect((await refusal(openLink('lnk_01J0000000000000000000000A'))).code).toBe('payment-link-not-found')
  })
})
