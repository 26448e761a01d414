import { z } from 'zod'
import { named, prefixedIdSchema, timestampSchema } from './common.ts'

/** Request metadata: flat string pairs, bounded (Stripe's limits) so a store cannot bloat our rows. */
export const metadataSchema = z
  .record(z.string().min(1).max(40), z.string().max(500))
  .refine((value) => Object.keys(value).length <= 50, 'at most 50 keys')
  .refine((value) => JSON.stringify(value).length <= 8_192, 'at most 8 KiB')
  .describe('Your own key/value pairs (at most 50 keys of ≤ 40 characters, values ≤ 500, 8 KiB in all).')

export const paymentStatusSchema = z
  .enum(['detected', 'confirmed', 'finalized', 'orphaned', 'held', 'unsupported', 'dust'])
  .describe(
    'detected (in a block; shown as initiated) → confirmed (pending finality) → finalized (credited). ' +
      'orphaned: its block was replaced by a reorg. held: sender on a sanctions list, not credited. ' +
      'unsupported: a token that is not configured. dust: zero or below 0.01 token, possible address poisoning.',
  )

export const paymentSchema = named(
  z.object({
    id: prefixedIdSchema('pay'),
    network: z.string(),
    chain_id: z.int(),
    asset: z.string().nullable().describe('SYMBOL@network; null for a token that is not configured.'),
    amount: z.string().nullable().describe('Decimal amount in the asset; null when the asset is unknown.'),
    amount_minor: z.string().describe('Exact amount in the token’s smallest units.'),
    token_address: z.string(),
    status: paymentStatusSchema,
    tx_hash: z.string(),
    log_index: z.int(),
    block_number: z.string(),
    from: z.string(),
    to: z.string(),
    detected_at: timestampSchema,
    confirmed_at: timestampSchema.nullable(),
    finalized_at: timestampSchema.nullable(),
  }),
  'Payment',
  'An on-chain token transfer to one of the store’s deposit addresses.',
)

export type PaymentWire = z.output<typeof paymentSchema>

export const depositAddressSchema = named(
  z.object({
    network: z.string(),
    chain_id: z.int(),
    address: z.string().describe('The same EVM address on every EVM network.'),
    assets: z.array(
      z.object({ asset: z.string(), symbol: z.string(), decimals: z.int(), contract_address: z.string() }),
    ),
  }),
  'DepositAddress',
  'Where to send tokens on one network.',
)
