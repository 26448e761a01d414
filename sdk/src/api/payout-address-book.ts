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

// The payout address book and the store's payout settings (docs/adr/0015-batch-and-canary-payouts.md).
const error = (code: string, status: number, description: string): ErrorSpec => ({
  code,
  status,
  description,
})
const entryNotFound = error('address-book-entry-not-found', 404, 'No such address-book entry in this store.')
const customerNotFound = error('customer-not-found', 422, 'No such customer in this store.')

export const payoutAddressIdSchema = prefixedIdSchema('pab')

export const payoutAddressSchema = named(
  z.object({
    id: payoutAddressIdSchema,
    address: z.string().describe('EIP-55 form.'),
    network: z.string().nullable().describe('null: every EVM network of the gateway.'),
    label: z.string().nullable(),
    customer_id: z.string().nullable().describe('The customer this destination belongs to, if any.'),
    whitelisted: z.boolean().describe('Matched by policy rules with `destination: whitelisted`.'),
    cooldown_until: timestampSchema
      .nullable()
      .describe('Payouts to this address are refused (409 destination-cooling-down) before this time.'),
    created_by: z.string().nullable(),
    created_at: timestampSchema,
    updated_at: timestampSchema,
  }),
  'PayoutAddress',
  'A saved payout destination of the store (optionally of one customer), with a label and a cooldown.',
)
export type PayoutAddressWire = z.output<typeof payoutAddressSchema>

export const createPayoutAddress = defineOperation({
  operationId: 'createPayoutAddress',
  method: 'POST',
  path: '/v1/payout-addresses',
  summary: 'Add an address to the payout address book',
  description:
    'The address can receive payouts only after the store’s cooldown (24 h unless changed in the payout ' +
    'settings). EIP-55 checksummed EVM addresses only; Tron and other foreign formats are refused. Audited. ' +
    'Needs an admin key.',
  tags: ['payouts'],
  scope: 'admin',
  moneyMoving: false,
  idempotency: 'optional',
  body: z.strictObject({
    address: z.string().min(1).max(100).describe('EIP-55 checksummed address.'),
    network: z.string().min(1).max(32).optional().describe('One network; every network when omitted.'),
    label: z.string().min(1).max(200).optional(),
    customer_id: prefixedIdSchema('cus').optional(),
    whitelisted: z.boolean().optional().describe('false when omitted.'),
  }),
  response: payoutAddressSchema,
  successStatus: 201,
  errors: [
    error('destination-invalid', 422, 'Not an EIP-55 checksummed EVM address (or the zero address).'),
    error('network-unknown', 422, 'The network is not configured.'),
    customerNotFound,
    error('address-book-entry-exists', 409, 'The address is already in the store’s address book.'),
  ],
})

export const listPayoutAddresses = defineOperation({
  operationId: 'listPayoutAddresses',
  method: 'GET',
  path: '/v1/payout-addresses',
  summary: 'List the payout address book',
  description: 'Oldest first, optionally of one customer.',
  tags: ['payouts'],
  scope: 'payouts:read',
  moneyMoving: false,
  query: pageQuerySchema(payoutAddressIdSchema).extend({ customer_id: prefixedIdSchema('cus').optional() }),
  response: pageSchema(payoutAddressSchema, 'PayoutAddressPage'),
  successStatus: 200,
})

export const getPayoutAddress = defineOperation({
  operationId: 'getPayoutAddress',
  method: 'GET',
  path: '/v1/payout-addresses/:id',
  summary: 'Get an address-book entry',
  description: 'One saved destination.',
  tags: ['payouts'],
  scope: 'payouts:read',
  moneyMoving: false,
  params: z.strictObject({ id: payoutAddressIdSchema }),
  response: payoutAddressSchema,
  successStatus: 200,
  errors: [entryNotFound],
})

export const updatePayoutAddress = defineOperation({
  operationId: 'updatePayoutAddress',
  method: 'PATCH',
  path: '/v1/payout-addresses/:id',
  summary: 'Change an address-book entry',
  description:
    'Label, customer and the whitelisted flag. The address and network cannot change (add a new entry, ' +
    'which cools down). Audited. Needs an admin key.',
  tags: ['payouts'],
  scope: 'admin',
  moneyMoving: false,
  params: z.strictObject({ id: payoutAddressIdSchema }),
  body: z.strictObject({
    label: z.string().min(1).max(200).nullable().optional(),
    customer_id: prefixedIdSchema('cus').nullable().optional(),
    whitelisted: z.boolean().optional(),
  }),
  response: payoutAddressSchema,
  successStatus: 200,
  errors: [entryNotFound, customerNotFound],
})

export const deletePayoutAddress = defineOperation({
  operationId: 'deletePayoutAddress',
  method: 'DELETE',
  path: '/v1/payout-addresses/:id',
  summary: 'Remove an address-book entry',
  description: 'In whitelist-only mode the address can no longer receive. Audited. Needs an admin key.',
  tags: ['payouts'],
  scope: 'admin',
  moneyMoving: false,
  params: z.strictObject({ id: payoutAddressIdSchema }),
  response: z.object({ id: payoutAddressIdSchema, deleted: z.literal(true) }),
  successStatus: 200,
  errors: [entryNotFound],
})

export const payoutSettingsSchema = named(
  z.object({
    whitelist_only: z.boolean().describe('Refuse payouts to addresses that are not in the address book.'),
    cooldown_seconds: z.int().describe('How long a new address-book entry waits before it can receive.'),
    canary_threshold: z
      .string()
      .nullable()
      .describe(
        'A first payout to a never-paid address above this (decimal token units) sends `canary_amount` ' +
          'first and the rest once the canary is final; null: no canaries.',
      ),
    canary_amount: z.string().describe('Decimal token units.'),
    updated_by: z.string().nullable(),
    updated_at: timestampSchema.nullable().describe('null: the defaults apply.'),
  }),
  'PayoutSettings',
  'A store’s address-book and canary settings.',
)

export const getPayoutSettings = defineOperation({
  operationId: 'getPayoutSettings',
  method: 'GET',
  path: '/v1/payout-settings',
  summary: 'Get the store’s payout settings',
  description: 'Whitelist-only mode, the address-book cooldown and the canary threshold.',
  tags: ['payouts'],
  scope: 'payouts:read',
  moneyMoving: false,
  response: payoutSettingsSchema,
  successStatus: 200,
})

export const updatePayoutSettings = defineOperation({
  operationId: 'updatePayoutSettings',
  method: 'PATCH',
  path: '/v1/payout-settings',
  summary: 'Change the store’s payout settings',
  description: 'Fields left out keep their value. Audited. Needs an admin key.',
  tags: ['payouts'],
  scope: 'admin',
  moneyMoving: false,
  body: z.strictObject({
    whitelist_only: z.boolean().optional(),
    cooldown_seconds: z.int().min(0).max(2_592_000).optional().describe('0 to 30 days.'),
    canary_threshold: decimalAmountSchema.nullable().optional(),
    canary_amount: decimalAmountSchema.optional(),
  }),
  response: payoutSettingsSchema,
  successStatus: 200,
  errors: [error('payout-settings-invalid', 422, 'Out of range, or a canary not below the threshold.')],
})
