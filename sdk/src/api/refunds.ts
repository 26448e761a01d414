import { z } from 'zod'
import { decimalAmountSchema, named, pageSchema, prefixedIdSchema, timestampSchema } from './common.ts'
import { defineOperation, type ErrorSpec } from './operation.ts'

/**
 * Refunds of invoice payments. Opening one reserves the money in the ledger at once (so it cannot be
 * paid out twice); the buyer names the destination through a one-time link; the payout sends it.
 * Amounts are decimal strings in the refunded asset (not the invoice currency).
 */

export const refundIdSchema = prefixedIdSchema('rfd')
const invoiceIdSchema = prefixedIdSchema('inv')

export const refundStatusSchema = z
  .enum(['awaiting_destination', 'awaiting_payout', 'payout_requested', 'cancelled', 'expired'])
  .describe(
    'awaiting_destination: the buyer has not used the refund link yet. awaiting_payout: the destination is ' +
      'known; a payout is being requested (payout_error says why it waits, if it does). payout_requested: ' +
      'the payout payout_id carries it (its status says where the money is). cancelled: by the merchant; ' +
      'the reservation is released. expired: no payout before expires_at; the ledger released the reservation.',
  )

export const refundSchema = named(
  z.object({
    id: refundIdSchema,
    invoice_id: invoiceIdSchema,
    status: refundStatusSchema,
    amount: z.string().describe('Decimal amount in the asset.'),
    amount_minor: z.string().describe('The same amount in the token’s smallest units.'),
    asset: z.string().describe('SYMBOL@network: one the invoice was paid with.'),
    network: z.string(),
    symbol: z.string(),
    decimals: z.int(),
    reason: z.string().nullable(),
    from_buyer_credit: z
      .string()
      .describe('Part taken from the invoice’s buyer credit (an overpayment kept for the buyer).'),
    from_merchant_balance: z.string().describe('Part taken from the store’s available balance.'),
    destination: z.string().nullable().describe('EIP-55 address the buyer gave; null until then.'),
    payout_id: z.string().nullable().describe('The payout carrying the refund, once requested.'),
    payout_error: z
      .string()
      .nullable()
      .describe('Why the payout could not be requested yet (the store’s address book, a cooldown); retried.'),
    refund_url_path: z
      .string()
      .nullable()
      .describe(
        'The buyer’s one-time page, /refund/<token>, relative to the gateway URL. Only in the response ' +
          'that created the token (open, or reissue link); the token is stored hashed and never shown again.',
      ),
    expires_at: timestampSchema.describe('The reservation lapses then if no payout has taken it.'),
    destination_submitted_at: timestampSchema.nullable(),
    cancelled_at: timestampSchema.nullable(),
    created_at: timestampSchema,
  }),
  'Refund',
  'Money returned to a buyer from an invoice, reserved in the ledger until paid out or cancelled.',
)

export type RefundWire = z.output<typeof refundSchema>

const refundNotFound: ErrorSpec = {
  code: 'refund-not-found',
  status: 404,
  description: 'No such refund in this store.',
}
const invoiceNotFound: ErrorSpec = {
  code: 'invoice-not-found',
  status: 404,
  description: 'No such invoice in this store.',
}
const refundStatusConflict: ErrorSpec = {
  code: 'refund-status-conflict',
  status: 409,
  description: 'The refund’s status does not allow this.',
}

export const createRefund = defineOperation({
  operationId: 'createRefund',
  method: 'POST',
  path: '/v1/invoices/:id/refunds',
  summary: 'Refund (part of) an invoice’s payments',
  description:
    'Refundable in an asset: what the buyer paid in it (final payments) less refunds already open or ' +
    'paid in it. Allowed on settled invoices, expired ones holding a payment, and invoices marked invalid. ' +
    'The amount is reserved at once: first from the invoice’s buyer credit, then from the store’s ' +
    'available balance. The answer carries the buyer’s one-time refund link.',
  tags: ['refunds'],
  scope: 'invoices:write',
  moneyMoving: true,
  params: z.strictObject({ id: invoiceIdSchema }),
  body: z.strictObject({
    amount: decimalAmountSchema.describe('In the asset, at most its decimals.'),
    asset: z
      .string()
      .min(3)
      .max(80)
      .regex(/^[A-Z0-9]{2,10}@[a-z0-9-]{1,32}$/, 'must be SYMBOL@network')
      .describe('SYMBOL@network, one the invoice was paid with.'),
    reason: z.string().min(1).max(1000).optional(),
  }),
  response: refundSchema,
  successStatus: 201,
  errors: [
    invoiceNotFound,
    {
      code: 'invoice-not-refundable',
      status: 409,
      description: 'The invoice is still open, or holds no buyer money (new, processing, invalid by reorg).',
    },
    {
      code: 'refund-asset-invalid',
      status: 422,
      description: 'The invoice received no final payment in this asset.',
    },
    {
      code: 'refund-exceeds-refundable',
      status: 422,
      description: 'More than was paid in the asset, less refunds already open or paid.',
    },
    {
      code: 'refund-exceeds-balance',
      status: 409,
      description: 'The store’s available balance (plus the buyer credit) cannot cover it: funds were moved.',
    },
    {
      code: 'refund-buyer-credit-pending',
      status: 409,
      description:
        'Part of the invoice’s buyer credit (an overpayment, or a refund whose payout ended unpaid) waits ' +
        'for the store’s available balance; nothing was written. Retry later with a new Idempotency-Key.',
    },
    {
      code: 'amount-precision-exceeded',
      status: 422,
      description: 'More fraction digits than the asset has.',
    },
    { code: 'amount-not-positive', status: 422, description: 'The amount is zero.' },
    { code: 'refunds-per-invoice-exceeded', status: 409, description: 'The invoice has 100 refunds.' },
  ],
})

export const listInvoiceRefunds = defineOperation({
  operationId: 'listInvoiceRefunds',
  method: 'GET',
  path: '/v1/invoices/:id/refunds',
  summary: 'List an invoice’s refunds',
  description: 'Newest first; an invoice has at most 100, so one page holds them all.',
  tags: ['refunds'],
  scope: 'invoices:read',
  moneyMoving: false,
  params: z.strictObject({ id: invoiceIdSchema }),
  response: pageSchema(refundSchema, 'RefundPage'),
  successStatus: 200,
  errors: [invoiceNotFound],
})

export const getRefund = defineOperation({
  operationId: 'getRefund',
  method: 'GET',
  path: '/v1/refunds/:id',
  summary: 'Get a refund',
  description: 'A refund of the calling store (its refund link is never shown again).',
  tags: ['refunds'],
  scope: 'invoices:read',
  moneyMoving: false,
  params: z.strictObject({ id: refundIdSchema }),
  response: refundSchema,
  successStatus: 200,
  errors: [refundNotFound],
})

export const cancelRefund = defineOperation({
  operationId: 'cancelRefund',
  method: 'POST',
  path: '/v1/refunds/:id/cancel',
  summary: 'Cancel a refund',
  description:
    'Releases its reservation (the amount becomes refundable again) and kills its link. Allowed until a ' +
    'payout takes it; cancelling a cancelled refund changes nothing.',
  tags: ['refunds'],
  scope: 'invoices:write',
  moneyMoving: false,
  params: z.strictObject({ id: refundIdSchema }),
  response: refundSchema,
  successStatus: 200,
  errors: [refundNotFound, refundStatusConflict],
})

export const reissueRefundLink = defineOperation({
  operationId: 'reissueRefundLink',
  method: 'POST',
  path: '/v1/refunds/:id/link',
  summary: 'Issue a new refund link',
  description:
    'For a lost link (the token is only shown once, and an idempotent replay of the refund omits it): the ' +
    'previous link stops working. Only while the refund awaits its destination.',
  tags: ['refunds'],
  scope: 'invoices:write',
  moneyMoving: false,
  params: z.strictObject({ id: refundIdSchema }),
  response: refundSchema,
  successStatus: 200,
  errors: [refundNotFound, refundStatusConflict],
})
