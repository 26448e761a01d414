import { z } from 'zod'
import { named, pageQuerySchema, pageSchema, prefixedIdSchema, timestampSchema } from './common.ts'
import { defineOperation, type ErrorSpec } from './operation.ts'

// Treasury operations (docs/adr/0016-signers-and-cold-wallet.md): the hot wallet against its floor and
// ceiling, the watch-only cold wallet's balance, and the proposals a treasurer decides on. Treasury state
// belongs to the gateway's operator, not to a store: only an operator store's keys and dashboard users
// (config `operatorStores`, docs/adr/0026-operator-store.md) read or decide it, with the scopes below;
// any other store gets 403 treasury-operator-only and nothing else.
const minorSchema = z
  .string()
  .regex(/^(0|[1-9][0-9]*)$/)
  .describe('An amount in the asset’s minor units, as a decimal string.')
const addressSchema = z.string().regex(/^0x[0-9a-f]{40}$/)

export const treasuryProposalIdSchema = prefixedIdSchema('tpr')
export const treasuryProposalKindSchema = z
  .enum(['topup_from_cold', 'sweep_to_cold'])
  .describe('Below the floor a top-up from cold (carried out offline); above the ceiling a sweep to cold.')
export const treasuryProposalStatusSchema = z
  .enum(['open', 'approved', 'sent', 'completed', 'failed', 'resolved', 'rejected'])
  .describe('open → approved → sent → completed | failed (sweeps); open → resolved | rejected.')

export const treasuryProposalSchema = named(
  z.object({
    id: treasuryProposalIdSchema,
    kind: treasuryProposalKindSchema,
    status: treasuryProposalStatusSchema,
    revision: z.int().min(1).describe('Quote it when approving; any change increments it.'),
    network: z.string(),
    asset: z.string(),
    token_address: addressSchema,
    hot_wallet_address: addressSchema,
    cold_address: addressSchema,
    amount_minor: minorSchema,
    hot_balance_minor: minorSchema.describe('The hot wallet’s balance when the proposal was made.'),
    floor_minor: minorSchema,
    ceiling_minor: minorSchema,
    decided_by: z.string().nullable(),
    decided_at: timestampSchema.nullable(),
    tx_hash: z.string().nullable(),
    block_number: z.string().nullable(),
    error: z.string().nullable(),
    created_at: timestampSchema,
    updated_at: timestampSchema,
  }),
  'TreasuryProposal',
  'A top-up from cold or a sweep to cold proposed by the periodic floor/ceiling check.',
)
export type TreasuryProposalWire = z.infer<typeof treasuryProposalSchema>

export const treasuryBalanceSchema = named(
  z.object({
    network: z.string(),
    asset: z.string(),
    wallet: z.enum(['hot', 'cold']),
    address: addressSchema,
    balance_minor: minorSchema,
    floor_minor: minorSchema.nullable(),
    ceiling_minor: minorSchema.nullable(),
    observed_at: timestampSchema,
  }),
  'TreasuryBalance',
  'The last on-chain balance read of the hot or the (watch-only) cold wallet.',
)
export type TreasuryBalanceWire = z.infer<typeof treasuryBalanceSchema>

const error = (code: string, status: number, description: string): ErrorSpec => ({
  code,
  status,
  description,
})

const operatorOnlyError = error(
  'treasury-operator-only',
  403,
  'The treasury belongs to the gateway’s operator: only an operator store’s keys and users see or decide it.',
)

export const listTreasuryProposals = defineOperation({
  operationId: 'listTreasuryProposals',
  method: 'GET',
  path: '/v1/treasury/proposals',
  summary: 'List treasury proposals',
  description: 'Newest first, optionally by status. At most one open proposal per network, asset and kind.',
  tags: ['treasury'],
  scope: 'payouts:read',
  moneyMoving: false,
  query: pageQuerySchema(treasuryProposalIdSchema).extend({
    status: treasuryProposalStatusSchema.optional(),
  }),
  response: pageSchema(treasuryProposalSchema, 'TreasuryProposalPage'),
  successStatus: 200,
  errors: [operatorOnlyError],
})

export const listTreasuryBalances = defineOperation({
  operationId: 'listTreasuryBalances',
  method: 'GET',
  path: '/v1/treasury/balances',
  summary: 'Hot and cold wallet balances',
  description: 'The last balances the treasury watch read (every minute), with the hot wallet’s band.',
  tags: ['treasury'],
  scope: 'payouts:read',
  moneyMoving: false,
  response: z.object({ data: z.array(treasuryBalanceSchema) }),
  successStatus: 200,
  errors: [operatorOnlyError],
})

const treasuryDecisionBody = z.strictObject({
  revision: z.int().min(1).describe('The revision you looked at; a changed proposal answers 409.'),
  approver_id: prefixedIdSchema('sec').describe('The enrolled treasurer (or admin) deciding.'),
  totp_code: z.string().regex(/^[0-9]{6}$/, 'six digits'),
})

const treasuryDecisionErrors = [
  operatorOnlyError,
  error('treasury-proposal-not-found', 404, 'No such treasury proposal.'),
  error('treasury-proposal-old-revision', 409, 'The proposal changed since the quoted revision.'),
  error('treasury-proposal-not-approvable', 409, 'Decided already, or a top-up (carried out offline).'),
  error('approval-totp-invalid', 403, 'The one-time code is wrong, expired or already used.'),
  error(
    'approval-totp-rate-limited',
    429,
    'Too many wrong one-time codes for this approver lately: every code is refused until the window passes.',
  ),
  error('approver-not-eligible', 403, 'Only a treasurer or admin of this store decides treasury moves.'),
]

export const approveTreasuryProposal = defineOperation({
  operationId: 'approveTreasuryProposal',
  method: 'POST',
  path: '/v1/treasury/proposals/:id/approve',
  summary: 'Approve a sweep to cold',
  description:
    'A treasurer confirms with a TOTP code; the next treasury run signs the sweep through the network’s ' +
    'signer and sends it to the configured cold address.',
  tags: ['treasury'],
  scope: 'payouts:approve',
  moneyMoving: false,
  idempotency: 'optional',
  params: z.strictObject({ id: treasuryProposalIdSchema }),
  body: treasuryDecisionBody,
  response: treasuryProposalSchema,
  successStatus: 200,
  errors: treasuryDecisionErrors,
})

export const rejectTreasuryProposal = defineOperation({
  operationId: 'rejectTreasuryProposal',
  method: 'POST',
  path: '/v1/treasury/proposals/:id/reject',
  summary: 'Reject a treasury proposal',
  description:
    'Closes an open proposal; the next check proposes again if the balance is still outside the band.',
  tags: ['treasury'],
  scope: 'payouts:approve',
  moneyMoving: false,
  idempotency: 'optional',
  params: z.strictObject({ id: treasuryProposalIdSchema }),
  body: treasuryDecisionBody,
  response: treasuryProposalSchema,
  successStatus: 200,
  errors: treasuryDecisionErrors,
})
