import { z } from 'zod'
import { named, pageQuerySchema, pageSchema, timestampSchema } from './common.ts'
import { defineOperation } from './operation.ts'

/**
 * The store's ledger, read-only: its spendable balance per asset and the statement behind it. Amounts are
 * decimal strings in the asset's units, written with the asset's decimals and no trailing zeros.
 */

/** `SYMBOL@network`, e.g. `USDT@ethereum`; the same rule as the server's ledger asset ids. */
export const assetIdPattern = /^[A-Za-z0-9.-]{1,16}@[a-z][a-z0-9-]{0,31}$/

export const assetIdSchema = z
  .string()
  .regex(assetIdPattern, 'must be an asset id like "USDT@ethereum"')
  .describe('Asset id, "SYMBOL@network", e.g. "USDT@ethereum".')

/**
 * Ledger transfer ids are chosen by the gateway (`payment:pay_…`, `expire:…`), not prefixed ULIDs; the
 * server's rule: a letter or digit, then up to 107 of [A-Za-z0-9_:.@-].
 */
export const transferIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_:.@-]{0,107}$/, 'must be a transfer id from a statement line')
  .describe('Ledger transfer id.')

/** A balance can be written negative in principle; the ledger forbids it for spendable accounts. */
const balanceAmountSchema = z
  .string()
  .regex(/^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/)
  .describe('Decimal amount as a string, e.g. "12.5".')

export const balanceSchema = named(
  z.object({
    asset: assetIdSchema,
    network: z.string().describe('Network name, as configured ("ethereum", "bsc", …).'),
    symbol: z.string(),
    decimals: z.int().min(0),
    available: balanceAmountSchema.describe(
      'Posted balance less outgoing reservations: what can be paid out.',
    ),
    posted: balanceAmountSchema.describe('Settled balance.'),
    pending_incoming: balanceAmountSchema.describe('Reserved incoming transfers, not yet posted.'),
    pending_outgoing: balanceAmountSchema.describe('Reserved outgoing transfers (e.g. payouts in flight).'),
  }),
  'Balance',
  "The store's spendable balance of one asset.",
)

export const balanceListSchema = named(
  z.object({ data: z.array(balanceSchema) }),
  'BalanceList',
  'One balance per configured asset, zero where the store has none.',
)

export const statementLineSchema = named(
  z.object({
    transfer_id: transferIdSchema,
    kind: z
      .enum(['single', 'pending', 'post', 'void', 'expire'])
      .describe(
        'single: posted at once; pending: a reservation; post: a reservation posted; void/expire: a ' +
          'reservation released.',
      ),
    direction: z.enum(['in', 'out']).describe('in: towards the store; out: away from it.'),
    amount: balanceAmountSchema.describe('Posted, reserved or released amount, by kind; never negative.'),
    code: z.string().describe('Why the transfer happened ("deposit", "payout", "payout-fee", …).'),
    metadata: z.record(z.string(), z.string()).describe('References such as payment_id or tx_hash.'),
    created_at: timestampSchema,
    balance_after: balanceAmountSchema.describe('Posted balance right after this line.'),
    available_after: balanceAmountSchema.describe('Available balance right after this line.'),
  }),
  'StatementLine',
  'One ledger transfer that touched the balance.',
)

export type Balance = z.output<typeof balanceSchema>
export type StatementLine = z.output<typeof statementLineSchema>

export const listBalances = defineOperation({
  operationId: 'listBalances',
  method: 'GET',
  path: '/v1/balances',
  summary: "List the store's balances",
  description: 'One entry per asset the gateway is configured for, in configuration order.',
  tags: ['balances'],
  scope: 'ledger:read',
  moneyMoving: false,
  response: balanceListSchema,
  successStatus: 200,
})

export const getBalanceStatement = defineOperation({
  operationId: 'getBalanceStatement',
  method: 'GET',
  path: '/v1/balances/:asset/statement',
  summary: 'Get the statement of one balance',
  description:
    'The transfers behind a balance, OLDEST first (a statement reads forward, and each line carries the ' +
    'balance after it); `starting_after` is the transfer_id of the last line seen.',
  tags: ['balances'],
  scope: 'ledger:read',
  moneyMoving: false,
  params: z.strictObject({ asset: assetIdSchema }),
  query: pageQuerySchema(transferIdSchema),
  response: pageSchema(statementLineSchema, 'StatementPage'),
  successStatus: 200,
  errors: [
    {
      code: 'asset-not-found',
      status: 404,
      description: 'The gateway is not configured for this asset.',
    },
  ],
})
