import type { Queryable } from '../../db/pool.ts'

export type CustomerRow = {
  id: string
  merchant_id: string
  external_id: string | null
  metadata: Record<string, string>
  created_at: Date
  address: string | null
}

const selectWithAddress = `select c.*, d.address from customers c
  left join deposit_addresses d on d.merchant_id = c.merchant_id and d.owner_kind = 'customer' and d.owner_id = c.id`

export async function insertCustomer(
  db: Queryable,
  row: { id: string; merchantId: string; externalId: string | null; metadata: Record<string, string> },
): Promise<boolean> {
  const result = await db.query(
    `insert into customers (id, merchant_id, external_id, metadata) values ($1, $2, $3, $4)
     on conflict (merchant_id, external_id) do nothing`,
    [row.id, row.merchantId, row.externalId, JSON.stringify(row.metadata)],
  )
  return result.rowCount === 1
}

export async function selectCustomer(
  db: Queryable,
  merchantId: string,
  id: string,
): Promise<CustomerRow | undefined> {
  const result = await db.query<CustomerRow>(`${selectWithAddress} where c.merchant_id = $1 and c.id = $2`, [
    merchantId,
    id,
  ])
  return result.rows[0]
}

export async function selectCustomers(
  db: Queryable,
  merchantId: string,
  page: { limit: number; startingAfter?: string },
): Promise<CustomerRow[]> {
  const result = await db.query<CustomerRow>(
    `${selectWithAddress} where c.merchant_id = $1 and ($2::text is null or c.id > $2) order by c.id limit $3`,
    [merchantId, page.startingAfter ?? null, page.limit],
  )
  return result.rows
}
