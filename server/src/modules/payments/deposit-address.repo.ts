import type { Queryable } from '../../db/pool.ts'
import type { GatedWrite } from '../../db/statement.ts'
import type { DepositAddress, DepositOwnerKind } from './payment.types.ts'

type ClaimedRow = { address: string; hd_account: number; hd_index: number; created_at: Date }

type Owner = { merchantId: string; ownerKind: DepositOwnerKind; ownerId: string }

/**
 * Moves the merchant's lowest free pooled address to `owner` in one statement. SKIP LOCKED: concurrent
 * claimers take different rows and never wait for each other. Returns undefined when the pool is empty,
 * or when `owner` already has an address (the claimed row is then consumed unused: an index gap).
 */
export async function claimPooledAddress(db: Queryable, owner: Owner): Promise<DepositAddress | undefined> {
  const result = await db.query<ClaimedRow>({
    name: 'deposit-address-claim-pooled',
    text: `with claimed as (
       delete from deposit_address_pool
       where (merchant_id, hd_index) = (
         select merchant_id, hd_index from deposit_address_pool where merchant_id = $1
         order by hd_index limit 1 for update skip locked)
       returning address, hd_account, hd_index)
     insert into deposit_addresses (address, merchant_id, owner_kind, owner_id, hd_account, hd_index)
     select address, $1, $2, $3, hd_account, hd_index from claimed
     on conflict (merchant_id, owner_kind, owner_id) do nothing
     returning address, hd_account, hd_index, created_at`,
    values: [owner.merchantId, owner.ownerKind, owner.ownerId],
  })
  const row = result.rows[0]
  return row === undefined
    ? undefined
    : {
        ...owner,
        address: row.address,
        hdAccount: row.hd_account,
        hdIndex: row.hd_index,
        createdAt: row.created_at,
      }
}

export type PooledAddress = Readonly<{ address: string; hdAccount: number; hdIndex: number }>

/**
 * Takes up to `count` of the merchant's lowest free pooled addresses out of the pool, for a process to
 * hold (ADR 0022). SKIP LOCKED, as a single claim: concurrent takers get different rows.
 */
export async function takePooledAddresses(
  db: Queryable,
  merchantId: string,
  count: number,
): Promise<PooledAddress[]> {
  const result = await db.query<{ address: string; hd_account: number; hd_index: number }>({
    name: 'deposit-address-take-pooled',
    text: `delete from deposit_address_pool
       where (merchant_id, hd_index) in (
         select merchant_id, hd_index from deposit_address_pool where merchant_id = $1
         order by hd_index limit $2 for update skip locked)
       returning address, hd_account, hd_index`,
    values: [merchantId, count],
  })
  return result.rows.map((row) => ({
    address: row.address,
    hdAccount: row.hd_account,
    hdIndex: row.hd_index,
  }))
}

/** Puts held addresses back into the pool (a process giving back what it did not use). */
export async function returnPooledAddresses(
  db: Queryable,
  merchantId: string,
  addresses: readonly PooledAddress[],
): Promise<void> {
  await db.query(
    `insert into deposit_address_pool (merchant_id, hd_account, hd_index, address)
     select $1, * from unnest($2::int[], $3::int[], $4::text[]) on conflict do nothing`,
    [
      merchantId,
      addresses.map((entry) => entry.hdAccount),
      addresses.map((entry) => entry.hdIndex),
      addresses.map((entry) => entry.address),
    ],
  )
}

export type InvoiceAddressRow = Readonly<{ merchantId: string; invoiceId: string; held: PooledAddress }>

/**
 * Held addresses given to new invoices, as a batched gated write (db/statement.ts `BatchWrite`): row i
 * is inserted when `gate` lists ordinal i + 1; done is `deposit_address_done` (the ordinals written).
 * No ON CONFLICT: an address or index already taken fails the whole statement.
 */
export function invoiceAddressesWrite(gate: string, rows: readonly InvoiceAddressRow[]): GatedWrite {
  return {
    ctes: [
      {
        text: `deposit_address as (
           insert into deposit_addresses (address, merchant_id, owner_kind, owner_id, hd_account, hd_index)
           select address, merchant_id, 'invoice', owner_id, hd_account, hd_index
           from unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[]) with ordinality
             as row (address, merchant_id, owner_id, hd_account, hd_index, ordinal)
           where ordinal in (select ordinal from ${gate})
           returning address),
         deposit_address_done as (
           select ordinal from unnest($1::text[]) with ordinality as row (address, ordinal)
           where ordinal in (select ordinal from ${gate}) and address in (select address from deposit_address))`,
        values: [
          rows.map((row) => row.held.address),
          rows.map((row) => row.merchantId),
          rows.map((row) => row.invoiceId),
          rows.map((row) => row.held.hdAccount),
          rows.map((row) => row.held.hdIndex),
        ],
      },
    ],
    done: 'deposit_address_done',
  }
}

/**
 * Takes `count` HD indexes of a merchant and returns the first. The counter row stays locked until the
 * caller's transaction ends, so indexes are handed out once and, on rollback, not at all; run outside a
 * transaction it is locked for this statement only (indexes taken and not used are gaps: ADR 0018).
 */
export async function takeHdIndexes(db: Queryable, merchantId: string, count: number): Promise<number> {
  const result = await db.query<{ first: number }>(
    `insert into hd_index_counters (merchant_id, next_index)
     values ($1, $2)
     on conflict (merchant_id) do update set next_index = hd_index_counters.next_index + $2
     returning next_index - $2 as first`,
    [merchantId, count],
  )
  const first = result.rows[0]?.first
  if (first === undefined) throw new Error('hd_index_counters upsert returned no row')
  return first
}

export async function insertPooledAddresses(
  db: Queryable,
  merchantId: string,
  hdAccount: number,
  addresses: readonly { hdIndex: number; address: string }[],
): Promise<void> {
  await db.query(
    `insert into deposit_address_pool (merchant_id, hd_account, hd_index, address)
     select $1, $2, * from unnest($3::int[], $4::text[])`,
    [merchantId, hdAccount, addresses.map((entry) => entry.hdIndex), addresses.map((entry) => entry.address)],
  )
}

/** Merchants with an HD account whose pool holds fewer than `below` addresses, with that count. */
export async function selectPoolsBelow(
  db: Queryable,
  below: number,
  merchantsMax: number,
): Promise<{ merchantId: string; pooled: number }[]> {
  const result = await db.query<{ merchant_id: string; pooled: number }>(
    `select counters.merchant_id,
       (select count(*) from deposit_address_pool pool where pool.merchant_id = counters.merchant_id)::int as pooled
     from hd_index_counters counters
     where (select count(*) from deposit_address_pool pool where pool.merchant_id = counters.merchant_id) < $1
     order by counters.merchant_id limit $2`,
    [below, merchantsMax],
  )
  return result.rows.map((row) => ({ merchantId: row.merchant_id, pooled: row.pooled }))
}

export async function countPooled(db: Queryable, merchantId: string): Promise<number> {
  const result = await db.query<{ pooled: number }>(
    'select count(*)::int as pooled from deposit_address_pool where merchant_id = $1',
    [merchantId],
  )
  return result.rows[0]?.pooled ?? 0
}

/** The owner's address, inserted unless a concurrent transaction gave the owner one first. */
export async function insertDepositAddressUnlessOwned(
  db: Queryable,
  address: Omit<DepositAddress, 'createdAt'>,
): Promise<DepositAddress | undefined> {
  const result = await db.query<{ created_at: Date }>(
    `insert into deposit_addresses (address, merchant_id, owner_kind, owner_id, hd_account, hd_index)
     values ($1, $2, $3, $4, $5, $6)
     on conflict (merchant_id, owner_kind, owner_id) do nothing
     returning created_at`,
    [
      address.address,
      address.merchantId,
      address.ownerKind,
      address.ownerId,
      address.hdAccount,
      address.hdIndex,
    ],
  )
  const row = result.rows[0]
  return row === undefined ? undefined : { ...address, createdAt: row.created_at }
}

/**
 * The oldest transaction still running anywhere in the cluster (`pg_snapshot_xmin`): every transaction
 * below it has committed or aborted, so its rows are visible to any statement that starts afterwards.
 */
export async function selectSnapshotXmin(db: Queryable): Promise<string> {
  const result = await db.query<{ xmin: string }>(
    'select pg_snapshot_xmin(pg_current_snapshot())::text as xmin',
  )
  const xmin = result.rows[0]?.xmin
  if (xmin === undefined) throw new Error('pg_current_snapshot returned no row')
  return xmin
}

/**
 * Addresses created by transactions `>= sinceXid`, after `after` in (created_xid, address) order: the
 * incremental load. Rows of transactions still running are invisible now and are read by a later call.
 */
export async function selectAddressesCreatedSince(
  db: Queryable,
  sinceXid: string,
  after: Readonly<{ xid: string; address: string }> | undefined,
  limit: number,
): Promise<{ address: string; createdXid: string }[]> {
  const result = await db.query<{ address: string; created_xid: string }>(
    `select address, created_xid::text from deposit_addresses
     where created_xid >= $1::xid8 and ($2::xid8 is null or (created_xid, address) > ($2::xid8, $3::text))
     order by created_xid, address limit $4`,
    [sinceXid, after?.xid ?? null, after?.address ?? null, limit],
  )
  return result.rows.map((row) => ({ address: row.address, createdXid: row.created_xid }))
}

/**
 * As selectAddressesCreatedSince, packed for large watch sets: each address's first 8 bytes (big-endian,
 * in (created_xid, address) order) in one bytea, and the page's last key to continue after.
 */
export async function selectAddressPrefixesCreatedSince(
  db: Queryable,
  sinceXid: string,
  after: Readonly<{ xid: string; address: string }> | undefined,
  limit: number,
): Promise<{ count: number; prefixes: Buffer; last: { xid: string; address: string } | undefined }> {
  const result = await db.query<{
    count: number
    prefixes: Buffer | null
    last_xid: string | null
    last_address: string | null
  }>(
    `select count(*)::int as count,
       string_agg(decode(substr(address, 3, 16), 'hex'), ''::bytea order by created_xid, address) as prefixes,
       (array_agg(created_xid::text order by created_xid desc, address desc))[1] as last_xid,
       (array_agg(address order by created_xid desc, address desc))[1] as last_address
     from (select address, created_xid from deposit_addresses
       where created_xid >= $1::xid8 and ($2::xid8 is null or (created_xid, address) > ($2::xid8, $3::text))
       order by created_xid, address limit $4) page`,
    [sinceXid, after?.xid ?? null, after?.address ?? null, limit],
  )
  const row = result.rows[0]
  return {
    count: row?.count ?? 0,
    prefixes: row?.prefixes ?? Buffer.alloc(0),
    last:
      row?.last_xid === null || row?.last_xid === undefined || row.last_address === null
        ? undefined
        : { xid: row.last_xid, address: row.last_address },
  }
}
