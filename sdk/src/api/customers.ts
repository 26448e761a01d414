import { z } from 'zod'
import { named, pageQuerySchema, pageSchema, prefixedIdSchema, timestampSchema } from './common.ts'
import { defineOperation, type ErrorSpec } from './operation.ts'
import { depositAddressSchema, metadataSchema, paymentSchema } from './payments.ts'

const customerIdSchema = prefixedIdSchema('cus')

export const customerSchema = named(
  z.object({
    id: customerIdSchema,
    external_id: z.string().nullable().describe('Your id for this customer, unique in the store.'),
    metadata: z.record(z.string(), z.string()),
    deposit_addresses: z
      .array(depositAddressSchema)
      .describe('Permanent: deposits here credit this customer.'),
    created_at: timestampSchema,
  }),
  'Customer',
  'An end customer with a permanent deposit address (operator model).',
)

const customerNotFound: ErrorSpec = {
  code: 'customer-not-found',
  status: 404,
  description: 'No such customer in this store.',
}
const keysNotReady: ErrorSpec = {
  code: 'hd-account-not-found',
  status: 409,
  description:
    'The store has no HD account yet: the operator runs `sluice keys export-xpub <store id>` once.',
}

export const createCustomer = defineOperation({
  operationId: 'createCustomer',
  method: 'POST',
  path: '/v1/customers',
  summary: 'Create a customer with a permanent deposit address',
  description: 'Deposits to the returned address, on any configured network, credit the customer once final.',
  tags: ['customers'],
  scope: 'customers:write',
  moneyMoving: false,
  idempotency: 'optional',
  body: z.strictObject({
    external_id: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('Your id for the customer (unique per store).'),
    metadata: metadataSchema.optional(),
  }),
  response: customerSchema,
  successStatus: 201,
  errors: [
    {
      code: 'customer-external-id-taken',
      status: 409,
      description: 'Another customer of the store has this external_id.',
    },
    keysNotReady,
  ],
})

export const getCustomer = defineOperation({
  operationId: 'getCustomer',
  method: 'GET',
  path: '/v1/customers/:id',
  summary: 'Get a customer',
  description: 'A customer of the calling store.',
  tags: ['customers'],
  scope: 'customers:read',
  moneyMoving: false,
  params: z.strictObject({ id: customerIdSchema }),
  response: customerSchema,
  successStatus: 200,
  errors: [customerNotFound],
})

export const listCustomers = defineOperation({
  operationId: 'listCustomers',
  method: 'GET',
  path: '/v1/customers',
  summary: 'List customers',
  description: 'Oldest first.',
  tags: ['customers'],
  scope: 'customers:read',
  moneyMoving: false,
  query: pageQuerySchema(customerIdSchema),
  response: pageSchema(customerSchema, 'CustomerPage'),
  successStatus: 200,
})

export const listCustomerDeposits = defineOperation({
  operationId: 'listCustomerDeposits',
  method: 'GET',
  path: '/v1/customers/:id/deposits',
  summary: "List a customer's deposits",
  description: 'Every transfer seen to the customer’s address, newest first, with its status and tx hash.',
  tags: ['customers'],
  scope: 'customers:read',
  moneyMoving: false,
  params: z.strictObject({ id: customerIdSchema }),
  query: pageQuerySchema(prefixedIdSchema('pay')),
  response: pageSchema(paymentSchema, 'PaymentPage'),
  successStatus: 200,
  errors: [customerNotFound],
})
