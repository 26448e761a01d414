import { pageSizeDefault } from '@sluice/sdk/api/common'
import { createCustomer, getCustomer, listCustomerDeposits, listCustomers } from '@sluice/sdk/api/customers'
import type { FastifyInstance } from 'fastify'
import { withTransaction } from '../../db/tx.ts'
import {
  createCustomer as createCustomerOfStore,
  getCustomer as getCustomerOfStore,
  listCustomers as listCustomersOfStore,
} from '../../modules/customers/customer.service.ts'
import type { Customer } from '../../modules/customers/customer.types.ts'
import { getPayment, listOwnerPayments } from '../../modules/payments/payment.service.ts'
import { type RouteDependencies, registerOperation } from '../route.ts'
import { depositAddressesToWire, paymentToWire } from './wire.ts'

/** Customer deposit accounts (operator model): a permanent address per customer, and its deposits. */
export function registerCustomerRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { pool, networks } = dependencies
  const toWire = (customer: Customer) => ({
    id: customer.id,
    external_id: customer.externalId,
    metadata: { ...customer.metadata },
    deposit_addresses: depositAddressesToWire(customer.depositAddress, networks),
    created_at: customer.createdAt.toISOString(),
  })

  registerOperation(
    app,
    createCustomer,
    async ({ principal, body, idempotency }) =>
      await withTransaction(pool, async (client) => {
        const customer = await createCustomerOfStore(client, {
          merchantId: principal.merchantId,
          externalId: body.external_id,
          metadata: body.metadata,
        })
        const response = toWire(customer)
        await idempotency?.complete(client, response)
        return response
      }),
    dependencies,
  )

  registerOperation(
    app,
    getCustomer,
    async ({ principal, params }) => toWire(await getCustomerOfStore(pool, principal.merchantId, params.id)),
    dependencies,
  )

  registerOperation(
    app,
    listCustomers,
    async ({ principal, query }) => {
      const page = await listCustomersOfStore(pool, principal.merchantId, {
        limit: query.limit ?? pageSizeDefault,
        startingAfter: query.starting_after,
      })
      return { data: page.customers.map(toWire), has_more: page.hasMore }
    },
    dependencies,
  )

  registerOperation(
    app,
    listCustomerDeposits,
    async ({ principal, params, query }) => {
      const customer = await getCustomerOfStore(pool, principal.merchantId, params.id)
      const limit = query.limit ?? pageSizeDefault
      const after =
        query.starting_after === undefined ? undefined : await getPayment(pool, query.starting_after)
      const payments = await listOwnerPayments(
        pool,
        { merchantId: principal.merchantId, ownerKind: 'customer', ownerId: customer.id },
        { limit: limit + 1, ...(after === undefined ? {} : { beforeDetectedAt: after.detectedAt }) },
      )
      return {
        data: payments.slice(0, limit).map((payment) => paymentToWire(payment, networks)),
        has_more: payments.length > limit,
      }
    },
    dependencies,
  )
}
