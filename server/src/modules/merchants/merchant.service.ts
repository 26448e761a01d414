import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { limits } from '../../config/limits.ts'
import type { Pool, Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { assert } from '../../lib/assert.ts'
import { newId } from '../../lib/ids.ts'
import {
  adminKeyRequired,
  apiKeyInvalid,
  apiKeyNotFound,
  authenticationRequired,
  scopeMissing,
  scopeNotGrantable,
  treasuryOperatorOnly,
} from './merchant.errors.ts'
import {
  type ApiKeyPublicRow,
  type ApiKeyRow,
  findApiKeyByPrefix,
  findApiKeyOfMerchant,
  findDemoMerchant,
  findMerchant,
  insertApiKey,
  insertMerchant,
  listApiKeysOfMerchant,
  revokeApiKeyOfMerchant,
} from './merchant.repo.ts'
import {
  type ApiKeyScope,
  apiKeyScopes,
  type Merchant,
  type OperatorStores,
  type Principal,
} from './merchant.types.ts'

// Key format: `sk_<lookup prefix: 16 chars>_<secret: 43 chars base64url>`; only its hash is stored.
const keyPattern = /^sk_([A-Za-z0-9]{16})_([A-Za-z0-9_-]{43})$/

function hashKey(key: string): Buffer {
  return createHash('sha256').update(key).digest()
}

export type IssuedApiKey = { apiKeyId: string; key: string }

/** Issues an API key; the plaintext key is returned once and never stored. */
export async function issueApiKey(
  db: Queryable,
  input: { merchantId: string; label: string; scopes: readonly ApiKeyScope[] },
): Promise<IssuedApiKey> {
  const lookupPrefix = randomBytes(12).toString('base64url').replace(/[-_]/g, 'x').slice(0, 16)
  const key = `sk_${lookupPrefix}_${randomBytes(32).toString('base64url')}`
  const apiKeyId = newId('key')
  await insertApiKey(db, {
    id: apiKeyId,
    merchantId: input.merchantId,
    label: input.label,
    lookupPrefix,
    secretHash: hashKey(key),
    scopes: input.scopes,
  })
  return { apiKeyId, key }
}

/** Creates a merchant (store) with a first API key holding every scope. */
export async function createMerchant(
  pool: Pool,
  input: { name: string; isDemo?: boolean },
): Promise<{ merchant: Merchant; apiKey: IssuedApiKey }> {
  return await withTransaction(pool, async (client) => {
    const id = newId('mer')
    await insertMerchant(client, { id, name: input.name, isDemo: input.isDemo ?? false })
    const apiKey = await issueApiKey(client, { merchantId: id, label: 'initial key', scopes: apiKeyScopes })
    return {
      merchant: { id, name: input.name, isDemo: input.isDemo ?? false, createdAt: new Date() },
      apiKey,
    }
  })
}

export async function getDemoMerchant(db: Queryable): Promise<Merchant | undefined> {
  return await findDemoMerchant(db)
}

/**
 * Keys this process verified recently, by the key's SHA-256 (never the key itself), trusted for
 * limits.apiKeyTrustMs. Only successes are remembered: a wrong key is read (and refused) every time.
 */
const trustedKeys = new Map<string, { principal: Principal; verifiedAtMs: number }>()

/** Resolves an `Authorization: Bearer <key>` header to the principal of a valid, unrevoked key. */
async function resolveApiKey(db: Queryable, authorization: string | undefined): Promise<Principal> {
  if (authorization === undefined || !authorization.startsWith('Bearer ')) throw authenticationRequired()
  const key = authorization.slice('Bearer '.length).trim()
  const match = keyPattern.exec(key)
  if (match === null || match[1] === undefined) throw apiKeyInvalid()
  const secretHash = hashKey(key)
  const trustKey = secretHash.toString('base64')
  const trusted = trustedKeys.get(trustKey)
  if (trusted !== undefined && Date.now() - trusted.verifiedAtMs < limits.apiKeyTrustMs)
    return trusted.principal
  const revocationsBefore = revocationsSeen
  const row = await lookUpOnce(trustKey, () => findApiKeyByPrefix(db, match[1] as string))
  if (row === undefined || row.revoked_at !== null || !timingSafeEqual(row.secret_hash, secretHash)) {
    trustedKeys.delete(trustKey)
    throw apiKeyInvalid()
  }
  const principal = { merchantId: row.merchant_id, apiKeyId: row.id, scopes: row.scopes }
  // A key revoked while its row was being read may have been read unrevoked: this request was already
  // under way and passes, but the key is not trusted on that read (security review, 2026-11-22).
  if (revocationsSeen === revocationsBefore) trust(trustKey, principal)
  return principal
}

/** Revocations this process has seen: a lookup that spans one does not make its key trusted. */
let revocationsSeen = 0

/**
 * Lookups under way, by trust key: when a trusted key's moment ends, the requests it carries at that
 * instant (one per connection) share one read instead of each reading the row.
 */
const lookups = new Map<string, Promise<ApiKeyRow | undefined>>()

async function lookUpOnce(
  trustKey: string,
  read: () => Promise<ApiKeyRow | undefined>,
): Promise<ApiKeyRow | undefined> {
  const under = lookups.get(trustKey)
  if (under !== undefined) return await under
  const lookup = read().finally(() => lookups.delete(trustKey))
  lookups.set(trustKey, lookup)
  return await lookup
}

function trust(trustKey: string, principal: Principal): void {
  trustedKeys.delete(trustKey)
  // A Map iterates in insertion order: the first entry is the one verified longest ago.
  if (trustedKeys.size >= limits.apiKeysTrustedMax) {
    const oldest = trustedKeys.keys().next()
    if (oldest.done !== true) trustedKeys.delete(oldest.value)
  }
  trustedKeys.set(trustKey, { principal, verifiedAtMs: Date.now() })
}

/** This process stops trusting a revoked key at once (others within limits.apiKeyTrustMs). */
function forgetApiKey(apiKeyId: string): void {
  revocationsSeen += 1
  for (const [trustKey, entry] of trustedKeys) {
    if (entry.principal.apiKeyId === apiKeyId) trustedKeys.delete(trustKey)
  }
  // A lookup under way may have read the row before the revocation: later requests read it afresh.
  lookups.clear()
}

/** Resolves an `Authorization: Bearer <key>` header to a principal holding `scope`. */
export async function authenticateApiKey(
  db: Queryable,
  authorization: string | undefined,
  scope: ApiKeyScope,
): Promise<Principal> {
  return await authenticateApiKeyFor(db, authorization, scope)
}

/**
 * What an operation needs from the caller's key: one scope; `'admin'`, every scope (managing keys is
 * as powerful as holding all of them, since a key could otherwise mint itself more); or `null`, any
 * valid key of the store.
 */
export type ScopeRequirement = ApiKeyScope | 'admin' | null

export async function authenticateApiKeyFor(
  db: Queryable,
  authorization: string | undefined,
  requirement: ScopeRequirement,
): Promise<Principal> {
  const principal = await resolveApiKey(db, authorization)
  if (requirement === 'admin') {
    if (!apiKeyScopes.every((scope) => principal.scopes.includes(scope))) throw adminKeyRequired()
  } else if (requirement !== null && !principal.scopes.includes(requirement)) throw scopeMissing(requirement)
  return principal
}

export async function getMerchant(db: Queryable, id: string): Promise<Merchant | undefined> {
  return await findMerchant(db, id)
}

/**
 * The operator stores an API process serves with, from config `operatorStores` (docs/adr/0026). Each
 * listed store must exist: `unknown` names those that do not, and the start stops on them, since a typo
 * would leave the treasury to no one. Unset on a devnet: the demo store, so `npm start` can use the
 * treasury; unset elsewhere: no store.
 */
export async function resolveOperatorStores(
  db: Queryable,
  input: Readonly<{ configured: readonly string[] | undefined; devnet: boolean }>,
): Promise<{ stores: OperatorStores; unknown: readonly string[] }> {
  if (input.configured === undefined) {
    const demo = input.devnet ? await findDemoMerchant(db) : undefined
    return { stores: new Set(demo === undefined ? [] : [demo.id]), unknown: [] }
  }
  assert(input.configured.length <= limits.operatorStoresMax, 'operatorStores is bounded by the config')
  const unknown: string[] = []
  for (const id of input.configured) if ((await findMerchant(db, id)) === undefined) unknown.push(id)
  return { stores: new Set(input.configured), unknown }
}

/** Throws 403 `treasury-operator-only` unless `merchantId` is an operator store. */
export function requireOperatorStore(operatorStores: OperatorStores, merchantId: string): void {
  if (!operatorStores.has(merchantId)) throw treasuryOperatorOnly()
}

/** An API key as its store sees it; the secret and its hash never leave the module. */
export type ApiKeyRecord = Readonly<{
  id: string
  label: string
  scopes: readonly ApiKeyScope[]
  /** `sk_<lookup prefix>`: the public start of the key, to recognise it in a list. */
  keyPrefix: string
  createdAt: Date
  revokedAt: Date | null
}>

const toApiKeyRecord = (row: ApiKeyPublicRow): ApiKeyRecord => ({
  id: row.id,
  label: row.label,
  scopes: row.scopes,
  keyPrefix: `sk_${row.lookup_prefix}`,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
})

/** Issues a key for the caller's store with a subset of the caller's scopes; the secret is returned once. */
export async function createApiKey(
  db: Queryable,
  principal: Principal,
  input: { label: string; scopes: readonly ApiKeyScope[] },
): Promise<{ apiKey: ApiKeyRecord; key: string }> {
  const lacking = input.scopes.find((scope) => !principal.scopes.includes(scope))
  if (lacking !== undefined) throw scopeNotGrantable(lacking)
  const issued = await issueApiKey(db, { merchantId: principal.merchantId, ...input })
  const row = await findApiKeyOfMerchant(db, principal.merchantId, issued.apiKeyId)
  assert(row !== undefined, `API key ${issued.apiKeyId} must be readable right after its insert`)
  return { apiKey: toApiKeyRecord(row), key: issued.key }
}

/** One page of a store's keys, newest first; `limit` is capped at limits.pageSizeMax. */
export async function listApiKeys(
  db: Queryable,
  merchantId: string,
  page: { limit: number; startingAfter?: string | undefined },
): Promise<{ apiKeys: ApiKeyRecord[]; hasMore: boolean }> {
  const limit = Math.max(1, Math.min(page.limit, limits.pageSizeMax))
  // One row more than asked tells whether another page follows without a count query.
  const rows = await listApiKeysOfMerchant(db, merchantId, {
    limit: limit + 1,
    startingAfter: page.startingAfter,
  })
  return { apiKeys: rows.slice(0, limit).map(toApiKeyRecord), hasMore: rows.length > limit }
}

/** Revokes a key of the store; a key of another store is "not found", exactly like a missing one. */
export async function revokeApiKey(db: Queryable, merchantId: string, id: string): Promise<ApiKeyRecord> {
  const row = await revokeApiKeyOfMerchant(db, merchantId, id)
  if (row === undefined) throw apiKeyNotFound()
  forgetApiKey(row.id)
  return toApiKeyRecord(row)
}
