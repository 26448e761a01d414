import { randomBytes, randomUUID } from 'node:crypto'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openPaymentLink } from '@sluice/sdk/api/public'
import { createSluiceClient, SluiceApiError, type SluiceClient } from '@sluice/sdk/client'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { offlineNetwork } from '../../../test/setup/offline-network.ts'
import { withTransaction } from '../../db/tx.ts'
import { createLogger } from '../../lib/logger.ts'
import { staticRateSource } from '../../modules/invoices/invoice.rates.ts'
import { type InvoiceContext, reevaluateInvoice } from '../../modules/invoices/invoice.service.ts'
import { createRawMasterKeyProvider } from '../../modules/keys/key.master.ts'
import { exportAccountXpub, initKeys } from '../../modules/keys/key.service.ts'
import { createMerchant } from '../../modules/merchants/merchant.service.ts'
import { progressPayments, recordObservedTransfers } from '../../modules/payments/payment.service.ts'
import { importSanctionLists } from '../../modules/sanctions/sanction.service.ts'
import { buildApp } from '../app.ts'
import { createMetrics } from '../metrics.ts'
import type { JsonSchema, OpenApiDocument } from '../openapi.ts'

// The public surface and the new merchant operations over HTTP on a test database: keyless access, the
// per-address rate limit, buyer Idempotency-Keys, refund replays without the link, QR images, OpenAPI.

const tokenAddress: `0x${string}` = `0x${'11'.repeat(20)}`
const network = offlineNetwork({ name: 'chain-a', tokenAddress })
const context: InvoiceContext = {
  networks: [network],
  rateSource: staticRateSource({}),
  now: () => new Date(),
}

let database: TestDatabase
let app: FastifyInstance
let limitedApp: FastifyInstance
let baseUrl: string
let limitedUrl: string
let merchant: SluiceClient
let merchantKey: string
/** Public operations ignore the key; the SDK always sends one, so this client sends a dummy. */
let buyer: SluiceClient

async function apiError(promise: Promise<unknown>): Promise<SluiceApiError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!(error instanceof SluiceApiError)) throw new Error(`expected a SluiceApiError, got ${String(error)}`)
  return error
}

/** Every line the main app logs at info: the refund link token must never be among them. */
const logLines: string[] = []

async function startApp(
  publicRateLimit: { requestsPerSecond: number; burst: number; bucketsMax: number },
  logger = createLogger('silent'),
) {
  const instance = await buildApp({
    pool: database.pool,
    logger,
    metrics: createMetrics(),
    networks: [network],
    api: {
      assertResponses: true,
      rateLimit: { requestsPerSecond: 10_000, burst: 10_000, bucketsMax: 100 },
      publicRateLimit,
    },
  })
  await instance.listen({ host: '127.0.0.1', port: 0 })
  return { instance, url: `http://127.0.0.1:${(instance.server.address() as AddressInfo).port}` }
}

/** Pays an invoice in full through the payments module (an observed, final transfer) and evaluates it. */
async function pay(invoiceId: string, address: string, amount: bigint): Promise<void> {
  await withTransaction(database.pool, (client) =>
    recordObservedTransfers(client, network, [
      {
        blockNumber: 100n,
        blockHash: `0x${randomBytes(32).toString('hex')}`,
        txHash: `0x${randomBytes(32).toString('hex')}`,
        logIndex: 0,
        tokenAddress,
        from: `0x${'ab'.repeat(20)}`,
        to: address,
        amount,
      },
    ]),
  )
  await withTransaction(database.pool, (client) =>
    progressPayments(
      client,
      network,
      { headNumber: 200n, finalizedNumber: 150n },
      { creditingHalted: false },
    ),
  )
  await reevaluateInvoice(database.pool, invoiceId, context)
}

beforeAll(async () => {
  database = await createTestDatabase()
  const provider = createRawMasterKeyProvider(randomBytes(32))
  await initKeys(database.pool, provider)
  const store = await createMerchant(database.pool, { name: 'Public Store' })
  await exportAccountXpub(database.pool, provider, store.merchant.id)
  const directory = mkdtempSync(join(tmpdir(), 'sluice-sanctions-'))
  chmodSync(directory, 0o755)
  writeFileSync(
    join(directory, 'sanctioned_addresses_ETH.txt'),
    '0x000000000000000000000000000000000000dead\n',
  )
  await importSanctionLists(database.pool, [join(directory, 'sanctioned_addresses_ETH.txt')])
  const capture = createLogger('info', { write: (line: string) => void logLines.push(line) })
  const generous = { requestsPerSecond: 10_000, burst: 10_000, bucketsMax: 100 }
  ;({ instance: app, url: baseUrl } = await startApp(generous, capture))
  ;({ instance: limitedApp, url: limitedUrl } = await startApp({
    requestsPerSecond: 1,
    burst: 2,
    bucketsMax: 10,
  }))
  merchantKey = store.apiKey.key
  merchant = createSluiceClient({ baseUrl, apiKey: merchantKey })
  buyer = createSluiceClient({ baseUrl, apiKey: 'none' })
})

afterAll(async () => {
  await app?.close()
  await limitedApp?.close()
  await database?.drop()
})

describe('public operations', () => {
  it('need no key and show the checkout view without metadata or order ids', async () => {
    const invoice = await merchant.createInvoice({
      body: { amount: '5', currency: 'USDT', order_id: 'secret-order', metadata: { internal: 'x' } },
    })
    const response = await fetch(`${baseUrl}/v1/public/invoices/${invoice.id}`)
    expect(response.status).toBe(200)
    const view = (await response.json()) as Record<string, unknown>
    expect(view).toMatchObject({ id: invoice.id, status: 'new', amount: '5', amount_paid: '0' })
    expect(Object.keys(view)).not.toEqual(expect.arrayContaining(['metadata']))
    expect(JSON.stringify(view)).not.toContain('secret-order')
    expect((view.payment_options as { payment_uri: string }[])[0]?.payment_uri).toMatch(/^ethereum:0x/)
    const missing = await apiError(
      buyer.getPublicInvoice({ params: { id: 'inv_01J0000000000000000000000A' } }),
    )
    expect([missing.status, missing.code]).toEqual([404, 'invoice-not-found'])
  })

  it('are limited per client address, apart from API keys', async () => {
    const invoice = await merchant.createInvoice({ body: { amount: '1', currency: 'USDT' } })
    const url = `${limitedUrl}/v1/public/invoices/${invoice.id}`
    const statuses: number[] = []
    for (let index = 0; index < 3; index += 1) statuses.push((await fetch(url)).status)
    expect(statuses).toEqual([200, 200, 429])
    const limited = await fetch(url)
    expect(limited.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/)
    expect(((await limited.json()) as { code: string; message: string }).message).toMatch(/address/)
    // The QR route shares the bucket; a merchant's key is not affected.
    expect((await fetch(`${url}/qr?network=chain-a`)).status).toBe(429)
    const keyed = createSluiceClient({ baseUrl: limitedUrl, apiKey: merchantKey })
    expect((await keyed.getStore()).name).toBe('Public Store')
  })

  it('serve QR codes as SVG and PNG, and refuse other networks and formats', async () => {
    const invoice = await merchant.createInvoice({ body: { amount: '1', currency: 'USDT' } })
    const svg = await fetch(`${baseUrl}/v1/public/invoices/${invoice.id}/qr?network=chain-a&format=svg`)
    expect(svg.headers.get('content-type')).toContain('image/svg+xml')
    expect(svg.headers.get('content-security-policy')).toBe("default-src 'none'")
    expect(await svg.text()).toMatch(/^<svg /)
    const png = await fetch(`${baseUrl}/v1/public/invoices/${invoice.id}/qr?network=chain-a&format=png`)
    expect(png.headers.get('content-type')).toBe('image/png')
    const bytes = Buffer.from(await png.arrayBuffer())
    expect(bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(
      true,
    )
    const wrongNetwork = await fetch(`${baseUrl}/v1/public/invoices/${invoice.id}/qr?network=tron`)
    expect([wrongNetwork.status, ((await wrongNetwork.json()) as { code: string }).code]).toEqual([
      422,
      'network-unknown',
    ])
    const badFormat = await fetch(`${baseUrl}/v1/public/invoices/${invoice.id}/qr?network=chain-a&format=gif`)
    expect(badFormat.status).toBe(422)
    const missing = await fetch(
      `${baseUrl}/v1/public/invoices/inv_01J0000000000000000000000A/qr?network=chain-a`,
    )
    expect(missing.status).toBe(404)
  })

  it('open a link once per buyer Idempotency-Key, in a key space apart from the merchant’s', async () => {
    const link = await merchant.createPaymentLink({
      body: { currency: 'USDT', amount_min: '1', amount_max: '9' },
    })
    expect(link).toMatchObject({ url_path: `/l/${link.id}`, amount_type: 'buyer_chosen', status: 'active' })
    expect(await buyer.getPublicPaymentLink({ params: { id: link.id } })).toMatchObject({
      amount_min: '1',
      amount_max: '9',
    })
    const idempotencyKey = randomUUID()
    const input = { params: { id: link.id }, body: { amount: '2' }, idempotencyKey }
    const first = await buyer.send(openPaymentLink, input)
    expect(first.status).toBe(201)
    const replay = await buyer.send(openPaymentLink, input)
    expect(replay.replayed).toBe(true)
    expect(replay.data.id).toBe(first.data.id)
    const reused = await apiError(
      buyer.openPaymentLink({ params: { id: link.id }, body: { amount: '3' }, idempotencyKey }),
    )
    expect(reused.code).toBe('idempotency-key-reused')
    // The merchant's own requests with the same key string are not touched by the buyer's.
    const own = await merchant.createInvoice({ body: { amount: '1', currency: 'USDT' }, idempotencyKey })
    expect(own.id).not.toBe(first.data.id)
    const tooLow = await apiError(
      buyer.openPaymentLink({ params: { id: link.id }, body: { amount: '0.999999' } }),
    )
    expect([tooLow.status, tooLow.code, tooLow.errors[0]?.path]).toEqual([
      422,
      'amount-out-of-bounds',
      'body.amount',
    ])
  })
})

describe('refunds over HTTP', () => {
  it('require an Idempotency-Key, and a replay never carries the refund link', async () => {
    const invoice = await merchant.createInvoice({ body: { amount: '4', currency: 'USDT' } })
    await pay(invoice.id, invoice.payment_options[0]?.address as string, 4_000_000n)
    const response = await fetch(`${baseUrl}/v1/invoices/${invoice.id}/refunds`, {
      method: 'POST',
      headers: { authorization: `Bearer ${merchantKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: '1', asset: 'USDT@chain-a' }),
    })
    expect([response.status, ((await response.json()) as { code: string }).code]).toEqual([
      400,
      'idempotency-key-required',
    ])
    const idempotencyKey = randomUUID()
    const body = { amount: '1.5', asset: 'USDT@chain-a', reason: 'returned' }
    const opened = await merchant.createRefund({ params: { id: invoice.id }, body, idempotencyKey })
    expect(opened).toMatchObject({ status: 'awaiting_destination', amount: '1.5', amount_minor: '1500000' })
    expect(opened.refund_url_path).toMatch(/^\/refund\/[A-Za-z0-9_-]{43}$/)
    const replay = await merchant.createRefund({ params: { id: invoice.id }, body, idempotencyKey })
    expect([replay.id, replay.refund_url_path]).toEqual([opened.id, null])
    const stored = await database.pool.query('select response_body::text as body from idempotency_keys')
    const token = (opened.refund_url_path as string).slice('/refund/'.length)
    expect(stored.rows.map((row: { body: string | null }) => row.body ?? '').join('')).not.toContain(token)

    expect(await buyer.getPublicRefund({ params: { token } })).toMatchObject({
      status: 'awaiting_destination',
      amount: '1.5',
      destination: null,
    })
    const tron = await apiError(
      buyer.submitRefundDestination({
        params: { token },
        body: { address: 'TJRabPrwbZy45sbavfcjinPJC18kjpRTv8' },
      }),
    )
    expect([tron.status, tron.code, tron.errors[0]?.path]).toEqual([
      422,
      'destination-invalid',
      'body.address',
    ])
    const address = '0x52908400098527886E0F7030069857D2E4169EE7'
    expect(await buyer.submitRefundDestination({ params: { token }, body: { address } })).toMatchObject({
      status: 'awaiting_payout',
      destination: address,
    })
    const again = await apiError(buyer.submitRefundDestination({ params: { token }, body: { address } }))
    expect([again.status, again.code]).toEqual([410, 'refund-link-used'])
    const list = await merchant.listInvoiceRefunds({ params: { id: invoice.id } })
    expect(list.data.map((refund) => [refund.id, refund.status])).toEqual([[opened.id, 'awaiting_payout']])
    const cancelled = await merchant.cancelRefund({ params: { id: opened.id } })
    expect(cancelled.status).toBe('cancelled')
    // The token is in the URL of the public refund routes, which therefore log nothing at info.
    expect(logLines.some((line) => line.includes(`/v1/invoices/${invoice.id}/refunds`))).toBe(true)
    expect(logLines.join('\n')).not.toContain(token)
  })
})

describe('the served OpenAPI document', () => {
  it('gives public operations no security requirement and documents the QR image route', async () => {
    const document = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as OpenApiDocument
    const checkout = document.paths['/v1/public/invoices/{id}']?.get as JsonSchema
    expect(checkout.security).toEqual([])
    expect(Object.keys(checkout.responses as object)).not.toContain('401')
    expect(document.paths['/v1/payment-links']?.post?.security).toEqual([{ apiKey: ['invoices:write'] }])
    const qr = document.paths['/v1/public/invoices/{id}/qr']?.get as JsonSchema
    const ok = (qr.responses as Record<string, { content: Record<string, unknown> }>)['200']
    expect(Object.keys(ok?.content ?? {})).toEqual(['image/svg+xml', 'image/png'])
    expect(qr.security).toEqual([])
    const refund = document.paths['/v1/invoices/{id}/refunds']?.post as JsonSchema
    expect((refund.parameters as JsonSchema[]).find((p) => p.name === 'Idempotency-Key')?.required).toBe(true)
  })
})
