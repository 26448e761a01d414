import { z } from 'zod'
import {
  apiScopeSchema,
  apiScopes,
  named,
  pageQuerySchema,
  pageSchema,
  prefixedIdSchema,
  timestampSchema,
} from './common.ts'
import { defineOperation, type ErrorSpec } from './operation.ts'

const apiKeyIdSchema = prefixedIdSchema('key')

export const apiKeySchema = named(
  z.object({
    id: apiKeyIdSchema,
    label: z.string().describe('What the key is for, chosen by its creator.'),
    scopes: z.array(apiScopeSchema),
    key_prefix: z
      .string()
      .describe(
        'The public start of the key ("sk_…"), to recognise it; the secret part is never shown again.',
      ),
    created_at: timestampSchema,
    revoked_at: timestampSchema.nullable().describe('When the key was revoked; null while it works.'),
  }),
  'ApiKey',
  'An API key of the store. Neither the key nor its hash is ever returned after creation.',
)

export const createdApiKeySchema = named(
  apiKeySchema.extend({
    key: z
      .string()
      .nullable()
      .describe(
        'The secret key, shown once. Null when this response is an Idempotent-Replayed copy: the secret is ' +
          'never stored, so a caller that lost the original response revokes this key and creates another.',
      ),
  }),
  'CreatedApiKey',
  'A new API key, with its secret shown once.',
)

export type ApiKey = z.output<typeof apiKeySchema>
export type CreatedApiKey = z.output<typeof createdApiKeySchema>

const apiKeyNotFound: ErrorSpec = {
  code: 'api-key-not-found',
  status: 404,
  description: 'No API key with this id in the store of the calling key.',
}

export const createApiKey = defineOperation({
  operationId: 'createApiKey',
  method: 'POST',
  path: '/v1/api-keys',
  summary: 'Create an API key',
  description:
    "Needs an admin key (one holding every scope). The new key holds a subset of the caller's scopes. " +
    'An Idempotency-Key is optional: with one, a retry returns the same key id (with `key` null) ' +
    'instead of creating a second key.',
  tags: ['api-keys'],
  scope: 'admin',
  moneyMoving: false,
  idempotency: 'optional',
  body: z.strictObject({
    label: z.string().min(1).max(100).describe('What the key is for (1-100 characters).'),
    scopes: z
      .array(apiScopeSchema)
      .min(1)
      .max(apiScopes.length)
      .refine((scopes) => new Set(scopes).size === scopes.length, 'scopes must not repeat')
      .describe("Scopes of the new key: a subset of the calling key's."),
  }),
  response: createdApiKeySchema,
  successStatus: 201,
})

export const listApiKeys = defineOperation({
  operationId: 'listApiKeys',
  method: 'GET',
  path: '/v1/api-keys',
  summary: 'List API keys',
  description: 'Newest first, revoked keys included. Needs an admin key.',
  tags: ['api-keys'],
  scope: 'admin',
  moneyMoving: false,
  query: pageQuerySchema(apiKeyIdSchema),
  response: pageSchema(apiKeySchema, 'ApiKeyPage'),
  successStatus: 200,
})

export const revokeApiKey = defineOperation({
  operationId: 'revokeApiKey',
  method: 'DELETE',
  path: '/v1/api-keys/:id',
  summary: 'Revoke an API key',
  description:
    'Revoking is immediate and final; revoking a revoked key returns it unchanged. A key may revoke ' +
    'itself. Needs an admin key.',
  tags: ['api-keys'],
  scope: 'admin',
  moneyMoving: false,
  params: z.strictObject({ id: apiKeyIdSchema }),
  response: apiKeySchema,
  successStatus: 200,
  errors: [apiKeyNotFound],
})
