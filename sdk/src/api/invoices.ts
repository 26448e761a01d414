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
import { metadataSchema, paymentSchema } from './payments.ts'

const invoiceIdSchema = prefixedIdSchema('inv')

export const invoiceStatusSchema = z
  .enum(['new', 'processing', 'settled', 'expired', 'invalid'])
  .describe('new → processing (paid in full, waiting for finality) → settled; or expired / invalid.')
export const invoiceExceptionSchema = z
  .enum(['none', 'paid_partial', 'paid_over', 'paid_late', 'marked'])
  .describe('What was unusual about the payment: partial, over, late (after expiry), or marked by a person.')

export const paymentOptionSchema = named(
  z.object({
    network: z.string(),
    chain_id: z.int(),
    asset: z.string().describe('SYMBOL@network'),
    symbol: z.string(),
    decimals: z.int(),
    contract_address: z.string(),
    address: z.string().describe('Where to pay: a fresh address for this invoice.'),
    amount: z.string().describe('Exactly how much to pay in this asset (decimal).'),
    amount_minor: z.string().describe('The same amount in the token’s smallest units.'),
    payment_uri: z.string().describe('EIP-681 URI for wallets and QR codes.'),
  }),
  'PaymentOption',
  'One way to pay an invoice: an asset on a network, the address and the exact amount.',
)

export const invoiceSchema = named(
  z.object({
    id: invoiceIdSchema,
    status: invoiceStatusSchema,
    exception: invoiceExceptionSchema,
    currency: z
      .string()
      .describe('What the invoice is priced in: USDT, USDC, or a fiat currency (USD, EUR).'),
    amount: z.string().describe('The price, in the invoice currency.'),
    amount_paid: z.string().describe('Counted payments (seen, not orphaned), in the invoice currency.'),
    rate: z
      .object({ source: z.string(), locked_at: timestampSchema, rates: z.record(z.string(), z.string()) })
      .nullable()
      .describe('For fiat invoices: tokens per unit of currency, locked at creation for the invoice’s life.'),
    tolerance_basis_points: z.int(),
    expires_at: timestampSchema,
    monitoring_until: timestampSchema.describe('Late payments until then still count (as paid_late).'),
    order_id: z.string().nullable(),
    description: z.string().nullable(),
    redirect_url: z.string().nullable(),
    metadata: z.record(z.string(), z.string()),
    revision: z.int().describe('Changes with every state change; quote it when marking.'),
    checkout_path: z.string().describe('Hosted checkout page, relative to the gateway URL.'),
    payment_options: z.array(paymentOptionSchema),
    payments: z.array(paymentSchema),
    created_at: timestampSchema,
  }),
  'Invoice',
  'A request for payment with an expiry, paid on one or several networks.',
)

export type InvoiceWire = z.output<typeof invoiceSchema>

const invoiceNotFound: ErrorSpec = {
  code: 'invoice-not-found',
  status: 404,
  description: 'No such invoice in this store.',
}

export const createInvoice = defineOperation({
  operationId: 'createInvoice',
  method: 'POST',
  path: '/v1/invoices',
  summary: 'Create an invoice',
  description:
    'Priced in a stablecoin (exact in every accepted asset) or in fiat (converted at a rate locked for the ' +
    'invoice’s life). Each accepted network gets the exact amount to pay; one fresh address serves all EVM networks.',
  tags: ['invoices'],
  scope: 'invoices:write',
  moneyMoving: true,
  body: z.strictObject({
    amount: decimalAmountSchema,
    currency: z.string().regex(/^[A-Z]{3,5}$/, 'must be a currency code like USDT or EUR'),
    networks: z
      .array(z.string().min(1).max(32))
      .min(1)
      .max(32)
      .optional()
      .describe('Accepted networks; all with the asset when omitted.'),
    expires_in_minutes: z
      .int()
      .min(1)
      .max(7 * 24 * 60)
      .optional()
      .describe('Time to pay; 15 when omitted.'),
    monitoring_minutes: z
      .int()
      .min(0)
      .max(30 * 24 * 60)
      .optional()
      .describe('Late payments still count this long after expiry; 1440 when omitted.'),
    tolerance_basis_points: z
      .int()
      .min(0)
      .max(5000)
      .optional()
      .describe('Underpayment accepted as paid (100 = 1 %); 0 when omitted.'),
    order_id: z.string().min(1).max(200).optional(),
    description: z.string().max(1000).optional(),
    redirect_url: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .optional()
      .describe('Where the checkout sends the buyer back.'),
    metadata: metadataSchema.optional(),
  }),
  response: invoiceSchema,
  successStatus: 201,
  errors: [
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
    {
      code: 'amount-precision-exceeded',
      status: 422,
      description: 'More fraction digits than an accepted asset (or 2 for fiat) has.',
    },
    { code: 'amount-invalid-format', status: 422, description: 'Not a plain decimal string.' },
    { code: 'amount-not-positive', status: 422, description: 'The amount is zero.' },
    { code: 'amount-too-large', status: 422, description: 'Above 100,000,000 units of the currency.' },
    { code: 'amount-out-of-range', status: 422, description: 'Beyond what any token can represent.' },
    {
      code: 'rate-unavailable',
      status: 503,
      description: 'No exchange rate for this fiat currency right now; nothing was created.',
    },
    {
      code: 'hd-account-not-found',
      status: 409,
      description: 'The store has no HD account yet (`sluice keys export-xpub`).',
    },
  ],
})

export const getInvoice = defineOperation({
  operationId: 'getInvoice',
  method: 'GET',
  path: '/v1/invoices/:id',
  summary: 'Get an invoice',
  description: 'With its payment options and every payment seen.',
  tags: ['invoices'],
  scope: 'invoices:read',
  moneyMoving: false,
  params: z.strictObject({ id: invoiceIdSchema }),
  response: invoiceSchema,
  successStatus: 200,
  errors: [invoiceNotFound],
})

export const listInvoices = defineOperation({
  operationId: 'listInvoices',
  method: 'GET',
  path: '/v1/invoices',
  summary: 'List invoices',
  description: 'Newest first, optionally by status.',
  tags: ['invoices'],
  scope: 'invoices:read',
  moneyMoving: false,
  query: pageQuerySchema(invoiceIdSchema).extend({ status: invoiceStatusSchema.optional() }),
  response: pageSchema(invoiceSchema, 'InvoicePage'),
  successStatus: 200,
})

export const markInvoice = defineOperation({
  operationId: 'markInvoice',
  method: 'POST',
  path: '/v1/invoices/:id/mark',
  summary: 'Mark an invoice settled or invalid',
  description: 'A person’s decision, recorded with the API key, time and reason; exception becomes `marked`.',
  tags: ['invoices'],
  scope: 'invoices:write',
  moneyMoving: false,
  idempotency: 'optional',
  params: z.strictObject({ id: invoiceIdSchema }),
  body: z.strictObject({
    status: z.enum(['settled', 'invalid']),
    reason: z.string().max(1000).optional(),
    revision: z
      .int()
      .min(1)
      .optional()
      .describe('The revision you looked at; a changed invoice answers 409.'),
  }),
  response: invoiceSchema,
  successStatus: 200,
  errors: [
    invoiceNotFound,
    {
      code: 'invoice-status-conflict',
      status: 409,
      description: 'The invoice’s status does not allow this mark.',
    },
    {
      code: 'invoice-old-revision',
      status: 409,
      description: 'The invoice changed since the quoted revision.',
    },
  ],
})
