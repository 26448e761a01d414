import { z } from 'zod'
import { decimalAmountSchema, named, prefixedIdSchema, timestampSchema } from './common.ts'
import { invoiceExceptionSchema, invoiceStatusSchema, paymentOptionSchema } from './invoices.ts'
import { defineOperation, type ErrorSpec } from './operation.ts'
import { paymentLinkIdSchema } from './payment-links.ts'
import { paymentStatusSchema } from './payments.ts'
import { refundStatusSchema } from './refunds.ts'

/**
 * The unauthenticated surface: what the hosted checkout, payment-link and refund pages a buyer opens
 * need, and nothing more (no metadata, order ids or internal ids beyond the one in the URL). An invoice or
 * link id, or a refund token, is the capability: ids carry 80 random bits, tokens 256.
 * Also public, outside the contract (its answer is an image): GET /v1/public/invoices/:id/qr.
 */

const invoiceIdSchema = prefixedIdSchema('inv')

/** 32 random bytes, base64url without padding. */
export const refundTokenSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'must be a refund token')
  .describe('The token of a refund link (/refund/<token>).')

export const publicPaymentSchema = named(
  z.object({
    network: z.string(),
    asset: z.string().nullable(),
    amount: z.string().nullable().describe('Decimal amount in the asset; null for an unknown token.'),
    status: paymentStatusSchema,
    tx_hash: z.string(),
    explorer_url: z
      .string()
      .nullable()
      .describe('The transaction on the network’s block explorer; null where none is configured (devnets).'),
    detected_at: timestampSchema,
  }),
  'PublicPayment',
  'A payment as the buyer sees it on the checkout page.',
)

export const publicInvoiceSchema = named(
  z.object({
    id: invoiceIdSchema,
    status: invoiceStatusSchema,
    exception: invoiceExceptionSchema,
    currency: z.string(),
    amount: z.string(),
    amount_paid: z.string(),
    expires_at: timestampSchema,
    description: z.string().nullable(),
    redirect_url: z.string().nullable(),
    checkout_path: z.string().describe('/pay/<id>, relative to the gateway URL.'),
    payment_options: z.array(paymentOptionSchema),
    payments: z.array(publicPaymentSchema),
  }),
  'PublicInvoice',
  'The hosted checkout’s view of an invoice.',
)

export type PublicInvoiceWire = z.output<typeof publicInvoiceSchema>

export const publicPaymentLinkSchema = named(
  z.object({
    id: paymentLinkIdSchema,
    status: z.enum(['active', 'deactivated', 'expired']),
    currency: z.string(),
    amount_type: z.enum(['fixed', 'buyer_chosen']),
    amount: z.string().nullable(),
    amount_min: z.string().nullable(),
    amount_max: z.string().nullable(),
    description: z.string().nullable(),
  }),
  'PublicPaymentLink',
  'What the hosted link page shows before the buyer opens an invoice.',
)

export const publicRefundSchema = named(
  z.object({
    status: refundStatusSchema,
    amount: z.string().describe('Decimal amount in the asset.'),
    asset: z.string(),
    network: z.string(),
    symbol: z.string(),
    destination: z.string().nullable(),
  }),
  'PublicRefund',
  'What the buyer’s refund page shows.',
)

export type PublicRefundWire = z.output<typeof publicRefundSchema>

const invoiceNotFound: ErrorSpec = { code: 'invoice-not-found', status: 404, description: 'No such invoice.' }
const linkNotFound: ErrorSpec = {
  code: 'payment-link-not-found',
  status: 404,
  description: 'No such payment link.',
}
const refundLinkNotFound: ErrorSpec = {
  code: 'refund-link-not-found',
  status: 404,
  description: 'No refund has this token (a reissued link replaces the old one).',
}

export const getPublicInvoice = defineOperation({
  operationId: 'getPublicInvoice',
  method: 'GET',
  path: '/v1/public/invoices/:id',
  summary: 'Checkout view of an invoice',
  description: 'Status, what to pay where (with EIP-681 URIs) and the payments seen. No key needed.',
  tags: ['public'],
  scope: 'public',
  moneyMoving: false,
  params: z.strictObject({ id: invoiceIdSchema }),
  response: publicInvoiceSchema,
  successStatus: 200,
  errors: [invoiceNotFound],
})

export const getPublicPaymentLink = defineOperation({
  operationId: 'getPublicPaymentLink',
  method: 'GET',
  path: '/v1/public/payment-links/:id',
  summary: 'Link page view of a payment link',
  description: 'Price (or the bounds of the buyer’s choice) and description. No key needed.',
  tags: ['public'],
  scope: 'public',
  moneyMoving: false,
  params: z.strictObject({ id: paymentLinkIdSchema }),
  response: publicPaymentLinkSchema,
  successStatus: 200,
  errors: [linkNotFound],
})

export const openPaymentLink = defineOperation({
  operationId: 'openPaymentLink',
  method: 'POST',
  path: '/v1/public/payment-links/:id/invoices',
  summary: 'Open an invoice from a payment link',
  description:
    'Send `amount` only for a buyer-chosen link. A one-time link creates one invoice ever: opening it ' +
    'again returns that invoice while it is payable (new or processing), then 410 `payment-link-used`. ' +
    'An Idempotency-Key (optional) makes a retried open return the same invoice.',
  tags: ['public'],
  scope: 'public',
  moneyMoving: false,
  idempotency: 'optional',
  params: z.strictObject({ id: paymentLinkIdSchema }),
  body: z.strictObject({
    amount: decimalAmountSchema.optional().describe('Buyer-chosen links only: within the link’s bounds.'),
  }),
  response: publicInvoiceSchema,
  successStatus: 201,
  errors: [
    linkNotFound,
    {
      code: 'payment-link-inactive',
      status: 410,
      description: 'The link was deactivated or has expired.',
    },
    {
      code: 'payment-link-used',
      status: 410,
      description: 'A one-time link whose invoice is settled, expired or invalid.',
    },
    {
      code: 'amount-out-of-bounds',
      status: 422,
      description: 'Outside the link’s [amount_min, amount_max].',
    },
    { code: 'amount-required', status: 422, description: 'A buyer-chosen link needs `amount`.' },
    { code: 'amount-fixed', status: 422, description: 'The link has a fixed price: send no `amount`.' },
    {
      code: 'amount-precision-exceeded',
      status: 422,
      description: 'More fraction digits than the link’s currency allows.',
    },
    {
      code: 'hd-account-not-found',
      status: 409,
      description: 'The store has no HD account yet: it cannot receive payments.',
    },
  ],
})

export const getPublicRefund = defineOperation({
  operationId: 'getPublicRefund',
  method: 'GET',
  path: '/v1/public/refunds/:token',
  summary: 'Refund page view',
  description: 'Amount, asset, network and status of the refund this token belongs to. No key needed.',
  tags: ['public'],
  scope: 'public',
  moneyMoving: false,
  params: z.strictObject({ token: refundTokenSchema }),
  response: publicRefundSchema,
  successStatus: 200,
  errors: [refundLinkNotFound],
})

export const submitRefundDestination = defineOperation({
  operationId: 'submitRefundDestination',
  method: 'POST',
  path: '/v1/public/refunds/:token/destination',
  summary: 'Give the refund’s destination address',
  description:
    'An EVM address on the refund’s network: all lowercase, or EIP-55 mixed case with a valid checksum ' +
    '(a typo in a checksummed address is caught). Tron (T…) and other formats are refused. Works once.',
  tags: ['public'],
  scope: 'public',
  moneyMoving: false,
  params: z.strictObject({ token: refundTokenSchema }),
  body: z.strictObject({ address: z.string().min(1).max(100) }),
  response: publicRefundSchema,
  successStatus: 200,
  errors: [
    refundLinkNotFound,
    {
      code: 'destination-invalid',
      status: 422,
      description: 'Not an EVM address, a bad EIP-55 checksum, or the zero address.',
    },
    { code: 'refund-link-used', status: 410, description: 'A destination was already given.' },
    { code: 'refund-cancelled', status: 410, description: 'The merchant cancelled the refund.' },
    { code: 'refund-expired', status: 410, description: 'The refund lapsed without a destination.' },
  ],
})

/**
 * The QR code of an invoice's payment option, as an image. Not in the contract, whose operations answer
 * JSON (the SDK client parses every answer with the response schema): the server binds it as a plain
 * route with these params and query, and documents it from this definition with image content types.
 */
export const getPublicInvoiceQr = defineOperation({
  operationId: 'getPublicInvoiceQr',
  method: 'GET',
  path: '/v1/public/invoices/:id/qr',
  summary: 'QR code of a payment option',
  description:
    'The EIP-681 payment URI of the option on `network`, as image/svg+xml (default) or image/png. No key needed.',
  tags: ['public'],
  scope: 'public',
  moneyMoving: false,
  params: z.strictObject({ id: invoiceIdSchema }),
  query: z.strictObject({
    network: z.string().min(1).max(32).describe('The payment option’s network.'),
    format: z.enum(['svg', 'png']).optional().describe('svg when omitted.'),
  }),
  response: z.string().describe('The image bytes.'),
  successStatus: 200,
  errors: [
    invoiceNotFound,
    { code: 'network-unknown', status: 422, description: 'The invoice has no payment option on `network`.' },
  ],
})
