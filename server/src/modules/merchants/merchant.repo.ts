import type { Queryable } from '../../db/pool.ts'
import type { ApiKeyScope, Merchant } from './merchant.types.ts'

type MerchantRow = { id: string; name: string; is_demo: boolean; created_at: Date }
export type ApiKeyRow = {
  id: string
  merchant_id: string
  secret_hash: Buffer
  scopes: ApiKeyScope[]
  revoked_at: Date | null
}

const toMerchant = (row: MerchantRow): Merchant => ({
  id: row.id,
  name: row.name,
  isDemo: row.is_demo,
  createdAt: row.created_at,
})

export async function insertMerchant(
  db: Queryable,
  merchant: { id: string; name: string; isDemo: boolean },
): Promise<void> {
  await db.query('insert into merchants (id, name, is_demo) values ($1, $2, $3)', [
    merchant.id,
    merchant.name,
    merchant.isDemo,
  ])
}

export async function findDemoMerchant(db: Queryable): Promise<Merchant | undefined> {
  const result = await db.query<MerchantRow>('select * from merchants where is_demo limit 1')
  return result.rows[0] === undefined ? undefined : toMerchant(result.rows[0])
}

export async function findMerchant(db: Queryable, id: string): Promise<Merchant | undefined> {
  const result = await db.query<MerchantRow>('select * from merchants where id = $1', [id])
  return result.rows[0] === undefined ? undefined : toMerchant(result.rows[0])
}

export async function insertApiKey(
  db: Queryable,
  key: {
    id: string
    merchantId: string
    label: string
    lookupPrefix: string
    secretHash: Buffer
    scopes: readonly ApiKeyScope[]
  },
): Promise<void> {
  await db.query(
    `insert into api_keys (id, merchant_id, label, lookup_prefix, secret_hash, scopes)
     values ($1, $2, $3, $4, $5, $6)`,
    [key.id, key.merchantId, key.label, key.lookupPrefix, key.secretHash, key.scopes],
  )
}

export async function findApiKeyByPrefix(
  db: Queryable,
  lookupPrefix: string,
): Promise<ApiKeyRow | undefined> {
  const result = await db.query<ApiKeyRow>({
    name: 'api-key-by-prefix',
    text: 'select id, merchant_id, secret_hash, scopes, revoked_at from api_keys where lookup_prefix = $1',
    values: [lookupPrefix],
  })
  return result.rows[0]
}

/** An API key as its store may see it: never the secret hash. */
export type ApiKeyPublicRow = {
  id: string
  label: string
  lookup_prefix: string
  scopes: ApiKeyScope[]
  created_at: Date
  revoked_at: Date | null
}

const apiKeyPublicColumns = 'id, label, lookup_prefix, scopes, created_at, revoked_at'

export async function findApiKeyOfMerchant(
  db: Queryable,
  merchantId: string,
  id: string,
): Promise<ApiKeyPublicRow | undefined> {
  const result = await db.query<ApiKeyPublicRow>(
    `select ${apiKeyPublicColumns} from api_keys where merchant_id = $1 and id = $2`,
    [merchantId, id],
  )
  return result.rows[0]
}

/** Newest first (ids are ULIDs, so id order is creation order); `limit` rows at most. */
export async function listApiKeysOfMerchant(
  db: Queryable,
  merchantId: string,
  page: { limit: number; startingAfter: string | undefined },
): Promise<ApiKeyPublicRow[]> {
  const result = await db.query<ApiKeyPublicRow>(
    `select ${apiKeyPublicColumns} from api_keys
     where merchant_id = $1 and ($2::text is null or id < $2)
     order by id desc limit $3`,
    [merchantId, page.startingAfter ?? null, page.limit],
  )
  return result.rows
}

/** Sets revoked_at once; a second revocation keeps the first time. */
export async function revokeApiKeyOfMerchant(
  db: Queryable,
  merchantId: string,
  id: string,
): Promise<ApiKeyPublicRow | undefined> {
  const result = await db.query<ApiKeyPublicRow>(
    `update api_keys set revoked_at = coalesce(revoked_at, now())
     where merchant_id = $1 and id = $2 returning ${apiKeyPublicColumns}`,
    [merchantId, id],
  )
  return result.rows[0]
}
