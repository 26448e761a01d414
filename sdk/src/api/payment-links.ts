import { z } from 'zod'
import {
  decimalAmountSchema,
  named,
  pageQuerySchema,
  pageSchema,
  prefixedIdSchema,
  timestampSchema,
} from './common.ts'
import { defineOperation, type ErrorSpec } from './operation.ts'

/**
 * Payment links: a reusable (or one-time) URL a merchant shares; each buyer who opens it gets an invoice.
 * The price is fixed, or chosen by the buyer within [amount_min, amount_max].
 */

export const paymentLinkIdSchema = prefixedIdSchema('lnk')

export const currencyCodeSchema = z.string().regex(/^[A-Z]{3,5}$/, 'must be a currency code like USDT or EUR')

export const paymentLinkStatusSchema = z
  .enum(['active', 'deactivated', 'expired'])
  .describe('active: opens invoices. deactivated by the merchant, or past expires_at: opening answers 410.')

export const paymentLinkSchema = named(
  z.object({
    id: paymentLinkIdSchema,
    url_path: z.string().describe('The hosted link page, relative to the gateway URL: /l/<id>.'),
    status: paymentLinkStatusSchema,
    currency: z.string(),
    amount_type: z.enum(['fixed', 'buyer_chosen']),
    amount: z.string().nullable().describe('The fixed price; null when the buyer chooses.'),
    amount_min: z.string().nullable().describe('Smallest amount a buyer may choose; null for a fixed price.'),
    amount_max: z.string().nullable().describe('Largest amount a buyer may choose; null for a fixed price.'),
    networks: z
      .array(z.string())
      .nullable()
      .describe('Accepted networks; null = every configured one at the time an invoice opens.'),
    description: z.string().nullable(),
    redirect_url: z.string().nullable(),
    one_time: z.boolean().describe('At most one invoice is ever created from the link.'),
    invoice_id: z
      .string()
      .nullable()
      .describe('For a one-time link, the invoice it created (null until opened). Always null otherwise.'),
    expires_at: timestampSchema.nullable(),
    deactivated_at: timestampSchema.nullable(),
    created_at: timestampSchema,
  }),
  'PaymentLink',
  'A shareable URL that opens an invoice for each buyer (or one, for a one-time link).',
)

export type PaymentLinkWire = z.output<typeof paymentLinkSchema>

export const paymentLinkNotFound: ErrorSpec = {
  code: 'payment-link-not-found',
  status: 404,
  description: 'No such payment link in this store.',
}

export const createPaymentLink = defineOperation({
  operationId: 'createPaymentLink',
  method: 'POST',
  path: '/v1/payment-links',
  summary: 'Create a payment link',
  description:
    'Send `amount` for a fixed price, or leave it out and bound the buyer’s choice with `amount_min` / ' +
    '`amount_max` (defaults: the smallest unit, and the invoice maximum). Amounts may have at most the ' +
    'decimals of the accepted asset with the fewest (2 for fiat currencies).',
  tags: ['payment-links'],
  scope: 'invoices:write',
  moneyMoving: false,
  idempotency: 'optional',
  body: z.strictObject({
    currency: currencyCodeSchema,
    amount: decimalAmountSchema.optional().describe('Fixed price; omit to let the buyer choose.'),
    amount_min: decimalAmountSchema.optional().describe('Buyer-chosen links only.'),
    amount_max: decimalAmountSchema.optional().describe('Buyer-chosen links only.'),
    networks: z
      .array(z.string().min(1).max(32))
      .min(1)
      .max(32)
      .optional()
      .describe('Accepted networks; all with the asset when omitted.'),
    description: z.string().min(1).max(1000).optional(),
    redirect_url: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .optional()
      .describe('Where the checkout sends the buyer back.'),
    one_time: z.boolean().optional().describe('At most one invoice ever; false when omitted.'),
    expires_at: timestampSchema.optional().describe('After this the link answers 410; never when omitted.'),
  }),
  response: paymentLinkSchema,
  successStatus: 201,
  errors: [
    {
      code: 'amount-bounds-invalid',
      status: 422,
      description: 'amount together with amount_min/amount_max, or amount_min above amount_max.',
    },
    {
      code: 'amount-precision-exceeded',
      status: 422,
      description: 'More fraction digits than an accepted asset (or 2 for fiat) has.',
    },
    { code: 'amount-not-positive', status: 422, description: 'An amount is zero.' },
    { code: 'amount-too-large', status: 422, description: 'Above 100,000,000 units of the currency.' },
    {
      code: 'currency-unsupported',
      status: 422,
      description: 'Neither a configured stablecoin nor a fiat currency with rates.',
    },
    { code: 'network-unknown', status: 422, description: 'A network in `networks` is not configured.' },
    {
      code: 'asset-unsupported',
      status: 422,
      description: 'An accepted network has no token for the currency.',
    },
    { code: 'expires-at-invalid', status: 422, description: '`expires_at` is not in the future.' },
  ],
})

export const getPaymentLink = defineOperation({
  operationId: 'getPaymentLink',
  method: 'GET',
  path: '/v1/payment-links/:id',
  summary: 'Get a payment link',
  description: 'A link of the calling store.',
  tags: ['payment-links'],
  scope: 'invoices:read',
  moneyMoving: false,
  params: z.strictObject({ id: paymentLinkIdSchema }),
  response: paymentLinkSchema,
  successStatus: 200,
  errors: [paymentLinkNotFound],
})

export const listPaymentLinks = defineOperation({
  operationId: 'listPaymentLinks',
  method: 'GET',
  path: '/v1/payment-links',
  summary: 'List payment links',
  description: 'Newest first.',
  tags: ['payment-links'],
  scope: 'invoices:read',
  moneyMoving: false,
  query: pageQuerySchema(paymentLinkIdSchema),
  response: pageSchema(paymentLinkSchema, 'PaymentLinkPage'),
  successStatus: 200,
})

export const deactivatePaymentLink = defineOperation({
  operationId: 'deactivatePaymentLink',
  method: 'POST',
  path: '/v1/payment-links/:id/deactivate',
  summary: 'Deactivate a payment link',
  description:
    'Opening it answers 410 `payment-link-inactive` from now on; invoices it already opened stay payable. ' +
    'Deactivating an inactive link changes nothing.',
  tags: ['payment-links'],
  scope: 'invoices:write',
  moneyMoving: false,
  params: z.strictObject({ id: paymentLinkIdSchema }),
  response: paymentLinkSchema,
  successStatus: 200,
  errors: [paymentLinkNotFound],
})
