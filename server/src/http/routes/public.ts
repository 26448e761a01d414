import {
  getPublicInvoice,
  getPublicInvoiceQr,
  getPublicPaymentLink,
  getPublicRefund,
  openPaymentLink,
  type PublicInvoiceWire,
  type PublicRefundWire,
  submitRefundDestination,
} from '@sluice/sdk/api/public'
import type { FastifyInstance } from 'fastify'
import { withTransaction } from '../../db/tx.ts'
import { AppError } from '../../lib/errors.ts'
import { renderQrPng, renderQrSvg } from '../../lib/qr.ts'
import {
  getInvoiceForCheckout,
  type InvoiceContext,
  type InvoiceView,
} from '../../modules/invoices/invoice.service.ts'
import {
  getPublicPaymentLink as getPublicPaymentLinkById,
  openPaymentLink as openPaymentLinkOfStore,
  paymentLinkMerchant,
} from '../../modules/payment-links/payment-link.service.ts'
import {
  getRefundByLinkToken,
  submitRefundDestination as submitRefundDestinationOfRefund,
} from '../../modules/refunds/refund.service.ts'
import type { Refund } from '../../modules/refunds/refund.types.ts'
import { parseInput } from '../errors.ts'
import { type RouteDependencies, registerOperation, takePublicRateLimitToken } from '../route.ts'
import { invoiceToWire } from './invoices.ts'
import { paymentLinkToWire } from './payment-links.ts'
import { refundToWire } from './refunds.ts'

/**
 * The keyless surface for buyers (hosted checkout, link page, refund page): each answer is built from
 * the merchant's wire shape by picking the fields a buyer may see, so metadata, order ids, rates and
 * internal ids never leave through here.
 */

export function publicInvoiceToWire(view: InvoiceView): PublicInvoiceWire {
  const invoice = invoiceToWire(view)
  return {
    id: invoice.id,
    status: invoice.status,
    exception: invoice.exception,
    currency: invoice.currency,
    amount: invoice.amount,
    amount_paid: invoice.amount_paid,
    expires_at: invoice.expires_at,
    description: invoice.description,
    redirect_url: invoice.redirect_url,
    checkout_path: invoice.checkout_path,
    payment_options: invoice.payment_options,
    payments: invoice.payments.map((payment) => ({
      network: payment.network,
      asset: payment.asset,
      amount: payment.amount,
      status: payment.status,
      tx_hash: payment.tx_hash,
      explorer_url: explorerTransactionUrl(
        view.options.find((option) => option.network.name === payment.network)?.network.explorerUrl,
        payment.tx_hash,
      ),
      detected_at: payment.detected_at,
    })),
  }
}

/** `<explorerUrl>/tx/<hash>` on a network with an explorer configured; the page links it, never loads it. */
export function explorerTransactionUrl(explorerUrl: string | undefined, txHash: string): string | null {
  return explorerUrl === undefined ? null : `${explorerUrl.replace(/\/+$/, '')}/tx/${txHash}`
}

function publicRefundToWire(refund: Refund): PublicRefundWire {
  const wire = refundToWire(refund)
  return {
    status: wire.status,
    amount: wire.amount,
    asset: wire.asset,
    network: wire.network,
    symbol: wire.symbol,
    destination: wire.destination,
  }
}

/**
 * PNG pixels per module: 8 gives a ~400-pixel image for an EIP-681 URI (version 7-8 with the quiet
 * zone), sharp on a phone screen and small enough to send quickly.
 */
const qrPngScale = 8

/**
 * GET /v1/public/invoices/:id/qr?network=&format=svg|png: the QR code of that option's EIP-681 URI. A
 * plain route because its answer is an image, which the contract (JSON in, JSON out) cannot carry; its
 * input schemas come from `getPublicInvoiceQr` (sdk), from which api.ts also documents it.
 */
function registerInvoiceQrRoute(
  app: FastifyInstance,
  dependencies: RouteDependencies,
  context: InvoiceContext,
) {
  app.get('/v1/public/invoices/:id/qr', async (request, reply) => {
    takePublicRateLimitToken(dependencies, request, reply)
    const params = parseInput(getPublicInvoiceQr.params, request.params, 'params')
    const query = parseInput(getPublicInvoiceQr.query, request.query, 'query')
    const invoice = publicInvoiceToWire(await getInvoiceForCheckout(dependencies.pool, params.id, context))
    const option = invoice.payment_options.find((candidate) => candidate.network === query.network)
    if (option === undefined) {
      const message = `the invoice cannot be paid on ${query.network}`
      throw new AppError('network-unknown', 422, message, { details: [{ path: 'query.network', message }] })
    }
    // The image is fixed for the invoice's life; the SVG carries no script, and the CSP makes sure.
    void reply
      .header('cache-control', 'public, max-age=300')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'")
    if (query.format === 'png')
      return await reply.type('image/png').send(await renderQrPng(option.payment_uri, { scale: qrPngScale }))
    return await reply.type('image/svg+xml').send(renderQrSvg(option.payment_uri))
  })
}

export function registerPublicRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { pool, now } = dependencies
  const context: InvoiceContext = {
    networks: dependencies.networks,
    rateSource: dependencies.rateSource,
    now: dependencies.now,
  }

  registerOperation(
    app,
    getPublicInvoice,
    async ({ params }) => publicInvoiceToWire(await getInvoiceForCheckout(pool, params.id, context)),
    dependencies,
  )

  registerOperation(
    app,
    getPublicPaymentLink,
    async ({ params }) => {
      const link = paymentLinkToWire(await getPublicPaymentLinkById(pool, params.id), now())
      return {
        id: link.id,
        status: link.status,
        currency: link.currency,
        amount_type: link.amount_type,
        amount: link.amount,
        amount_min: link.amount_min,
        amount_max: link.amount_max,
        description: link.description,
      }
    },
    dependencies,
  )

  registerOperation(
    app,
    openPaymentLink,
    async ({ params, body, idempotency }) =>
      await withTransaction(pool, async (client) => {
        const view = await openPaymentLinkOfStore(client, { id: params.id, amount: body.amount }, context)
        const response = publicInvoiceToWire(view)
        await idempotency?.complete(client, response)
        return response
      }),
    dependencies,
    // A buyer's key lives in the link's store's key space (hashed into a namespace of its own).
    { idempotencyOwner: async ({ params }) => await paymentLinkMerchant(pool, params.id) },
  )

  registerOperation(
    app,
    getPublicRefund,
    async ({ params }) => publicRefundToWire(await getRefundByLinkToken(pool, params.token, now())),
    dependencies,
    { secretInPath: true },
  )

  registerOperation(
    app,
    submitRefundDestination,
    async ({ params, body }) =>
      publicRefundToWire(await submitRefundDestinationOfRefund(pool, params.token, body.address, now())),
    dependencies,
    { secretInPath: true },
  )

  registerInvoiceQrRoute(app, dependencies, context)
}
