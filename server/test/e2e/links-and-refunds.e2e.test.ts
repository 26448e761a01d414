import type { PublicInvoiceWire } from '@sluice/sdk/api/public'
import { createSluiceClient, type SluiceClient } from '@sluice/sdk/client'
import { Webhook } from 'standardwebhooks'
import type { Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRawMasterKeyProvider } from '../../src/modules/keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../../src/modules/keys/key.service.ts'
import { createMerchant } from '../../src/modules/merchants/merchant.service.ts'
import { createEndpoint } from '../../src/modules/webhooks/webhook.service.ts'
import { startTestChain, type TestChain } from '../setup/chain.ts'
import { createTestDatabase, type TestDatabase } from '../setup/database.ts'
import { apiError, type ReceivedWebhook, startWebhookReceiver, until } from '../setup/e2e.ts'
import {
  type GatewayProcess,
  spawnGateway,
  temporaryDataDir,
  waitUntilReady,
  writeConfigFile,
} from '../setup/gateway-process.ts'
import { testSecrets } from '../setup/leak-guard.ts'
import { importTestSanctionsList } from '../setup/sanctions.ts'

// Payment links and refunds end to end: a real gateway process (API + workers), an anvil chain,
// PostgreSQL and a webhook receiver. The merchant drives the SDK with its key; the buyer drives the
// public operations (no key: the SDK sends a dummy one, which public operations never read).

let database: TestDatabase
let chain: TestChain
let gateway: GatewayProcess
let merchant: SluiceClient
let buyer: SluiceClient
let webhookSecret: string
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>
const refundDestination = '0x52908400098527886E0F7030069857D2E4169EE7'

function option(invoice: PublicInvoiceWire) {
  const found = invoice.payment_options.find((candidate) => candidate.network === 'chain-a')
  if (found === undefined) throw new Error('no option on chain-a')
  return found
}

beforeAll(async () => {
  database = await createTestDatabase()
  chain = await startTestChain(31_337)
  const provider = createRawMasterKeyProvider(Buffer.from(testSecrets.masterKeyHex, 'hex'))
  await initKeys(database.pool, provider)
  const store = await createMerchant(database.pool, { name: 'Links Store' })
  await exportAccountXpub(database.pool, provider, store.merchant.id)
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
      {
        name: 'chain-a',
        kind: 'evm',
        chainId: chain.anvil.chainId,
        rpcUrls: [chain.anvil.rpcUrl, chain.anvil.wsUrl],
        blockTimeMs: 60_000,
        finality: { kind: 'confirmations', confirmations: 3 },
        tokens: [{ symbol: 'USDT', contractAddress: chain.tokens.usdt, decimals: 6 }],
      },
    ],
  })
  gateway = await spawnGateway('all-in-one', {
    dataDir,
    env: { DATABASE_URL: database.url, SLUICE_CONFIG: configPath, SLUICE_LOG_LEVEL: 'warn' },
  })
  await waitUntilReady(gateway)
  merchant = createSluiceClient({ baseUrl: gateway.apiUrl, apiKey: store.apiKey.key })
  buyer = createSluiceClient({ baseUrl: gateway.apiUrl, apiKey: 'public' })
})

afterAll(async () => {
  gateway?.child.kill('SIGTERM')
  await gateway?.waitForExit().catch(() => {})
  receiver?.close()
  await chain?.stop()
  await database?.drop()
})

describe('a buyer-chosen payment link, paid and partly refunded', () => {
  let invoice: PublicInvoiceWire
  let refundId: string
  let token: string

  it('opens an invoice at the buyer’s amount and refuses amounts outside the bounds', async () => {
    const link = await merchant.createPaymentLink({
      body: { currency: 'USDT', amount_min: '5', amount_max: '100', description: 'Donation' },
    })
    expect(link).toMatchObject({ url_path: `/l/${link.id}`, amount_type: 'buyer_chosen', status: 'active' })
    expect(await buyer.getPublicPaymentLink({ params: { id: link.id } })).toMatchObject({
      amount_type: 'buyer_chosen',
      amount_min: '5',
      amount_max: '100',
      description: 'Donation',
    })
    const low = await apiError(
      buyer.openPaymentLink({ params: { id: link.id }, body: { amount: '4.999999' } }),
    )
    expect([low.status, low.code, low.errors[0]?.path]).toEqual([422, 'amount-out-of-bounds', 'body.amount'])
    const precise = await apiError(
      buyer.openPaymentLink({ params: { id: link.id }, body: { amount: '5.0000001' } }),
    )
    expect([precise.status, precise.code, precise.errors[0]?.path]).toEqual([
      422,
      'amount-precision-exceeded',
      'body.amount',
    ])
    invoice = await buyer.openPaymentLink({ params: { id: link.id }, body: { amount: '25' } })
    expect(invoice).toMatchObject({ status: 'new', amount: '25', currency: 'USDT', description: 'Donation' })
    expect(option(invoice)).toMatchObject({ amount: '25', amount_minor: '25000000' })
  })

  it('shows the checkout view and its QR code in both formats', async () => {
    const view = await buyer.getPublicInvoice({ params: { id: invoice.id } })
    expect(view.payment_options[0]?.payment_uri).toBe(
      `ethereum:${chain.tokens.usdt}@31337/transfer?address=${option(invoice).address}&uint256=25000000`,
    )
    const base = `${gateway.apiUrl}/v1/public/invoices/${invoice.id}/qr?network=chain-a`
    const svg = await fetch(`${base}&format=svg`)
    expect([svg.status, svg.headers.get('content-type')]).toEqual([200, 'image/svg+xml'])
    expect(await svg.text()).toContain('<svg')
    const png = await fetch(`${base}&format=png`)
    expect([png.status, png.headers.get('content-type')]).toEqual([200, 'image/png'])
    const signature = Buffer.from(await png.arrayBuffer()).subarray(0, 8)
    expect(signature.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true)
  })

  it('settles when paid on chain', async () => {
    await chain.pay(chain.tokens.usdt, 1, option(invoice).address as Hex, 25_000_000n)
    await chain.mine(3)
    const settled = await until(
      () => buyer.getPublicInvoice({ params: { id: invoice.id } }),
      (current) => current.status === 'settled',
    )
    expect(settled).toMatchObject({ exception: 'none', amount_paid: '25' })
    expect(settled.payments[0]).toMatchObject({ status: 'finalized', amount: '25', asset: 'USDT@chain-a' })
  })

  it('refunds part of it: the amount is reserved and refund.opened is sent', async () => {
    const tooMuch = await apiError(
      merchant.createRefund({
        params: { id: invoice.id },
        body: { amount: '25.000001', asset: 'USDT@chain-a' },
      }),
    )
    expect([tooMuch.status, tooMuch.code]).toEqual([422, 'refund-exceeds-refundable'])
    const refund = await merchant.createRefund({
      params: { id: invoice.id },
      body: { amount: '10', asset: 'USDT@chain-a', reason: 'half the order was out of stock' },
    })
    expect(refund).toMatchObject({
      status: 'awaiting_destination',
      amount: '10',
      asset: 'USDT@chain-a',
      from_merchant_balance: '10',
      from_buyer_credit: '0',
    })
    refundId = refund.id
    token = (refund.refund_url_path ?? '').replace('/refund/', '')
    const balance = (await merchant.listBalances({})).data.find((entry) => entry.asset === 'USDT@chain-a')
    expect(balance).toMatchObject({ posted: '25', available: '15', pending_outgoing: '10' })
    const opened = await until(
      async () =>
        receiver.received
          .map((delivery) => ({
            delivery,
            event: JSON.parse(delivery.body) as { type: string; data: Record<string, unknown> },
          }))
          .filter(({ event }) => event.type === 'refund.opened' && event.data.refund_id === refundId),
      (list) => list.length > 0,
    )
    expect(opened[0]?.event.data).toMatchObject({
      invoice_id: invoice.id,
      amount: '10',
      asset: 'USDT@chain-a',
    })
    const verifier = new Webhook(webhookSecret)
    const delivery = opened[0]?.delivery as ReceivedWebhook
    expect(() => verifier.verify(delivery.body, delivery.headers as Record<string, string>)).not.toThrow()
  })

  it('takes the buyer’s destination once through the public refund page, then becomes a payout', async () => {
    expect(await buyer.getPublicRefund({ params: { token } })).toMatchObject({
      status: 'awaiting_destination',
      amount: '10',
      symbol: 'USDT',
      network: 'chain-a',
      destination: null,
    })
    const tron = await apiError(
      buyer.submitRefundDestination({
        params: { token },
        body: { address: 'TJRabPrwbZy45sbavfcjinPJC18kjpRTv8' },
      }),
    )
    expect([tron.status, tron.code]).toEqual([422, 'destination-invalid'])
    const typo = await apiError(
      buyer.submitRefundDestination({
        params: { token },
        body: { address: '0x52908400098527886E0F7030069857D2E4169Ee7' },
      }),
    )
    expect([typo.status, typo.code]).toEqual([422, 'destination-invalid'])
    expect(
      await buyer.submitRefundDestination({ params: { token }, body: { address: refundDestination } }),
    ).toMatchObject({ status: 'awaiting_payout', destination: refundDestination })
    const again = await apiError(
      buyer.submitRefundDestination({ params: { token }, body: { address: refundDestination } }),
    )
    expect([again.status, again.code]).toEqual([410, 'refund-link-used'])
    // A worker turns it into a payout (pay-out-refund), which carries it from then on.
    const carried = await until(
      async () => await merchant.getRefund({ params: { id: refundId } }),
      (refund) => refund.status === 'payout_requested',
    )
    expect(carried).toMatchObject({
      destination: refundDestination,
      refund_url_path: null,
      payout_error: null,
    })
    const payout = await merchant.getPayout({ params: { id: carried.payout_id as string } })
    expect(payout).toMatchObject({
      amount: '10',
      destination: refundDestination,
      external_reference: `refund:${refundId}`,
    })
    const list = await merchant.listInvoiceRefunds({ params: { id: invoice.id } })
    expect(list.data.map((refund) => refund.id)).toEqual([refundId])
  })
})

describe('a one-time link', () => {
  it('opened concurrently gives every buyer the same invoice, and is inactive once deactivated', async () => {
    const link = await merchant.createPaymentLink({ body: { currency: 'USDT', amount: '3', one_time: true } })
    const opened = await Promise.all(
      Array.from({ length: 6 }, () => buyer.openPaymentLink({ params: { id: link.id }, body: {} })),
    )
    expect(new Set(opened.map((invoice) => invoice.id)).size).toBe(1)
    expect((await merchant.getPaymentLink({ params: { id: link.id } })).invoice_id).toBe(opened[0]?.id)
    await merchant.deactivatePaymentLink({ params: { id: link.id } })
    const inactive = await apiError(buyer.openPaymentLink({ params: { id: link.id }, body: {} }))
    expect([inactive.status, inactive.code]).toEqual([410, 'payment-link-inactive'])
  })
})
