import type { Queryable } from '../../db/pool.ts'
import { assert } from '../../lib/assert.ts'
import type { HdAccount, SecretEnvelope, SecretKind } from './key.types.ts'

/** SQL for `secrets` and `hd_accounts`. Envelopes come back as `unknown`: the envelope parser checks them. */

export type SecretRow = {
  id: string
  kind: SecretKind
  envelope: unknown
  master_key_id: string
  created_at: Date
  rotated_at: Date | null
  backup_revealed_at: Date | null
}

type HdAccountRow = { merchant_id: string; account_index: number; xpub: string; created_at: Date }

const toHdAccount = (row: HdAccountRow): HdAccount => ({
  merchantId: row.merchant_id,
  accountIndex: row.account_index,
  xpub: row.xpub,
  createdAt: row.created_at,
})

// Arbitrary constant (the migration lock uses another): serialises account allocation so indexes are
// handed out gap-free even when many merchants ask at once.
const accountAllocationLockKey = 7_411_220_004

export async function insertSecret(
  db: Queryable,
  secret: { id: string; kind: SecretKind; envelope: SecretEnvelope; revealed: boolean },
): Promise<void> {
  await db.query(
    `insert into secrets (id, kind, envelope, master_key_id, backup_revealed_at)
     values ($1, $2, $3, $4, case when $5 then now() end)`,
    [
      secret.id,
      secret.kind,
      JSON.stringify(secret.envelope),
      secret.envelope.dataKey.masterKeyId,
      secret.revealed,
    ],
  )
}

export async function findSecretByKind(
  db: Queryable,
  kind: SecretKind,
  options: { forUpdate?: boolean } = {},
): Promise<SecretRow | undefined> {
  const result = await db.query<SecretRow>(
    `select * from secrets where kind = $1 order by created_at limit 1${options.forUpdate === true ? ' for update' : ''}`,
    [kind],
  )
  return result.rows[0]
}

/** Every secret, locked; `limit` keeps a runaway table from being loaded whole (the caller checks it). */
export async function lockAllSecrets(db: Queryable, limit: number): Promise<SecretRow[]> {
  const result = await db.query<SecretRow>('select * from secrets order by id limit $1 for update', [limit])
  return result.rows
}

export async function updateSecretEnvelope(
  db: Queryable,
  id: string,
  envelope: SecretEnvelope,
): Promise<void> {
  await db.query('update secrets set envelope = $2, master_key_id = $3, rotated_at = now() where id = $1', [
    id,
    JSON.stringify(envelope),
    envelope.dataKey.masterKeyId,
  ])
}

export async function markBackupRevealed(db: Queryable, id: string): Promise<void> {
  await db.query('update secrets set backup_revealed_at = now() where id = $1', [id])
}

export async function findHdAccount(db: Queryable, merchantId: string): Promise<HdAccount | undefined> {
  const result = await db.query<HdAccountRow>('select * from hd_accounts where merchant_id = $1', [
    merchantId,
  ])
  return result.rows[0] === undefined ? undefined : toHdAccount(result.rows[0])
}

/** Transaction-scoped: released at commit or rollback. */
export async function lockAccountAllocation(db: Queryable): Promise<void> {
  await db.query('select pg_advisory_xact_lock($1)', [accountAllocationLockKey])
}

export async function nextAccountIndex(db: Queryable): Promise<number> {
  const result = await db.query<{ next: number }>(
    'select coalesce(max(account_index) + 1, 0) as next from hd_accounts',
  )
  return result.rows[0]?.next ?? 0
}

export async function insertHdAccount(
  db: Queryable,
  account: { merchantId: string; accountIndex: number; xpub: string },
): Promise<HdAccount> {
  const result = await db.query<HdAccountRow>(
    'insert into hd_accounts (merchant_id, account_index, xpub) values ($1, $2, $3) returning *',
    [account.merchantId, account.accountIndex, account.xpub],
  )
  const row = result.rows[0]
  assert(row !== undefined, 'insert … returning yields a row')
  return toHdAccount(row)
}
