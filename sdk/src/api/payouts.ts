import { z } from 'zod'
import {
  decimalAmountSchema,
  named,
  pageQuerySchema,
  pageSchema,
  prefixedIdSchema,
  timestampSchema,
} from './common.ts'
import { defineOperation, type ErrorSpec } from './operation.ts'

// Payout operations (docs/adr/0014-payouts-policy-and-tx-manager.md). The server's payouts module also
// parses stored policies with the policy schemas below, so they are the one definition of a policy.
const roleSchema = z.enum(['initiator', 'approver', 'treasurer', 'admin', 'auditor'])

export const payoutStatusSchema = z
  .enum([
    'requested',
    'pending_approval',
    'approved',
    'delayed',
    'queued',
    'broadcast',
    'confirmed',
    'finalized',
    'failed',
    'cancelled',
    'blocked',
  ])
  .describe('Only ever moves forward; finalized, failed, cancelled and blocked are final.')

/** A policy action on the wire (stored as-is in payout_policies). */
export const policyActionSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('allow') }),
  z.strictObject({ kind: z.literal('block'), reason: z.string().min(1).max(200) }),
  z.strictObject({
    kind: z.literal('require_approval'),
    approvals: z.int().min(1).max(10),
    role: roleSchema,
  }),
  z.strictObject({
    kind: z.literal('delay'),
    seconds: z
      .int()
      .min(1)
      .max(30 * 86_400),
  }),
])

/** A rule on the wire: amounts are decimal token units (stablecoins count 1:1 across tokens). */
export const policyRuleSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]{1,64}$/),
  match: z.strictObject({
    initiator: z
      .strictObject({
        api_key_ids: z.array(z.string()).max(100).optional(),
        roles: z.array(roleSchema).optional(),
      })
      .optional(),
    destination: z
      .discriminatedUnion('kind', [
        z.strictObject({ kind: z.literal('any') }),
        z.strictObject({ kind: z.literal('address_book') }),
        z.strictObject({ kind: z.literal('whitelisted') }),
        z.strictObject({ kind: z.literal('not_whitelisted') }),
        z.strictObject({ kind: z.literal('addresses'), addresses: z.array(z.string()).min(1).max(1000) }),
      ])
      .optional(),
    source_wallets: z
      .array(z.enum(['hot', 'cold']))
      .min(1)
      .max(2)
      .optional()
      .describe(
        'Where the payout is paid from. Payouts leave from the hot wallet; the cold wallet is watch-only.',
      ),
    networks: z.array(z.string()).max(32).optional(),
    assets: z.array(z.string()).max(64).optional(),
    amount: z
      .strictObject({ min: decimalAmountSchema.optional(), max: decimalAmountSchema.optional() })
      .optional(),
    window: z
      .strictObject({
        seconds: z
          .int()
          .min(1)
          .max(90 * 86_400),
        max_amount: decimalAmountSchema.optional(),
        max_count: z.int().min(0).optional(),
        group_by: z
          .enum(['initiator', 'destination', 'store', 'all'])
          .describe(
            'Whose payouts the window adds up: the initiator’s, to the destination, the store’s, or every store’s.',
          ),
      })
      .optional(),
    time_of_day: z
      .strictObject({ from_minute: z.int().min(0).max(1439), to_minute: z.int().min(0).max(1440) })
      .optional(),
  }),
  action: policyActionSchema,
})

const policyObject = () =>
  z.strictObject({ rules: z.array(policyRuleSchema).max(200), default_action: policyActionSchema })

export const payoutPolicySchema = named(
  policyObject(),
  'PayoutPolicy',
  'Ordered rules, first match wins; the explicit default decides when none matches.',
)
// The same shape named apart: OpenAPI renders a request schema (strict) and a response (open) differently.
const payoutPolicyInputSchema = named(policyObject(), 'PayoutPolicyInput', 'A policy to propose.')
export type PayoutPolicyWire = z.output<typeof payoutPolicySchema>

export const payoutIdSchema = prefixedIdSchema('po')
export const payoutApproverIdSchema = prefixedIdSchema('sec')
export const payoutRoleSchema = roleSchema

export const payoutSchema = named(
  z.object({
    id: payoutIdSchema,
    status: payoutStatusSchema,
    revision: z.int().describe('+1 on every change; approvals and cancellations quote it.'),
    network: z.string(),
    asset: z.string().describe('SYMBOL@network'),
    token_address: z.string(),
    destination: z.string().describe('EIP-55 address, as requested.'),
    amount: z.string().describe('Decimal amount in the asset.'),
    amount_minor: z.string().describe('The same amount in the token’s smallest units.'),
    external_reference: z.string().nullable(),
    decision: z
      .object({
        policy_version: z.int().nullable().describe('null: the built-in policy (one approval) decided.'),
        rule_id: z.string().nullable().describe('The rule that matched; null: the policy’s default.'),
        action: z.enum(['allow', 'require_approval', 'delay', 'block', 'screening']),
        reason: z.string().describe('Why, for people.'),
      })
      .describe('What decided the payout’s path: the policy rule (or the sanctions screening) and why.'),
    approvals_required: z.int(),
    approval_role: roleSchema.nullable(),
    execute_after: timestampSchema.nullable().describe('A delayed payout is sent after this time.'),
    tx_hash: z.string().nullable().describe('The mined transaction (after a replacement, the replacement).'),
    block_number: z.string().nullable(),
    error: z.string().nullable().describe('Why it failed, was blocked, or is waiting.'),
    network_fee: z
      .object({
        wei: z
          .string()
          .describe('Gas burned, in wei of the native coin (a batch item: its share of the batch).'),
        in_asset: z
          .string()
          .nullable()
          .describe(
            'The same in the payout asset (decimal, rounded down) at `rate`; null without a configured rate.',
          ),
        rate: z.string().nullable().describe('Tokens per native coin used (the configuration’s `rates`).'),
      })
      .nullable()
      .describe('What sending it cost, once its transaction is mined; null before.'),
    batch_id: z
      .string()
      .nullable()
      .describe('The BatchTransfer transaction (`pob_…`) that carries it; null for a single transfer.'),
    parent_payout_id: payoutIdSchema
      .nullable()
      .describe('Set on a canary: the payout whose new destination it proves first.'),
    canary_payout_id: payoutIdSchema
      .nullable()
      .describe(
        'Set on a payout to a never-paid address above the store’s canary threshold: its `amount` is the ' +
          'request less the canary, and it is sent only once the canary is final.',
      ),
    created_at: timestampSchema,
    updated_at: timestampSchema,
  }),
  'Payout',
  'Tokens sent from the gateway’s hot wallet on behalf of the store, reserved from its balance at request.',
)
export type PayoutWire = z.output<typeof payoutSchema>

const error = (code: string, status: number, description: string): ErrorSpec => ({
  code,
  status,
  description,
})
const payoutNotFound = error('payout-not-found', 404, 'No such payout in this store.')
const payoutOldRevision = error(
  'payout-old-revision',
  409,
  'The payout changed since the quoted revision; read it again.',
)
const payoutStatusConflict = error(
  'payout-status-conflict',
  409,
  'The payout’s status does not allow this (e.g. it is signed already).',
)
const approverErrors = [
  error('approver-not-found', 404, 'No such approver in this store.'),
  error('approval-totp-invalid', 403, 'The one-time code is wrong, expired or already used.'),
  error(
    'approval-totp-rate-limited',
    429,
    'Too many wrong one-time codes for this approver lately: every code is refused until the window passes.',
  ),
  error(
    'approver-not-eligible',
    403,
    'The approver lacks the role, is the initiator (person or key), or proposed the policy.',
  ),
]

const addressBookErrors = [
  error(
    'destination-not-in-address-book',
    403,
    'The store is in whitelist-only mode and the destination has no address-book entry for this network.',
  ),
  error(
    'destination-cooling-down',
    409,
    'The destination’s address-book entry is new and still cooling down.',
  ),
]

export const createPayout = defineOperation({
  operationId: 'createPayout',
  method: 'POST',
  path: '/v1/payouts',
  summary: 'Request a payout',
  description:
    'Reserves the amount from the store’s available balance, screens the destination and applies the ' +
    'store’s payout policy: the payout is queued, delayed, waits for approvals, or is blocked (201 either ' +
    'way; `decision` says which rule decided and why). A blocked payout keeps nothing reserved.',
  tags: ['payouts'],
  scope: 'payouts:write',
  moneyMoving: true,
  body: z.strictObject({
    network: z.string().min(1).max(32),
    asset: z.string().min(1).max(64).describe('A token symbol (USDT) or asset id (USDT@ethereum).'),
    destination: z.string().min(1).max(100).describe('EIP-55 checksummed address.'),
    amount: decimalAmountSchema,
    external_reference: z.string().min(1).max(200).optional().describe('Unique per store.'),
  }),
  response: payoutSchema,
  successStatus: 201,
  errors: [
    error('network-unknown', 422, 'The network is not configured.'),
    error('asset-unsupported', 422, 'The network has no such token.'),
    error('destination-invalid', 422, 'Not an EIP-55 checksummed EVM address (or the zero address).'),
    error('amount-invalid', 422, 'Zero, or more fraction digits than the token has.'),
    error('payout-exceeds-balance', 409, 'The store’s available balance cannot cover this payout.'),
    error('payout-reference-taken', 409, 'Another payout of this store has this external reference.'),
    ...addressBookErrors,
    error(
      'sanctions-lists-missing',
      503,
      'The operator has not imported sanctions lists; nothing is paid out unscreened.',
    ),
  ],
})

const payoutItemSchema = z.strictObject({
  network: z.string().min(1).max(32),
  asset: z.string().min(1).max(64).describe('A token symbol (USDT) or asset id (USDT@ethereum).'),
  destination: z.string().min(1).max(100).describe('EIP-55 checksummed address.'),
  amount: decimalAmountSchema,
  external_reference: z.string().min(1).max(200).optional().describe('Unique per store.'),
})

/** Largest batch request (server payout.limits.ts requestBatchItemsMax). */
export const payoutBatchItemsMax = 1_000

export const createPayoutBatch = defineOperation({
  operationId: 'createPayoutBatch',
  method: 'POST',
  path: '/v1/payouts/batch',
  summary: 'Request up to 1,000 payouts at once',
  description:
    'Each item becomes a payout with its own reservation, policy decision, states and events, exactly as ' +
    '`POST /v1/payouts` would create it; one Idempotency-Key covers the request. All or nothing at request ' +
    'time: an item that is refused refuses the request, with `body.items.<index>.<field>` as the error path. ' +
    'Queued payouts of one token on one network go out in one BatchTransfer transaction where the network ' +
    'has the contract.',
  tags: ['payouts'],
  scope: 'payouts:write',
  moneyMoving: true,
  body: z.strictObject({ items: z.array(payoutItemSchema).min(1).max(payoutBatchItemsMax) }),
  response: z.object({ data: z.array(payoutSchema) }),
  successStatus: 201,
  errors: [
    error('network-unknown', 422, 'An item’s network is not configured.'),
    error('asset-unsupported', 422, 'An item’s network has no such token.'),
    error('destination-invalid', 422, 'An item’s destination is not an EIP-55 checksummed EVM address.'),
    error('amount-invalid', 422, 'An item’s amount is zero or has more fraction digits than the token.'),
    error('payout-exceeds-balance', 409, 'The store’s available balance cannot cover the items.'),
    error(
      'payout-reference-taken',
      409,
      'An item’s external reference is taken (or repeated in the request).',
    ),
    ...addressBookErrors,
    error(
      'sanctions-lists-missing',
      503,
      'The operator has not imported sanctions lists; nothing is paid out unscreened.',
    ),
  ],
})

export const getPayout = defineOperation({
  operationId: 'getPayout',
  method: 'GET',
  path: '/v1/payouts/:id',
  summary: 'Get a payout',
  description: 'Its status, revision, policy decision and, once mined, its transaction.',
  tags: ['payouts'],
  scope: 'payouts:read',
  moneyMoving: false,
  params: z.strictObject({ id: payoutIdSchema }),
  response: payoutSchema,
  successStatus: 200,
  errors: [payoutNotFound],
})

export const listPayouts = defineOperation({
  operationId: 'listPayouts',
  method: 'GET',
  path: '/v1/payouts',
  summary: 'List payouts',
  description: 'Newest first, optionally by status.',
  tags: ['payouts'],
  scope: 'payouts:read',
  moneyMoving: false,
  query: pageQuerySchema(payoutIdSchema).extend({ status: payoutStatusSchema.optional() }),
  response: pageSchema(payoutSchema, 'PayoutPage'),
  successStatus: 200,
})

export const cancelPayout = defineOperation({
  operationId: 'cancelPayout',
  method: 'POST',
  path: '/v1/payouts/:id/cancel',
  summary: 'Cancel a payout',
  description: 'Only before it is signed (a delayed one included); the reservation is voided.',
  tags: ['payouts'],
  scope: 'payouts:write',
  moneyMoving: false,
  idempotency: 'optional',
  params: z.strictObject({ id: payoutIdSchema }),
  body: z.strictObject({
    revision: z.int().min(1).optional().describe('The revision you looked at; a changed payout answers 409.'),
  }),
  response: payoutSchema,
  successStatus: 200,
  errors: [payoutNotFound, payoutOldRevision, payoutStatusConflict],
})

const decisionBody = z.strictObject({
  revision: z.int().min(1).describe('The revision you looked at; a changed payout answers 409.'),
  approver_id: payoutApproverIdSchema.describe('The enrolled person deciding.'),
  totp_code: z.string().regex(/^[0-9]{6}$/, 'six digits'),
  reason: z.string().min(1).max(1000).optional(),
})

const decisionErrors = [
  payoutNotFound,
  payoutOldRevision,
  payoutStatusConflict,
  ...approverErrors,
  error('approval-duplicate', 409, 'This approver already decided on this payout.'),
]

export const approvePayout = defineOperation({
  operationId: 'approvePayout',
  method: 'POST',
  path: '/v1/payouts/:id/approve',
  summary: 'Approve a payout',
  description:
    'An enrolled approver with the rule’s role, confirmed by a TOTP code. Neither the person linked to the ' +
    'initiating key nor a request with the initiating key counts (403 approver-not-eligible). The quorum ' +
    'queues the payout for signing.',
  tags: ['payouts'],
  scope: 'payouts:approve',
  moneyMoving: false,
  idempotency: 'optional',
  params: z.strictObject({ id: payoutIdSchema }),
  body: decisionBody,
  response: payoutSchema,
  successStatus: 200,
  errors: decisionErrors,
})

export const rejectPayout = defineOperation({
  operationId: 'rejectPayout',
  method: 'POST',
  path: '/v1/payouts/:id/reject',
  summary: 'Reject a payout',
  description: 'One rejection by an eligible approver cancels the payout and voids its reservation.',
  tags: ['payouts'],
  scope: 'payouts:approve',
  moneyMoving: false,
  idempotency: 'optional',
  params: z.strictObject({ id: payoutIdSchema }),
  body: decisionBody,
  response: payoutSchema,
  successStatus: 200,
  errors: decisionErrors,
})

export const payoutApproverSchema = named(
  z.object({
    id: payoutApproverIdSchema,
    name: z.string(),
    roles: z.array(roleSchema),
    api_key_id: z
      .string()
      .nullable()
      .describe('The key this person uses: payouts it created they cannot approve.'),
    created_at: timestampSchema,
  }),
  'PayoutApprover',
  'A person who approves payouts and policy changes, with a TOTP second factor.',
)

export const enrolPayoutApprover = defineOperation({
  operationId: 'enrolPayoutApprover',
  method: 'POST',
  path: '/v1/payout-approvers',
  summary: 'Enrol a payout approver',
  description:
    'Returns the TOTP secret (base32, RFC 6238, 30 s, 6 digits) once: put it in an authenticator app. A ' +
    'replay with the same Idempotency-Key says which approver was created, with `totp_secret: null`.',
  tags: ['payouts'],
  scope: 'admin',
  moneyMoving: false,
  idempotency: 'optional',
  body: z.strictObject({
    name: z.string().min(1).max(200),
    roles: z.array(roleSchema).min(1).max(5),
    api_key_id: prefixedIdSchema('key').optional(),
  }),
  response: z.object({
    approver: payoutApproverSchema,
    totp_secret: z.string().nullable().describe('Shown once; null on an idempotent replay.'),
  }),
  successStatus: 201,
})

export const payoutPolicyVersionSchema = named(
  z.object({
    version: z.int().nullable().describe('null: no policy was activated; the built-in one applies.'),
    status: z.enum(['built_in', 'proposed', 'active', 'superseded', 'rejected']),
    policy: payoutPolicySchema,
    proposed_by: z.string().nullable(),
    approved_by: z.string().nullable(),
  }),
  'PayoutPolicyVersion',
  'One version of a store’s payout policy.',
)

export const getPayoutPolicy = defineOperation({
  operationId: 'getPayoutPolicy',
  method: 'GET',
  path: '/v1/payout-policy',
  summary: 'Get the active payout policy',
  description: 'The active version, or the built-in policy (every payout needs one approval) when none is.',
  tags: ['payouts'],
  scope: 'payouts:read',
  moneyMoving: false,
  response: payoutPolicyVersionSchema,
  successStatus: 200,
})

export const proposePayoutPolicy = defineOperation({
  operationId: 'proposePayoutPolicy',
  method: 'POST',
  path: '/v1/payout-policy/proposals',
  summary: 'Propose a payout policy',
  description:
    'Stores a new version as proposed, by this API key. It applies only once an approver other than the ' +
    'proposer (neither the key nor its person) approves it with a TOTP code.',
  tags: ['payouts'],
  scope: 'payouts:approve',
  moneyMoving: false,
  idempotency: 'optional',
  body: z.strictObject({ policy: payoutPolicyInputSchema }),
  response: payoutPolicyVersionSchema,
  successStatus: 201,
  errors: [error('policy-invalid', 422, 'The policy does not parse.')],
})

export const approvePayoutPolicy = defineOperation({
  operationId: 'approvePayoutPolicy',
  method: 'POST',
  path: '/v1/payout-policy/proposals/:version/approve',
  summary: 'Activate a proposed payout policy',
  description:
    'An approver or admin other than the proposer, with a TOTP code; the active version is superseded.',
  tags: ['payouts'],
  scope: 'payouts:approve',
  moneyMoving: false,
  idempotency: 'optional',
  params: z.strictObject({ version: z.string().regex(/^[1-9][0-9]{0,8}$/, 'a version number') }),
  body: z.strictObject({
    approver_id: payoutApproverIdSchema,
    totp_code: z.string().regex(/^[0-9]{6}$/, 'six digits'),
  }),
  response: payoutPolicyVersionSchema,
  successStatus: 200,
  errors: [error('policy-version-not-found', 404, 'No such proposed version.'), ...approverErrors],
})

export const panicSwitchSchema = named(
  z.object({
    network: z.string().describe('`*`: every network.'),
    engaged: z.boolean(),
  }),
  'PanicSwitch',
  'While engaged nothing is signed for the store’s payouts on the network; approved ones wait.',
)

const panicBody = z.strictObject({
  network: z.string().min(1).max(32).optional().describe('One network; every network when omitted.'),
  reason: z.string().min(1).max(1000).optional(),
})

export const engagePanic = defineOperation({
  operationId: 'engagePanic',
  method: 'POST',
  path: '/v1/panic',
  summary: 'Engage the payout panic switch',
  description:
    'Stops signing for this store’s payouts (on one network or all). Payouts already signed still settle; ' +
    'queued ones wait. Needs an admin key.',
  tags: ['payouts'],
  scope: 'admin',
  moneyMoving: false,
  body: panicBody,
  response: panicSwitchSchema,
  successStatus: 200,
  errors: [error('network-unknown', 422, 'The network is not configured.')],
})

export const releasePanic = defineOperation({
  operationId: 'releasePanic',
  method: 'DELETE',
  path: '/v1/panic',
  summary: 'Release the payout panic switch',
  description:
    'Releases the switch of this store for the network (or `*`). An operator’s gateway-wide switch is not ' +
    'released by a store key. Needs an admin key.',
  tags: ['payouts'],
  scope: 'admin',
  moneyMoving: false,
  body: panicBody,
  response: panicSwitchSchema,
  successStatus: 200,
  errors: [error('network-unknown', 422, 'The network is not configured.')],
})
