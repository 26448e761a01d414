import type { PoolClient, Queryable } from '../../db/pool.ts'
import { assert } from '../../lib/assert.ts'
import { newId } from '../../lib/ids.ts'
import { allocateDepositAddressWith } from '../payments/payment.service.ts'
import { customerExternalIdTaken, customerNotFound } from './customer.errors.ts'
import { type CustomerRow, insertCustomer, selectCustomer, selectCustomers } from './customer.repo.ts'
import type { Customer } from './customer.types.ts'

function toCustomer(row: CustomerRow): Customer {
  assert(row.address !== null, `customer ${row.id} has no deposit address`)
  return {
    id: row.id,
    merchantId: row.merchant_id,
    externalId: row.external_id,
    metadata: row.metadata,
    depositAddress: row.address,
    createdAt: row.created_at,
  }
}

/**
 * Creates a customer and its permanent deposit address in the caller's transaction. An external_id
 * already used in the store is `customer-external-id-taken` (the operator's id names one customer).
 */
export async function createCustomer(
  client: PoolClient,
  input: {
    merchantId: string
    externalId?: string | undefined
    metadata?: Record<string, string> | undefined
  },
): Promise<Customer> {
  const id = newId('cus')
  const inserted = await insertCustomer(client, {
    id,
    merchantId: input.merchantId,
    externalId: input.externalId ?? null,
    metadata: input.metadata ?? {},
  })
  if (!inserted) throw customerExternalIdTaken(input.externalId ?? '')
  await allocateDepositAddressWith(client, {
    merchantId: input.merchantId,
    ownerKind: 'customer',
    ownerId: id,
  })
  return await getCustomer(client, input.merchantId, id)
}

/** A customer of the store; another store's customer is not found (never forbidden). */
export async function getCustomer(db: Queryable, merchantId: string, id: string): Promise<Customer> {
  const row = await selectCustomer(db, merchantId, id)
  if (row === undefined) throw customerNotFound()
  return toCustomer(row)
}

export async function listCustomers(
  db: Queryable,
  merchantId: string,
  page: { limit: number; startingAfter?: string | undefined },
) {
  const rows = await selectCustomers(db, merchantId, {
    limit: page.limit + 1,
    ...(page.startingAfter === undefined ? {} : { startingAfter: page.startingAfter }),
  })
  return { customers: rows.slice(0, page.limit).map(toCustomer), hasMore: rows.length > page.limit }
}
