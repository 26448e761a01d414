import type { ApiKey, CreatedApiKey } from '@sluice/sdk/api/api-keys'
import { createApiKey, listApiKeys, revokeApiKey } from '@sluice/sdk/api/api-keys'
import { pageSizeDefault } from '@sluice/sdk/api/common'
import { getStore } from '@sluice/sdk/api/store'
import type { FastifyInstance } from 'fastify'
import { withTransaction } from '../../db/tx.ts'
import { assert } from '../../lib/assert.ts'
import {
  type ApiKeyRecord,
  createApiKey as createApiKeyForStore,
  getMerchant,
  listApiKeys as listApiKeysOfStore,
  revokeApiKey as revokeApiKeyOfStore,
} from '../../modules/merchants/merchant.service.ts'
import { type RouteDependencies, registerOperation } from '../route.ts'

/** Routes of the merchants module: the caller's store and its API keys. */

const toWire = (record: ApiKeyRecord): ApiKey => ({
  id: record.id,
  label: record.label,
  scopes: [...record.scopes],
  key_prefix: record.keyPrefix,
  created_at: record.createdAt.toISOString(),
  revoked_at: record.revokedAt === null ? null : record.revokedAt.toISOString(),
})

export function registerApiKeyRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { pool } = dependencies

  registerOperation(
    app,
    getStore,
    async ({ principal }) => {
      const merchant = await getMerchant(pool, principal.merchantId)
      // api_keys.merchant_id references merchants: a key that authenticated has a store.
      assert(merchant !== undefined, `the store of API key ${principal.apiKeyId} must exist`)
      return { id: merchant.id, name: merchant.name }
    },
    dependencies,
  )

  registerOperation(
    app,
    createApiKey,
    // Transactional idempotency: the key row and the stored response commit together, so a crash can
    // neither leave a key without its idempotency record nor a record without its key.
    async ({ principal, body, idempotency }) =>
      await withTransaction(pool, async (client) => {
        const created = await createApiKeyForStore(client, principal, body)
        const response: CreatedApiKey = { ...toWire(created.apiKey), key: created.key }
        await idempotency?.complete(client, response)
        return response
      }),
    dependencies,
    // The secret is shown once and never stored, not even in the idempotency record: a replay says
    // which key was created (so the caller can revoke it) with `key: null`.
    { storedResponse: (response) => ({ ...response, key: null }) },
  )

  registerOperation(
    app,
    listApiKeys,
    async ({ principal, query }) => {
      const page = await listApiKeysOfStore(pool, principal.merchantId, {
        limit: query.limit ?? pageSizeDefault,
        startingAfter: query.starting_after,
      })
      return { data: page.apiKeys.map(toWire), has_more: page.hasMore }
    },
    dependencies,
  )

  registerOperation(
    app,
    revokeApiKey,
    async ({ principal, params }) => {
      return toWire(await revokeApiKeyOfStore(pool, principal.merchantId, params.id))
    },
    dependencies,
  )
}
