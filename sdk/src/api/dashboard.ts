import { z } from 'zod'
import { apiScopeSchema, named, timestampSchema } from './common.ts'
import { defineOperation, type ErrorSpec } from './operation.ts'
import { payoutApproverIdSchema, payoutIdSchema, payoutRoleSchema, payoutSchema } from './payouts.ts'

// The operator dashboard's own operations (docs/adr/0017-dashboard-sessions-and-live-updates.md). The
// dashboard otherwise calls the public API's operations (invoices, payouts, keys…) with its session
// cookie instead of an API key; these add what only a signed-in person needs: signing in and out, who
// they are, and the installation's view (networks, on-chain balances). They are not part of the merchant
// API (apiContract) nor of its OpenAPI document.

const error = (code: string, status: number, description: string): ErrorSpec => ({
  code,
  status,
  description,
})

const sessionErrors = [
  error('session-required', 401, 'No session cookie: sign in first.'),
  error('session-invalid', 401, 'The session is unknown, signed out, expired or idle too long.'),
  error('role-missing', 403, 'Your roles do not allow this.'),
]

export const dashboardSessionSchema = named(
  z.object({
    approver_id: payoutApproverIdSchema,
    name: z.string(),
    login: z.string(),
    roles: z.array(payoutRoleSchema),
    scopes: z.array(apiScopeSchema).describe('What the roles allow, as API scopes.'),
    store_id: z.string(),
    store_name: z.string(),
    operator_store: z
      .boolean()
      .describe('Whether the store acts for the gateway’s operator: only then are treasury data shown.'),
    expires_at: timestampSchema,
    passkeys: z.int().min(0).describe('How many passkeys the person has registered.'),
  }),
  'DashboardSession',
  'The signed-in person.',
)

export type DashboardSessionWire = z.output<typeof dashboardSessionSchema>

export const signInBodySchema = z.strictObject({
  login: z.string().min(1).max(100),
  // Bounded here too: the server hashes what it gets, so a stranger must not send it megabytes.
  password: z.string().min(1).max(1024),
  totp_code: z.string().regex(/^[0-9]{6}$/, 'six digits'),
})

/**
 * Sets the HttpOnly session cookie; the token never appears in a body. Served outside the contract
 * pipeline (it sets a cookie) from these schemas; public, and rate-limited per login and per address.
 */
export const signInDashboard = defineOperation({
  operationId: 'signInDashboard',
  method: 'POST',
  path: '/v1/public/dashboard/sign-in',
  summary: 'Sign in to the dashboard',
  description: 'Password and TOTP code; answers the session and sets its cookie.',
  tags: ['dashboard'],
  scope: 'public',
  moneyMoving: false,
  body: signInBodySchema,
  response: dashboardSessionSchema,
  successStatus: 200,
  errors: [
    error('sign-in-failed', 401, 'The login, password or TOTP code is wrong (one answer for all three).'),
    error('sign-in-rate-limited', 429, 'Too many failed sign-ins for this login; wait Retry-After seconds.'),
  ],
})

export const signOutDashboard = defineOperation({
  operationId: 'signOutDashboard',
  method: 'POST',
  path: '/v1/dashboard/sign-out',
  summary: 'Sign out of the dashboard',
  description: 'Ends the session and clears its cookie; signing out twice is not an error.',
  tags: ['dashboard'],
  scope: null,
  moneyMoving: false,
  response: z.object({ signed_out: z.literal(true) }),
  successStatus: 200,
})

export const getDashboardSession = defineOperation({
  operationId: 'getDashboardSession',
  method: 'GET',
  path: '/v1/dashboard/session',
  summary: 'The signed-in person',
  description: 'Name, roles (and the scopes they grant), store and session expiry.',
  tags: ['dashboard'],
  scope: null,
  moneyMoving: false,
  response: dashboardSessionSchema,
  successStatus: 200,
  errors: sessionErrors,
})

const blockNumberSchema = z.string().regex(/^[0-9]+$/)

export const networkStatusSchema = named(
  z.object({
    name: z.string(),
    chain_id: z.int(),
    healthy: z.boolean(),
    head_block: blockNumberSchema.nullable().describe('Latest block of the RPC in use.'),
    scanned_block: blockNumberSchema.nullable().describe('Highest block the watcher has scanned.'),
    lag_blocks: blockNumberSchema.nullable().describe('head_block − scanned_block (0 when ahead).'),
    rpc_in_use: z.string().nullable().describe('Scheme and host of the first healthy RPC URL.'),
    rpc_urls: z.array(
      z.object({
        url: z.string().describe('Scheme and host only: RPC URLs often carry API keys.'),
        healthy: z.boolean(),
        head_block: blockNumberSchema.nullable(),
        problem: z.string().nullable(),
      }),
    ),
    crediting_halted: z.string().nullable().describe('Why crediting stopped (a reorg beyond finality).'),
    panic_engaged: z.boolean().describe("Whether the store's panic switch covers this network."),
    block_time_ms: z.int(),
    finality: z.string().describe('"finalized tag" or "N confirmations".'),
  }),
  'NetworkStatus',
  "One network's health as the dashboard shows it.",
)

export const onChainBalanceSchema = named(
  z.object({
    asset: z.string(),
    network: z.string(),
    symbol: z.string(),
    address: z.string().nullable().describe('The hot wallet; null until the first sweep names it.'),
    balance: z.string().nullable().describe('Decimal token balance on chain; null when unknown.'),
    problem: z.string().nullable(),
  }),
  'OnChainBalance',
  "The hot wallet's token balance read from the chain, to set beside the ledger (operator stores only).",
)

export const dashboardOverviewSchema = named(
  z.object({
    networks: z.array(networkStatusSchema),
    on_chain: z
      .array(onChainBalanceSchema)
      .describe(
        'The gateway’s hot wallet on chain: treasury data, so empty unless the store is an operator store.',
      ),
    panic_all_networks: z.boolean(),
  }),
  'DashboardOverview',
  'Network health, on-chain balances and the panic switch.',
)

export type DashboardOverviewWire = z.output<typeof dashboardOverviewSchema>
export type NetworkStatusWire = z.output<typeof networkStatusSchema>

export const getDashboardOverview = defineOperation({
  operationId: 'getDashboardOverview',
  method: 'GET',
  path: '/v1/dashboard/overview',
  summary: 'Networks and on-chain balances',
  description:
    'Each network: head, scanned block, lag, RPC in use, halts, panic; the hot wallet on chain (for an ' +
    'operator store only: another store gets an empty list).',
  tags: ['dashboard'],
  scope: 'ledger:read',
  moneyMoving: false,
  response: dashboardOverviewSchema,
  successStatus: 200,
  errors: sessionErrors,
})

/** GET: server-sent events for the dashboard (`change` events name the outbox event's type and subject). */
export const dashboardStreamPath = '/v1/dashboard/stream'

export const dashboardChangeSchema = z.object({
  type: z.string(),
  subject_id: z.string().nullable(),
  created_at: timestampSchema,
})

export type DashboardChangeWire = z.output<typeof dashboardChangeSchema>

// ---- Passkeys (WebAuthn), docs/adr/0019-passkeys.md ----------------------------------------------------
// The gateway sends the options navigator.credentials.create/get take (as JSON: binary fields are
// base64url), and receives the credential's JSON back. Every challenge is single-use, expires after
// 5 minutes, and for approvals is bound to the exact action.

const base64urlSchema = (maximum: number) =>
  z
    .string()
    .max(maximum)
    .regex(/^[A-Za-z0-9_-]*$/, 'base64url')

const credentialIdSchema = base64urlSchema(1364).min(16)

const passkeyErrors = [
  error('passkey-challenge-unknown', 403, 'The response answers a challenge this gateway never issued.'),
  error('passkey-challenge-used', 403, 'The challenge was used already (a replay); ask for a new one.'),
  error('passkey-challenge-expired', 403, 'The challenge is older than 5 minutes; ask for a new one.'),
  error(
    'passkey-challenge-mismatch',
    403,
    'The challenge was issued for another purpose, person, payout, revision, decision or origin.',
  ),
  error(
    'passkey-invalid',
    403,
    'Origin, relying party, user verification or signature do not check; `errors` names the part.',
  ),
  error('passkey-unknown', 403, 'The credential is not a registered passkey of this person.'),
  error(
    'passkey-counter-regressed',
    403,
    'The signature counter did not increase: refused and reported (a cloned authenticator?).',
  ),
]

/** PublicKeyCredentialCreationOptionsJSON; fields the gateway does not name pass through unchanged. */
export const passkeyCreationOptionsSchema = named(
  z.looseObject({
    challenge: z.string(),
    rp: z.looseObject({ name: z.string(), id: z.string().optional() }),
    user: z.looseObject({ id: z.string(), name: z.string(), displayName: z.string() }),
    pubKeyCredParams: z.array(z.looseObject({ alg: z.int(), type: z.literal('public-key') })),
  }),
  'PasskeyCreationOptions',
  'Options for navigator.credentials.create (WebAuthn JSON encoding).',
)

/** PublicKeyCredentialRequestOptionsJSON. */
export const passkeyRequestOptionsSchema = named(
  z.looseObject({ challenge: z.string() }),
  'PasskeyRequestOptions',
  'Options for navigator.credentials.get (WebAuthn JSON encoding).',
)

export const passkeyRegistrationResponseSchema = z.object({
  id: credentialIdSchema,
  rawId: credentialIdSchema,
  type: z.literal('public-key'),
  response: z.object({
    clientDataJSON: base64urlSchema(8192),
    attestationObject: base64urlSchema(65_536),
    transports: z.array(z.string().max(32)).max(10).optional(),
  }),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.record(z.string(), z.unknown()),
})

export const passkeyAssertionSchema = z.object({
  id: credentialIdSchema,
  rawId: credentialIdSchema,
  type: z.literal('public-key'),
  response: z.object({
    clientDataJSON: base64urlSchema(8192),
    authenticatorData: base64urlSchema(8192),
    signature: base64urlSchema(1024),
    userHandle: base64urlSchema(1024).optional(),
  }),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.record(z.string(), z.unknown()),
})

export const passkeySchema = named(
  z.object({
    id: z.string(),
    label: z.string(),
    transports: z.array(z.string()),
    created_at: timestampSchema,
    last_used_at: timestampSchema.nullable(),
    counter_regressed_at: timestampSchema
      .nullable()
      .describe('When an assertion came with a counter that did not increase (a cloned authenticator?).'),
  }),
  'Passkey',
  'A registered passkey of the signed-in person.',
)

export type PasskeyWire = z.output<typeof passkeySchema>

const passkeyIdSchema = z.string().regex(/^psk_[0-9A-HJKMNP-TV-Z]{26}$/, 'a passkey id')

export const startPasskeyRegistration = defineOperation({
  operationId: 'startPasskeyRegistration',
  method: 'POST',
  path: '/v1/dashboard/passkeys/registration-options',
  summary: 'Start registering a passkey',
  description: 'Creation options with a fresh challenge for the signed-in person (discoverable, verified).',
  tags: ['dashboard'],
  scope: null,
  moneyMoving: false,
  response: passkeyCreationOptionsSchema,
  successStatus: 200,
  errors: [
    ...sessionErrors,
    error('passkey-limit-reached', 409, 'The person has the most passkeys allowed (10).'),
    error('passkey-challenges-exhausted', 503, 'Too many open challenges; retry in a few minutes.'),
  ],
})

export const registerPasskey = defineOperation({
  operationId: 'registerPasskey',
  method: 'POST',
  path: '/v1/dashboard/passkeys',
  summary: 'Register a passkey',
  description: 'Verifies the new credential (attestation "none" is enough) and stores it under a label.',
  tags: ['dashboard'],
  scope: null,
  moneyMoving: false,
  body: z.strictObject({
    label: z.string().trim().min(1).max(100),
    credential: passkeyRegistrationResponseSchema,
  }),
  response: passkeySchema,
  successStatus: 201,
  errors: [
    ...sessionErrors,
    ...passkeyErrors,
    error('passkey-limit-reached', 409, 'The person has the most passkeys allowed (10).'),
    error('passkey-already-registered', 409, 'This credential is registered already.'),
  ],
})

export const listPasskeys = defineOperation({
  operationId: 'listPasskeys',
  method: 'GET',
  path: '/v1/dashboard/passkeys',
  summary: 'Your passkeys',
  description: 'The signed-in person’s passkeys, oldest first (at most 10).',
  tags: ['dashboard'],
  scope: null,
  moneyMoving: false,
  response: z.object({ data: z.array(passkeySchema) }),
  successStatus: 200,
  errors: sessionErrors,
})

export const passkeyActionSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('payout-decision'),
    payout_id: payoutIdSchema,
    revision: z.int().min(1),
    decision: z.enum(['approve', 'reject']),
  }),
  z.strictObject({ kind: z.literal('policy-activation'), version: z.int().min(1) }),
  z.strictObject({ kind: z.literal('remove-passkey'), passkey_id: passkeyIdSchema }),
])

export const startPasskeyAssertion = defineOperation({
  operationId: 'startPasskeyAssertion',
  method: 'POST',
  path: '/v1/dashboard/passkeys/assertion-options',
  summary: 'Start confirming an action with a passkey',
  description:
    'Request options whose challenge is bound to the person and the action (a payout, its revision and ' +
    'the decision; a policy version; a passkey to remove): the assertion is good for nothing else.',
  tags: ['dashboard'],
  scope: null,
  moneyMoving: false,
  body: z.strictObject({ action: passkeyActionSchema }),
  response: passkeyRequestOptionsSchema,
  successStatus: 200,
  errors: [
    ...sessionErrors,
    error('passkey-none', 409, 'The person has no passkey registered.'),
    error('passkey-challenges-exhausted', 503, 'Too many open challenges; retry in a few minutes.'),
  ],
})

export const removePasskey = defineOperation({
  operationId: 'removePasskey',
  method: 'POST',
  path: '/v1/dashboard/passkeys/:id/remove',
  summary: 'Remove a passkey',
  description: 'Needs a fresh second factor: a TOTP code, or an assertion bound to removing this passkey.',
  tags: ['dashboard'],
  scope: null,
  moneyMoving: false,
  params: z.strictObject({ id: passkeyIdSchema }),
  body: z.union([
    z.strictObject({ totp_code: z.string().regex(/^[0-9]{6}$/, 'six digits') }),
    z.strictObject({ assertion: passkeyAssertionSchema }),
  ]),
  response: z.object({ removed: z.literal(true) }),
  successStatus: 200,
  errors: [
    ...sessionErrors,
    ...passkeyErrors,
    error('second-factor-invalid', 403, 'The one-time code is wrong, expired or already used.'),
    error('passkey-not-found', 404, 'You have no such passkey.'),
  ],
})

export const decidePayoutWithPasskey = defineOperation({
  operationId: 'decidePayoutWithPasskey',
  method: 'POST',
  path: '/v1/dashboard/payouts/:id/decide-with-passkey',
  summary: 'Approve or reject a payout with a passkey',
  description:
    'As approvePayout/rejectPayout, with an assertion (from startPasskeyAssertion for this payout, revision ' +
    'and decision) instead of a TOTP code. The revision and initiator rules are the same.',
  tags: ['dashboard'],
  scope: 'payouts:approve',
  moneyMoving: false,
  params: z.strictObject({ id: payoutIdSchema }),
  body: z.strictObject({
    revision: z.int().min(1),
    decision: z.enum(['approve', 'reject']),
    reason: z.string().min(1).max(1000).optional(),
    assertion: passkeyAssertionSchema,
  }),
  response: payoutSchema,
  successStatus: 200,
  errors: [
    ...sessionErrors,
    ...passkeyErrors,
    error('payout-not-found', 404, 'No such payout in this store.'),
    error('payout-old-revision', 409, 'The payout changed since that revision.'),
    error('payout-status-conflict', 409, 'The payout is not waiting for approval.'),
    error('approver-not-eligible', 403, 'The initiator cannot approve; approvers need the rule’s role.'),
    error('approval-duplicate', 409, 'You already decided on this payout.'),
  ],
})

export const activatePolicyWithPasskey = defineOperation({
  operationId: 'activatePolicyWithPasskey',
  method: 'POST',
  path: '/v1/dashboard/payout-policy/proposals/:version/activate-with-passkey',
  summary: 'Activate a proposed payout policy with a passkey',
  description: 'As approvePayoutPolicy, with an assertion bound to this version instead of a TOTP code.',
  tags: ['dashboard'],
  scope: 'payouts:approve',
  moneyMoving: false,
  params: z.strictObject({ version: z.string().regex(/^[1-9][0-9]{0,8}$/, 'a version number') }),
  body: z.strictObject({ assertion: passkeyAssertionSchema }),
  response: z.object({ version: z.int(), status: z.literal('active') }),
  successStatus: 200,
  errors: [
    ...sessionErrors,
    ...passkeyErrors,
    error('policy-version-not-found', 404, 'No such proposed version.'),
    error('approver-not-eligible', 403, 'The proposer cannot activate; needs an approver or admin.'),
  ],
})

/** Public, plain route (rate-limited per address): request options for a discoverable passkey. */
export const startPasskeySignIn = defineOperation({
  operationId: 'startPasskeySignIn',
  method: 'POST',
  path: '/v1/public/dashboard/passkey-sign-in/options',
  summary: 'Start signing in with a passkey',
  description:
    'Request options with a fresh challenge; the browser offers the passkeys it has for this site.',
  tags: ['dashboard'],
  scope: 'public',
  moneyMoving: false,
  response: passkeyRequestOptionsSchema,
  successStatus: 200,
  errors: [
    error('sign-in-rate-limited', 429, 'Too many sign-ins from this address; wait Retry-After seconds.'),
    error('passkey-challenges-exhausted', 503, 'Too many open sign-in challenges; retry or use a password.'),
  ],
})

/** Public, plain route: a verified passkey (user verification required) signs in and sets the cookie. */
export const signInWithPasskey = defineOperation({
  operationId: 'signInWithPasskey',
  method: 'POST',
  path: '/v1/public/dashboard/passkey-sign-in',
  summary: 'Sign in with a passkey',
  description:
    'Counts as password and TOTP together: the authenticator verified the person (PIN, biometrics).',
  tags: ['dashboard'],
  scope: 'public',
  moneyMoving: false,
  body: z.strictObject({ assertion: passkeyAssertionSchema }),
  response: dashboardSessionSchema,
  successStatus: 200,
  errors: [
    ...passkeyErrors,
    error('sign-in-failed', 401, 'The passkey’s person can no longer sign in.'),
    error('sign-in-rate-limited', 429, 'Too many sign-ins from this address; wait Retry-After seconds.'),
  ],
})

/** Operations the dashboard server binds through the contract pipeline (sign-in/out are plain routes). */
export const dashboardContract = {
  getDashboardSession,
  getDashboardOverview,
  startPasskeyRegistration,
  registerPasskey,
  listPasskeys,
  startPasskeyAssertion,
  removePasskey,
  decidePayoutWithPasskey,
  activatePolicyWithPasskey,
} as const
export const dashboardOperations = Object.values(dashboardContract)
