import { randomUUID } from 'node:crypto'
import type { InvoiceWire } from '@sluice/sdk/api/invoices'
import { createSluiceClient, type SluiceApiError, type SluiceClient } from '@sluice/sdk/client'
import { Webhook } from 'standardwebhooks'
import type { Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRawMasterKeyProvider } from '../../src/modules/keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../../src/modules/keys/key.service.ts'
import { createMerchant, issueApiKey } from '../../src/modules/merchants/merchant.service.ts'
import { createEndpoint } from '../../src/modules/webhooks/webhook.service.ts'
import { startTestChain, type TestChain } from '../setup/chain.ts'
import { createTestDatabase, type TestDatabase } from '../setup/database.ts'
import { apiError, startWebhookReceiver, testNetwork, until } from '../setup/e2e.ts'
import {
  type GatewayProcess,
  spawnGateway,
  temporaryDataDir,
  waitUntilReady,
  writeConfigFile,
} from '../setup/gateway-process.ts'
import { testSecrets } from '../setup/leak-guard.ts'
import { importTestSanctionsList } from '../setup/sanctions.ts'

// The merchant API end to end: a real gateway process (API + workers), two anvil chains (USDT with 6
// and with 18 decimals), PostgreSQL, a webhook receiver; driven through the SDK as a merchant would.

let database: TestDatabase
let chainA: TestChain
let chainB: TestChain
let gateway: GatewayProcess
let client: SluiceClient
let otherStoreInvoiceId: string
let narrowKey: string
let webhookSecret: string
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>

async function invoiceWhen(id: string, accept: (invoice: InvoiceWire) => boolean): Promise<InvoiceWire> {
  return await until(() => client.getInvoice({ params: { id } }), accept)
}

function option(invoice: InvoiceWire, network: string) {
  const found = invoice.payment_options.find((candidate) => candidate.network === network)
  if (found === undefined) throw new Error(`no option on ${network}`)
  return found
}

/**
 * The invoice's webhook types in the order the events were recorded (ids are time-ordered ULIDs):
 * deliveries of different events run side by side and may arrive in any order, as webhooks do.
 */
function eventsFor(invoiceId: string): string[] {
  return receiver.received
    .filter((delivery) => !delivery.failed)
    .map(
      (delivery) => JSON.parse(delivery.body) as { id: string; type: string; data: { invoice_id?: string } },
    )
    .filter((event) => event.data.invoice_id === invoiceId)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((event) => event.type)
}

beforeAll(async () => {
  database = await createTestDatabase()
  chainA = await startTestChain(31_337)
  chainB = await startTestChain(31_338)
  const provider = createRawMasterKeyProvider(Buffer.from(testSecrets.masterKeyHex, 'hex'))
  await initKeys(database.pool, provider)
  const store = await createMerchant(database.pool, { name: 'E2E Store' })
  await exportAccountXpub(database.pool, provider, store.merchant.id)
  narrowKey = (
    await issueApiKey(database.pool, {
      merchantId: store.merchant.id,
      label: 'read only',
      scopes: ['customers:read'],
    })
  ).key
  const other = await createMerchant(database.pool, { name: 'Other Store' })
  await exportAccountXpub(database.pool, provider, other.merchant.id)
  await importTestSanctionsList(database.pool)
  receiver = await startWebhookReceiver()
  const endpoint = await createEndpoint(database.pool, {
    merchantId: store.merchant.id,
    url: receiver.url,
    eventFilter: '*',
    allowInsecure: true,
  })
  webhookSecret = endpoint.secret
  const dataDir = temporaryDataDir()
  const configPath = writeConfigFile(dataDir, {
    // The test's webhook receiver listens on 127.0.0.1: a local receiver (ADR 0010).
    webhooks: { allowLocalEndpoints: true },
    networks: [
      testNetwork('chain-a', chainA, chainA.tokens.usdt, 6),
      testNetwork('chain-b', chainB, chainB.tokens.bscUsd, 18),
    ],
  })
  gateway = await spawnGateway('all-in-one', {
    dataDir,
    env: { DATABASE_URL: database.url, SLUICE_CONFIG: configPath, SLUICE_LOG_LEVEL: 'warn' },
  })
  await waitUntilReady(gateway)
  client = createSluiceClient({ baseUrl: gateway.apiUrl, apiKey: store.apiKey.key })
  const otherClient = createSluiceClient({ baseUrl: gateway.apiUrl, apiKey: other.apiKey.key })
  otherStoreInvoiceId = (await otherClient.createInvoice({ body: { amount: '1', currency: 'USDT' } })).id
})

afterAll(async () => {
  gateway?.child.kill('SIGTERM')
  await gateway?.waitForExit().catch(() => {})
  receiver?.close()
  await chainA?.stop()
  await chainB?.stop()
  await database?.drop()
})

describe('invoices through the SDK', () => {
  it('an exact payment settles the invoice, credits the merchant and sends verifiable webhooks', async () => {
    const invoice = await client.createInvoice({
      body: { amount: '10', currency: 'USDT', order_id: 'order-exact' },
    })
    expect(invoice.status).toBe('new')
    expect(option(invoice, 'chain-a')).toMatchObject({ amount: '10', amount_minor: '10000000' })
    expect(option(invoice, 'chain-b')).toMatchObject({ amount: '10', amount_minor: '10000000000000000000' })
    expect(option(invoice, 'chain-a').payment_uri).toBe(
      `ethereum:${chainA.tokens.usdt}@31337/transfer?address=${option(invoice, 'chain-a').address}&uint256=10000000`,
    )
    await chainA.pay(chainA.tokens.usdt, 1, option(invoice, 'chain-a').address as Hex, 10_000_000n)
    await chainA.mine(3)
    const settled = await invoiceWhen(invoice.id, (current) => current.status === 'settled')
    expect(settled).toMatchObject({ exception: 'none', amount_paid: '10' })
    expect(settled.payments[0]).toMatchObject({ status: 'finalized', amount: '10', asset: 'USDT@chain-a' })
    await until(
      async () => eventsFor(invoice.id),
      (types) => types.includes('invoice.settled'),
    )
    // processing is skipped when the watcher first sees the payment already final (it caught up
    // past the confirmations); either way each event appears once and settled comes last.
    expect([['invoice.processing', 'invoice.settled'], ['invoice.settled']]).toContainEqual(
      eventsFor(invoice.id),
    )
    const verifier = new Webhook(webhookSecret)
    for (const delivery of receiver.received.filter((entry) => !entry.failed)) {
      expect(() => verifier.verify(delivery.body, delivery.headers as Record<string, string>)).not.toThrow()
    }
    const balances = await client.listBalances({})
    expect(balances.data.find((balance) => balance.asset === 'USDT@chain-a')?.available).toBe('10')
  })

  it('two partial payments on two networks (6 and 18 decimals) add up', async () => {
    const invoice = await client.createInvoice({ body: { amount: '10', currency: 'USDT' } })
    await chainA.pay(chainA.tokens.usdt, 2, option(invoice, 'chain-a').address as Hex, 4_000_000n)
    await chainA.mine(3)
    const partial = await invoiceWhen(
      invoice.id,
      (current) =>
        current.exception === 'paid_partial' &&
        current.payments.every((payment) => payment.status === 'finalized'),
    )
    expect(partial).toMatchObject({ status: 'new', amount_paid: '4' })
    await chainB.pay(chainB.tokens.bscUsd, 2, option(invoice, 'chain-b').address as Hex, 6n * 10n ** 18n)
    await chainB.mine(3)
    const settled = await invoiceWhen(invoice.id, (current) => current.status === 'settled')
    expect(settled).toMatchObject({ exception: 'none', amount_paid: '10' })
    await until(
      async () => eventsFor(invoice.id),
      (types) => types.includes('invoice.paid_partial'),
    )
  })

  it('an overpayment settles as paid_over and keeps the excess as the buyer’s credit', async () => {
    const before =
      (await client.listBalances({})).data.find((balance) => balance.asset === 'USDT@chain-a')?.available ??
      '0'
    const invoice = await client.createInvoice({ body: { amount: '5', currency: 'USDT' } })
    await chainA.pay(chainA.tokens.usdt, 3, option(invoice, 'chain-a').address as Hex, 7_500_000n)
    await chainA.mine(3)
    const settled = await invoiceWhen(invoice.id, (current) => current.status === 'settled')
    expect(settled).toMatchObject({ exception: 'paid_over', amount_paid: '7.5' })
    const after = (await client.listBalances({})).data.find(
      (balance) => balance.asset === 'USDT@chain-a',
    )?.available
    expect(BigInt((after ?? '0').replace('.', '')) - BigInt(before.replace('.', ''))).toBe(5n)
  })

  it('a payment after expiry, inside the monitoring window, settles as paid_late', async () => {
    const invoice = await client.createInvoice({ body: { amount: '3', currency: 'USDT' } })
    await database.pool.query("update invoices set expires_at = now() - interval '1 second' where id = $1", [
      invoice.id,
    ])
    await invoiceWhen(invoice.id, (current) => current.status === 'expired')
    await chainA.pay(chainA.tokens.usdt, 4, option(invoice, 'chain-a').address as Hex, 3_000_000n)
    await chainA.mine(3)
    const settled = await invoiceWhen(invoice.id, (current) => current.status === 'settled')
    expect(settled.exception).toBe('paid_late')
    // Webhooks arrive after the state they report is readable: wait for them, then check the set.
    await until(
      async () => eventsFor(invoice.id),
      (types) => types.includes('invoice.settled'),
    )
    expect(eventsFor(invoice.id)).toEqual(
      expect.arrayContaining(['invoice.expired', 'invoice.paid_late', 'invoice.settled']),
    )
  })

  it('the same idempotent POST sent concurrently creates one invoice; another body is refused', async () => {
    const idempotencyKey = randomUUID()
    const body = { amount: '2', currency: 'USDT', order_id: 'order-concurrent' }
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => client.createInvoice({ body, idempotencyKey })),
    )
    const ids = new Set(results.flatMap((result) => (result.status === 'fulfilled' ? [result.value.id] : [])))
    for (const result of results) {
      if (result.status === 'rejected')
        expect((result.reason as SluiceApiError).code).toBe('idempotency-key-in-progress')
    }
    expect(ids.size).toBe(1)
    const count = await database.pool.query(
      "select count(*)::int as count from invoices where order_id = 'order-concurrent'",
    )
    expect(count.rows[0].count).toBe(1)
    const replay = await client.createInvoice({ body, idempotencyKey })
    expect(ids.has(replay.id)).toBe(true)
    const reused = await apiError(client.createInvoice({ body: { ...body, amount: '3' }, idempotencyKey }))
    expect([reused.status, reused.code]).toEqual([422, 'idempotency-key-reused'])
  })

  it.each([
    [
      'excess decimals',
      { amount: '1.0000001', currency: 'USDT' },
      422,
      'amount-precision-exceeded',
      'body.amount',
    ],
    ['a negative amount', { amount: '-1', currency: 'USDT' }, 422, 'validation-failed', 'body.amount'],
    [
      'an unknown network',
      { amount: '1', currency: 'USDT', networks: ['tron'] },
      422,
      'network-unknown',
      'body.networks',
    ],
    ['an unsupported token', { amount: '1', currency: 'DAI' }, 422, 'currency-unsupported', 'body.currency'],
    [
      'a fiat currency without a rate',
      { amount: '1', currency: 'EUR' },
      422,
      'currency-unsupported',
      'body.currency',
    ],
    [
      'oversized metadata',
      { amount: '1', currency: 'USDT', metadata: { note: 'x'.repeat(501) } },
      422,
      'validation-failed',
      'body.metadata.note',
    ],
    [
      'an invalid URL',
      { amount: '1', currency: 'USDT', redirect_url: 'not a url' },
      422,
      'validation-failed',
      'body.redirect_url',
    ],
  ])('refuses %s with a documented code', async (_case, body, status, code, path) => {
    const error = await apiError(client.createInvoice({ body: body as never }))
    expect([error.status, error.code]).toEqual([status, code])
    expect(error.errors.map((detail) => detail.path)).toContain(path)
  })

  it('refuses a key without the scope and another store’s invoice', async () => {
    const narrow = createSluiceClient({ baseUrl: gateway.apiUrl, apiKey: narrowKey })
    const forbidden = await apiError(narrow.createInvoice({ body: { amount: '1', currency: 'USDT' } }))
    expect([forbidden.status, forbidden.code]).toEqual([403, 'scope-missing'])
    const foreign = await apiError(client.getInvoice({ params: { id: otherStoreInvoiceId } }))
    expect([foreign.status, foreign.code]).toEqual([404, 'invoice-not-found'])
  })

  it('a receiver that fails gets the same webhook-id again and one delivery row', async () => {
    receiver.state.failNext = 1
    const customer = await client.createCustomer({ body: { external_id: 'retry-check' } })
    const address = customer.deposit_addresses[0]?.address as Hex
    await chainA.pay(chainA.tokens.usdt, 5, address, 1_000_000n)
    const attempts = await until(
      async () =>
        receiver.received.filter(
          (delivery) =>
            delivery.body.includes(address.toLowerCase()) && delivery.body.includes('payment.initiated'),
        ),
      (list) => list.length >= 2,
      30_000,
    )
    expect(attempts[0]?.failed).toBe(true)
    expect(attempts[1]?.headers['webhook-id']).toBe(attempts[0]?.headers['webhook-id'])
    const rows = await database.pool.query(
      "select count(*)::int as count from webhook_deliveries d join events e on e.id = d.event_id where e.type = 'payment.initiated' and e.payload->>'to' = $1",
      [address.toLowerCase()],
    )
    expect(rows.rows[0].count).toBe(1)
    await chainA.mine(3)
    const deposits = await until(
      () => client.listCustomerDeposits({ params: { id: customer.id } }),
      (page) => page.data[0]?.status === 'finalized',
    )
    expect(deposits.data[0]).toMatchObject({ amount: '1', asset: 'USDT@chain-a' })
  })
})
