import { z } from 'zod'
import { decimalsMax, MoneyError, parseUnits } from '../money.ts'

/**
 * Wire building blocks shared by every API area: scopes, the error body, pagination, ids, amounts.
 * Field names on the wire are snake_case (`created_at`, `starting_after`), like the query parameters.
 */

/**
 * Gives a schema a name in the OpenAPI document (components.schemas, referenced by `$ref`); unnamed
 * schemas are inlined where they are used. Names live in zod's global registry, next to `.describe()`
 * texts, so one `z.toJSONSchema` pass sees both.
 */
export function named<Schema extends z.ZodType>(schema: Schema, id: string, description: string): Schema {
  return schema.meta({ id, description })
}

/**
 * What an API key may do. A copy of the server's `apiKeyScopes` (the SDK cannot import the server); a
 * server unit test asserts the two lists are equal.
 */
export const apiScopes = [
  'invoices:read',
  'invoices:write',
  'customers:read',
  'customers:write',
  'payouts:read',
  'payouts:write',
  'payouts:approve',
  'webhooks:read',
  'webhooks:write',
  'ledger:read',
] as const

export type ApiScope = (typeof apiScopes)[number]

export const apiScopeSchema = named(z.enum(apiScopes), 'Scope', 'A permission an API key holds.')

/** Page sizes of every list endpoint; mirrors the server's limits.ts (asserted equal by a server test). */
export const pageSizeDefault = 20
export const pageSizeMax = 100

export const errorDetailSchema = z.object({ path: z.string(), message: z.string() })

/** The body of every error response. `code` is stable and meant for programs; `message` is for people. */
export const errorBodySchema = named(
  z.object({
    code: z.string().describe('Stable kebab-case error code; branch on this.'),
    message: z.string().describe('Human-readable explanation; may change between versions.'),
    errors: z
      .array(errorDetailSchema)
      .optional()
      .describe('For validation-failed: each offending input, e.g. {"path": "body.amount"}.'),
  }),
  'Error',
  'Every non-2xx response carries this body.',
)

export type ErrorBody = z.output<typeof errorBodySchema>

/** RFC 3339 UTC timestamps, as `Date.prototype.toISOString()` writes them. */
export const timestampSchema = z.iso.datetime()

/** Prefixed ULID, e.g. `key_01J…`; the prefix says what the id names. */
export function prefixedIdSchema(prefix: string) {
  return z
    .string()
    .regex(new RegExp(`^${prefix}_[0-9A-HJKMNP-TV-Z]{26}$`), `must be a ${prefix}_… id`)
    .describe(`Identifier, "${prefix}_" followed by a 26-character ULID.`)
}

/**
 * A decimal amount as a string ("12.5"): JSON numbers are doubles and lose money. The format rules are
 * `parseUnits`'s (no sign, exponent or leading zeros); the asset's own decimals are checked by the server.
 */
export const decimalAmountSchema = z
  .string()
  .max(100)
  .regex(/^(0|[1-9][0-9]*)(\.[0-9]+)?$/, 'must be a plain decimal string like "12.5"')
  .superRefine((text, context) => {
    try {
      parseUnits(text, decimalsMax)
    } catch (error) {
      if (!(error instanceof MoneyError)) throw error
      context.addIssue({ code: 'custom', message: error.message })
    }
  })
  .describe('Decimal amount as a string, e.g. "12.5"; never a JSON number.')

/** Query `limit`: clients send a number, the URL carries a string; both are accepted. */
const pageLimitSchema = z
  .union([
    z.int(),
    z
      .string()
      .regex(/^[0-9]{1,6}$/, 'must be an integer')
      .transform(Number),
  ])
  .pipe(z.int().min(1).max(pageSizeMax))

/** Cursor pagination, newest first. `starting_after` is the id of the last item of the previous page. */
export function pageQuerySchema(cursor: z.ZodString) {
  return z.strictObject({
    limit: pageLimitSchema
      .optional()
      .describe(`Items per page, 1 to ${pageSizeMax}; ${pageSizeDefault} when omitted.`),
    starting_after: cursor.optional().describe('Id of the last item of the previous page.'),
  })
}

export function pageSchema<Item extends z.ZodType>(item: Item, name: string) {
  const page = z.object({
    data: z.array(item),
    has_more: z.boolean().describe('True when another page follows; pass the last id as starting_after.'),
  })
  return named(page, name, 'One page of a list, newest first.')
}

/** Idempotency-Key header format: bounded, and safe to log and to store. */
export const idempotencyKeyPattern = /^[A-Za-z0-9_\-:.]{1,255}$/
