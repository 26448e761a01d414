import { type PayoutPolicyWire, payoutPolicySchema } from '@sluice/sdk/api/payouts'
import { MoneyError, parseUnits } from '@sluice/sdk/money'
import type { NetworkConfig } from '../../config/config.types.ts'
import type { Pool, PoolClient, Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { AppError, isAppError } from '../../lib/errors.ts'
import { newId } from '../../lib/ids.ts'
import { recordEvent } from '../events/event.service.ts'
import { screenAddress } from '../sanctions/sanction.service.ts'
import { checkEvmDestination } from './payout.address.ts'
import { canaryAmountFor, checkDestinationAllowed, getPayoutSettings } from './payout.book.ts'
import * as errors from './payout.errors.ts'
import { reservePayout, voidReservation } from './payout.ledger.ts'
import { payoutLimits } from './payout.limits.ts'
import {
  approverCounts,
  builtInPolicy,
  evaluatePolicy,
  type Policy,
  type PolicyAction,
  type PolicyRule,
  scaledAmount,
  type WindowUsage,
} from './payout.policy.ts'
import * as repo from './payout.repo.ts'
import { canTransition, transition } from './payout.state.ts'
import { newTotpSecret, verifyTotp } from './payout.totp.ts'
import type { Payout, PayoutApprover, PayoutRole, PayoutStatus } from './payout.types.ts'

/**
 * Payouts: requests with their ledger reservation, policy decisions, approvals with TOTP, cancellation,
 * policy versions, panic switches. The transaction manager (signing) is payout.send.ts, signer side only.
 */

export type PayoutContext = Readonly<{ networks: readonly NetworkConfig[]; now: () => Date }>

export type CreatePayoutInput = Readonly<{
  merchantId: string
  apiKeyId: string
  network: string
  /** A token symbol (`USDT`) or asset id (`USDT@ethereum`). */
  asset: string
  destination: string
  amount: string
  externalReference?: string | undefined
}>

function resolveAsset(input: CreatePayoutInput, context: PayoutContext) {
  const network = context.networks.find((candidate) => candidate.name === input.network)
  if (network === undefined) throw errors.payoutNetworkUnknown(input.network)
  const symbol = input.asset.endsWith(`@${network.name}`) ? input.asset.split('@')[0] : input.asset
  const token = network.tokens.find((candidate) => candidate.symbol === symbol)
  if (token === undefined) throw errors.payoutAssetUnsupported(input.asset, network.name)
  return { network, token, assetId: `${token.symbol}@${network.name}` }
}

function parseAmount(text: string, decimals: number): bigint {
  try {
    const amount = parseUnits(text, decimals)
    if (amount <= 0n) throw errors.payoutAmountInvalid('the amount must be positive')
    return amount
  } catch (error) {
    if (error instanceof MoneyError) throw errors.payoutAmountInvalid(error.message)
    throw error
  }
}

/**
 * Creates a payout in the caller's transaction: validates the destination, reserves the amount, screens
 * the destination and applies the store's policy. A blocked payout is stored (and its reservation voided)
 * so the refusal is on record and the idempotent response says why.
 */
export async function createPayout(
  client: PoolClient,
  input: CreatePayoutInput,
  context: PayoutContext,
): Promise<Payout> {
  const { network, token, assetId } = resolveAsset(input, context)
  const check = checkEvmDestination(input.destination)
  if (!check.ok) throw errors.destinationInvalid(check.reason)
  const amount = parseAmount(input.amount, token.decimals)
  const policy = await lockPolicyWindows(client, input.merchantId)
  const reference = input.externalReference ?? null
  if (reference !== null && (await repo.selectPayoutByReference(client, input.merchantId, reference)))
    throw errors.payoutReferenceTaken()
  const now = context.now()
  // Address book: whitelist-only mode and the cooldown of new entries (payout.book.ts).
  const settings = await getPayoutSettings(client, input.merchantId)
  await checkDestinationAllowed(
    client,
    { merchantId: input.merchantId, network: network.name, destination: input.destination, now },
    settings,
  )
  // A canary takes its share of the request out of this payout's reservation: two reservations that add up
  // to the requested amount, so the ledger stays exact whatever happens to either (docs/adr/0015).
  const canary = await canaryAmountFor(
    client,
    { merchantId: input.merchantId, destination: input.destination, amount, decimals: token.decimals },
    settings,
  )
  const id = newId('po')
  const reservationId = `payout-reserve:${id}`
  const own = amount - canary
  await reservePayout(client, {
    reservationId,
    payoutId: id,
    merchantId: input.merchantId,
    assetId,
    amount: own,
  })
  const payout = await repo.insertPayout(client, {
    id,
    merchantId: input.merchantId,
    network: network.name,
    assetId,
    tokenAddress: token.contractAddress,
    decimals: token.decimals,
    destination: input.destination,
    amount: own,
    amountScaled: scaledAmount(own, token.decimals),
    externalReference: reference,
    initiatorApiKeyId: input.apiKeyId,
    reservationId,
  })
  await repo.insertAudit(client, {
    merchantId: input.merchantId,
    subjectId: id,
    action: 'payout.requested',
    actor: input.apiKeyId,
    detail: {
      amount: amount.toString(),
      asset: assetId,
      destination: input.destination,
      ...(canary > 0n ? { canary_amount: canary.toString() } : {}),
    },
  })
  const screening = await screenAddress(client, input.destination)
  if (screening.hit) return await blockPayout(client, payout, 'destination-sanctioned', 'screening')
  // The policy judges the whole request, canary included.
  const decided = await applyPolicy(client, payout, now, policy, scaledAmount(amount, token.decimals))
  if (canary === 0n || decided.status === 'blocked') return decided
  return await attachCanary(client, decided, canary)
}

/**
 * Creates the canary of `parent`: its own payout row (parent_payout_id) with its own reservation, queued at
 * once; the transaction manager sends it only when the parent is approved, and the parent only when the
 * canary is final (payout.send.ts checkReadiness).
 */
async function attachCanary(client: PoolClient, parent: Payout, amount: bigint): Promise<Payout> {
  const id = newId('po')
  const reservationId = `payout-reserve:${id}`
  await reservePayout(client, {
    reservationId,
    payoutId: id,
    merchantId: parent.merchantId,
    assetId: parent.assetId,
    amount,
  })
  const canary = await repo.insertPayout(client, {
    id,
    merchantId: parent.merchantId,
    network: parent.network,
    assetId: parent.assetId,
    tokenAddress: parent.tokenAddress,
    decimals: parent.decimals,
    destination: parent.destination,
    amount,
    amountScaled: scaledAmount(amount, parent.decimals),
    externalReference: null,
    initiatorApiKeyId: parent.initiatorApiKeyId,
    reservationId,
    parentPayoutId: parent.id,
  })
  await repo.updatePayout(client, id, {
    policyVersion: parent.policyVersion,
    ruleId: parent.ruleId,
    status: transition(transition('requested', 'allowed'), 'queue'),
  })
  await repo.insertAudit(client, {
    merchantId: parent.merchantId,
    subjectId: parent.id,
    action: 'payout.canary-created',
    actor: 'policy',
    detail: { canary_payout_id: canary.id, canary_amount: amount.toString() },
  })
  return await repo.updatePayout(client, parent.id, { canaryPayoutId: id })
}

/** A parent that will never be sent takes its unsent canary with it (reservation voided). */
async function cancelCanaryOf(client: Queryable, parent: Payout, reason: string): Promise<void> {
  if (parent.canaryPayoutId === null) return
  const canary = await repo.selectPayout(client, parent.merchantId, parent.canaryPayoutId, true)
  if (canary === undefined || !canTransition(canary.status, 'cancel')) return
  await repo.updatePayout(client, canary.id, { status: transition(canary.status, 'cancel'), error: reason })
  await voidReservation(client, canary, reason)
  await repo.insertAudit(client, {
    merchantId: canary.merchantId,
    subjectId: canary.id,
    action: 'payout.cancelled',
    actor: 'canary',
    detail: { reason },
  })
}

export type BatchItemInput = Omit<CreatePayoutInput, 'merchantId' | 'apiKeyId'>

/**
 * Creates up to 1,000 payouts in the caller's transaction (one Idempotency-Key for all): each item is a payout
 * with its own reservation, policy decision and events. An item that is refused (bad input, balance, address
 * book) refuses the whole request, with the item's index in the error path: nothing is half-written.
 */
export async function createPayoutBatch(
  client: PoolClient,
  input: Readonly<{ merchantId: string; apiKeyId: string; items: readonly BatchItemInput[] }>,
  context: PayoutContext,
): Promise<Payout[]> {
  const created: Payout[] = []
  for (const [index, item] of input.items.entries()) {
    try {
      created.push(
        await createPayout(
          client,
          { ...item, merchantId: input.merchantId, apiKeyId: input.apiKeyId },
          context,
        ),
      )
    } catch (error) {
      if (!isAppError(error)) throw error
      const prefix = `body.items.${index}`
      const details =
        error.details.length > 0
          ? error.details.map((detail) => ({
              path: detail.path.startsWith('body.')
                ? `${prefix}.${detail.path.slice('body.'.length)}`
                : prefix,
              message: detail.message,
            }))
          : [{ path: prefix, message: error.message }]
      throw new AppError(error.code, error.httpStatus, `item ${index}: ${error.message}`, {
        details,
        cause: error,
      })
    }
  }
  return created
}

async function blockPayout(
  client: Queryable,
  payout: Payout,
  reason: string,
  actor: string,
): Promise<Payout> {
  const blocked = await repo.updatePayout(client, payout.id, {
    status: transition(payout.status, 'blocked'),
    error: reason,
  })
  await voidReservation(client, payout, reason)
  await repo.insertAudit(client, {
    merchantId: payout.merchantId,
    subjectId: payout.id,
    action: 'payout.blocked',
    actor,
    detail: { reason },
  })
  await recordEvent(client, {
    type: 'payout.failed',
    merchantId: payout.merchantId,
    subjectId: payout.id,
    payload: { payout_id: payout.id, status: 'blocked', reason },
  })
  return blocked
}

/** The store's active policy and its version; the built-in one (one approval) when none is active. */
export async function activePolicy(
  db: Queryable,
  merchantId: string,
): Promise<{ version: number | null; policy: Policy }> {
  const row = await repo.selectPolicy(db, merchantId, { active: true })
  if (row === undefined) return { version: null, policy: builtInPolicy }
  return { version: row.version, policy: policyFromWire(payoutPolicySchema.parse(row.policy)) }
}

/**
 * Serialises the payouts a rolling window measures. A window sums committed payouts, so two requests
 * measured at once would each miss the other's and together pass a limit neither could pass alone. Every
 * transaction that creates payouts calls this before it locks any ledger row (one order for all, so no
 * two can wait on each other): the store's lock when its policy has a window, and the installation's,
 * exclusive for a store whose policy has an `all` window and shared for every other (an `all` window
 * counts their payouts too). Re-entrant: a batch takes it once per item.
 */
export async function lockPolicyWindows(
  client: Queryable,
  merchantId: string,
): Promise<Awaited<ReturnType<typeof activePolicy>>> {
  const active = await activePolicy(client, merchantId)
  const windows = active.policy.rules.flatMap((rule) =>
    rule.match.window === undefined ? [] : [rule.match.window],
  )
  await repo.lockWindows(client, {
    installationExclusive: windows.some((window) => window.groupBy === 'all'),
    store: windows.length > 0 ? merchantId : null,
  })
  // The policy the windows were locked for is the one applied (read once per payout).
  return active
}

async function windowUsage(db: Queryable, payout: Payout, rules: readonly PolicyRule[], now: Date) {
  const usage = new Map<string, WindowUsage>()
  for (const rule of rules) {
    const window = rule.match.window
    if (window === undefined) continue
    const since = new Date(now.getTime() - window.seconds * 1000)
    const measured = await repo.selectWindowUsage(db, {
      merchantId: window.groupBy === 'all' ? null : payout.merchantId,
      since,
      ...(window.groupBy === 'initiator' ? { initiatorApiKeyId: payout.initiatorApiKeyId } : {}),
      ...(window.groupBy === 'destination' ? { destination: payout.destination.toLowerCase() } : {}),
    })
    usage.set(rule.id, measured)
  }
  return usage
}

/**
 * The roles a rule's `initiator.roles` is matched against: a person who requested it in the dashboard acts
 * with their approver id as key and has their own roles; an API key is an `initiator`.
 */
async function initiatorRoles(db: Queryable, payout: Payout): Promise<readonly PayoutRole[]> {
  const person = await repo.selectApprover(db, payout.merchantId, payout.initiatorApiKeyId)
  return person?.roles ?? ['initiator']
}

async function applyPolicy(
  client: PoolClient,
  payout: Payout,
  now: Date,
  active: Awaited<ReturnType<typeof activePolicy>>,
  amountScaled: bigint,
): Promise<Payout> {
  const { version, policy } = active
  const book = await repo.selectAddressBookEntry(
    client,
    payout.merchantId,
    payout.destination,
    payout.network,
  )
  const decision = evaluatePolicy(policy, {
    initiatorApiKeyId: payout.initiatorApiKeyId,
    initiatorRoles: await initiatorRoles(client, payout),
    destination: payout.destination.toLowerCase(),
    destinationInAddressBook: book !== undefined,
    destinationWhitelisted: book?.whitelisted ?? false,
    // Every payout is signed by the hot wallet; the cold wallet only receives sweeps (ADR 0016).
    sourceWallet: 'hot',
    network: payout.network,
    assetId: payout.assetId,
    amountScaled,
    windowUsage: await windowUsage(client, payout, policy.rules, now),
    now,
  })
  await repo.insertAudit(client, {
    merchantId: payout.merchantId,
    subjectId: payout.id,
    action: 'payout.policy-decision',
    actor: 'policy',
    detail: { version, rule: decision.ruleId, action: decision.action.kind },
  })
  const decided = { policyVersion: version, ruleId: decision.ruleId }
  return await actOn(client, payout, decision.action, decided, now)
}

async function actOn(
  client: PoolClient,
  payout: Payout,
  action: PolicyAction,
  decided: { policyVersion: number | null; ruleId: string | null },
  now: Date,
): Promise<Payout> {
  switch (action.kind) {
    case 'block': {
      const updated = await repo.updatePayout(client, payout.id, decided)
      return await blockPayout(client, updated, `policy: ${action.reason}`, 'policy')
    }
    case 'require_approval':
      return await repo.updatePayout(client, payout.id, {
        ...decided,
        status: transition(payout.status, 'needs-approval'),
        approvalsRequired: action.approvals,
        approvalRole: action.role,
      })
    case 'allow':
      return await repo.updatePayout(client, payout.id, {
        ...decided,
        status: transition('approved', 'queue'),
      })
    case 'delay':
      return await repo.updatePayout(client, payout.id, {
        ...decided,
        status: transition('approved', 'delay'),
        executeAfter: new Date(now.getTime() + action.seconds * 1000),
      })
  }
}

export async function getPayout(db: Queryable, merchantId: string, id: string): Promise<Payout> {
  const payout = await repo.selectPayout(db, merchantId, id)
  if (payout === undefined) throw errors.payoutNotFound()
  return payout
}

export async function listPayouts(
  db: Queryable,
  merchantId: string,
  page: Readonly<{ limit: number; startingAfter?: string | undefined; status?: PayoutStatus | undefined }>,
): Promise<{ rows: Payout[]; hasMore: boolean }> {
  const rows = await repo.selectPayouts(
    db,
    {
      merchantId,
      ...(page.startingAfter === undefined ? {} : { startingAfter: page.startingAfter }),
      ...(page.status === undefined ? {} : { status: page.status }),
    },
    page.limit + 1,
  )
  return { rows: rows.slice(0, page.limit), hasMore: rows.length > page.limit }
}

async function lockOwned(client: Queryable, merchantId: string, id: string, revision: number | undefined) {
  const payout = await repo.selectPayout(client, merchantId, id, true)
  if (payout === undefined) throw errors.payoutNotFound()
  if (revision !== undefined && revision !== payout.revision) throw errors.payoutOldRevision(payout.revision)
  return payout
}

/** Cancels a payout that is not signed yet (a delayed one included) and voids its reservation. */
export async function cancelPayout(
  pool: Pool,
  input: Readonly<{ merchantId: string; id: string; apiKeyId: string; revision?: number | undefined }>,
): Promise<Payout> {
  return await withTransaction(pool, async (client) => {
    const payout = await lockOwned(client, input.merchantId, input.id, input.revision)
    if (!canTransition(payout.status, 'cancel')) throw errors.payoutStatusConflict(payout.status, 'cancelled')
    const cancelled = await repo.updatePayout(client, payout.id, {
      status: transition(payout.status, 'cancel'),
    })
    await voidReservation(client, payout, 'cancelled')
    await repo.insertAudit(client, {
      merchantId: payout.merchantId,
      subjectId: payout.id,
      action: 'payout.cancelled',
      actor: input.apiKeyId,
    })
    await cancelCanaryOf(client, payout, 'its payout was cancelled')
    return cancelled
  })
}

export type DecisionInput = Readonly<{
  merchantId: string
  id: string
  apiKeyId: string
  approverId: string
  totpCode: string
  revision: number
  decision: 'approve' | 'reject'
  reason?: string | undefined
}>

/**
 * A second factor the sessions module verified for exactly this decision: a passkey assertion whose
 * single-use challenge named the payout, its revision and the decision (or the policy version). Only that
 * module builds one, after verifying; docs/adr/0019-passkeys.md.
 */
export type VerifiedSecondFactor = Readonly<{ kind: 'passkey'; passkeyId: string }>
type SecondFactor = Readonly<{ kind: 'totp'; code: string }> | VerifiedSecondFactor

/**
 * Runs `decide` — a decision that checks `approverId`'s one-time code — within the approver's bound on
 * wrong codes (payoutLimits.approverTotpFailuresMax per window). The attempt is recorded and committed
 * before it is counted, so guesses sent at once cannot all be judged; it is forgotten unless the code was
 * wrong or the approver is refused for too many (which keeps a hammered approver refused). Payout and
 * policy approvals and treasury decisions all pass through here.
 */
export async function withinTotpFailureBound<T>(
  pool: Pool,
  approverId: string,
  now: Date,
  decide: () => Promise<T>,
): Promise<T> {
  const windowMs = payoutLimits.approverTotpFailureWindowMs
  const since = new Date(now.getTime() - windowMs)
  const attempt = await repo.insertTotpAttempt(pool, approverId, now, since)
  let wrongCode = false
  try {
    const earlier = await repo.selectTotpFailures(pool, approverId, since)
    if (earlier.count - 1 >= payoutLimits.approverTotpFailuresMax) {
      wrongCode = true
      // Whole seconds until the oldest failure leaves the window, at least one (integer ms from Date).
      const waitMs = BigInt((earlier.oldest ?? now).getTime() + windowMs - now.getTime())
      const waitSeconds = (waitMs + 999n) / 1000n
      throw errors.approvalTotpRateLimited(waitSeconds < 1n ? 1n : waitSeconds)
    }
    return await decide()
  } catch (error) {
    wrongCode ||= isAppError(error) && error.code === 'approval-totp-invalid'
    throw error
  } finally {
    if (!wrongCode) await repo.deleteTotpAttempt(pool, attempt)
  }
}

/** Checks a TOTP code and consumes its step; a verified factor was checked by its module already. */
async function checkSecondFactor(
  client: Queryable,
  approver: repo.ApproverWithSecret,
  factor: SecondFactor,
  now: Date,
) {
  if (factor.kind !== 'totp') return
  const step = verifyTotp(approver.totpSecret, factor.code, BigInt(now.getTime()) / 1000n)
  if (step === undefined || (approver.totpLastStep !== null && step <= approver.totpLastStep))
    throw errors.approvalTotpInvalid()
  await repo.recordTotpStep(client, approver.id, step)
}

type DecisionRequest = Omit<DecisionInput, 'totpCode'>

async function checkApprover(
  client: Queryable,
  payout: Payout,
  input: DecisionRequest,
  factor: SecondFactor,
  now: Date,
) {
  const approver = await repo.selectApprover(client, input.merchantId, input.approverId, true)
  if (approver === undefined) throw errors.approverNotFound()
  await checkSecondFactor(client, approver, factor, now)
  const action = {
    kind: 'require_approval',
    approvals: payout.approvalsRequired,
    role: payout.approvalRole ?? 'approver',
  } as const
  if (!approverCounts(action, approver, payout.initiatorApiKeyId, input.apiKeyId))
    throw errors.approverNotEligible('the initiator cannot approve, and approvers need the rule’s role')
}

/**
 * Approve or reject, quoting the revision looked at. Every decision is audited; the quorum moves the
 * payout to queued (or delayed when the payout's rule said so... approvals and delays are separate rules).
 */
export async function decidePayout(pool: Pool, input: DecisionInput, now: Date): Promise<Payout> {
  return await withinTotpFailureBound(pool, input.approverId, now, () =>
    decide(pool, input, { kind: 'totp', code: input.totpCode }, now),
  )
}

/** decidePayout with a second factor already verified for this payout, revision and decision. */
export async function decidePayoutWithVerifiedFactor(
  pool: Pool,
  input: DecisionRequest,
  factor: VerifiedSecondFactor,
  now: Date,
): Promise<Payout> {
  return await decide(pool, input, factor, now)
}

async function decide(pool: Pool, input: DecisionRequest, factor: SecondFactor, now: Date) {
  return await withTransaction(pool, async (client) => {
    const payout = await lockOwned(client, input.merchantId, input.id, input.revision)
    if (payout.status !== 'pending_approval')
      throw errors.payoutStatusConflict(payout.status, `${input.decision}d`)
    await checkApprover(client, payout, input, factor, now)
    const inserted = await repo.insertApproval(client, {
      payoutId: payout.id,
      approverId: input.approverId,
      decision: input.decision,
      apiKeyId: input.apiKeyId,
      revision: payout.revision,
      reason: input.reason ?? null,
    })
    if (!inserted) throw errors.approvalDuplicate()
    await repo.insertAudit(client, {
      merchantId: payout.merchantId,
      subjectId: payout.id,
      action: `payout.${input.decision}`,
      actor: input.approverId,
      detail: {
        api_key_id: input.apiKeyId,
        revision: payout.revision,
        reason: input.reason ?? null,
        ...(factor.kind === 'passkey' ? { second_factor: 'passkey', passkey_id: factor.passkeyId } : {}),
      },
    })
    if (input.decision === 'reject') {
      const rejected = await repo.updatePayout(client, payout.id, {
        status: transition(payout.status, 'rejected'),
        error: 'rejected',
      })
      await voidReservation(client, payout, 'rejected')
      await cancelCanaryOf(client, payout, 'its payout was rejected')
      return rejected
    }
    if ((await repo.countApprovals(client, payout.id)) < payout.approvalsRequired)
      return await repo.updatePayout(client, payout.id, {})
    return await repo.updatePayout(client, payout.id, {
      status: transition(transition(payout.status, 'approved'), 'queue'),
    })
  })
}

/** Enrols an approver; the TOTP secret is returned here and never again. */
export async function enrolApprover(
  db: Queryable,
  input: Readonly<{
    merchantId: string
    name: string
    roles: readonly PayoutRole[]
    apiKeyId?: string | null
  }>,
): Promise<{ approver: PayoutApprover; totpSecret: string }> {
  const id = newId('sec')
  const totpSecret = newTotpSecret()
  await repo.insertApprover(db, {
    id,
    merchantId: input.merchantId,
    name: input.name,
    roles: input.roles,
    apiKeyId: input.apiKeyId ?? null,
    totpSecret,
  })
  await repo.insertAudit(db, {
    merchantId: input.merchantId,
    subjectId: id,
    action: 'approver.enrolled',
    actor: 'operator',
  })
  const approver = await repo.selectApprover(db, input.merchantId, id)
  if (approver === undefined) throw errors.approverNotFound()
  const { totpSecret: _secret, totpLastStep: _step, ...visible } = approver
  return { approver: visible, totpSecret }
}

export function policyFromWire(wire: PayoutPolicyWire): Policy {
  const scaled = (text: string | undefined) => (text === undefined ? undefined : parseUnits(text, 18))
  const rules = wire.rules.map((rule): PolicyRule => {
    const { match } = rule
    const amountMin = scaled(match.amount?.min)
    const amountMax = scaled(match.amount?.max)
    const windowMax = scaled(match.window?.max_amount)
    return {
      id: rule.id,
      action: rule.action,
      match: {
        ...(match.initiator === undefined
          ? {}
          : {
              initiator: { apiKeyIds: match.initiator.api_key_ids ?? [], roles: match.initiator.roles ?? [] },
            }),
        ...(match.destination === undefined ? {} : { destination: match.destination }),
        ...(match.networks === undefined ? {} : { networks: match.networks }),
        ...(match.assets === undefined ? {} : { assets: match.assets }),
        ...(match.amount === undefined
          ? {}
          : {
              amount: {
                ...(amountMin === undefined ? {} : { min: amountMin }),
                ...(amountMax === undefined ? {} : { max: amountMax }),
              },
            }),
        ...(match.window === undefined
          ? {}
          : {
              window: {
                seconds: match.window.seconds,
                groupBy: match.window.group_by,
                ...(windowMax === undefined ? {} : { maxAmount: windowMax }),
                ...(match.window.max_count === undefined ? {} : { maxCount: match.window.max_count }),
              },
            }),
        ...(match.source_wallets === undefined ? {} : { sourceWallets: match.source_wallets }),
        ...(match.time_of_day === undefined
          ? {}
          : {
              timeOfDay: { fromMinute: match.time_of_day.from_minute, toMinute: match.time_of_day.to_minute },
            }),
      },
    }
  })
  return { rules, defaultAction: wire.default_action }
}

/** Proposes a new policy version for the store; it applies only once another approver activates it. */
export async function proposePolicy(
  pool: Pool,
  input: Readonly<{ merchantId: string; policy: unknown; proposedBy: string }>,
): Promise<number> {
  const parsed = payoutPolicySchema.safeParse(input.policy)
  if (!parsed.success) throw errors.policyInvalid(parsed.error.message)
  return await withTransaction(pool, async (client) => {
    const version = await repo.insertPolicy(client, {
      merchantId: input.merchantId,
      policy: parsed.data,
      proposedBy: input.proposedBy,
    })
    await repo.insertAudit(client, {
      merchantId: input.merchantId,
      subjectId: `policy:${version}`,
      action: 'policy.proposed',
      actor: input.proposedBy,
    })
    return version
  })
}

/** Activates a proposed version: the approver (TOTP-checked) must hold approver or admin and not be the proposer. */
export async function approvePolicy(
  pool: Pool,
  input: Readonly<{ merchantId: string; version: number; approverId: string; totpCode: string }>,
  now: Date,
): Promise<void> {
  await withinTotpFailureBound(pool, input.approverId, now, () =>
    activatePolicy(pool, input, { kind: 'totp', code: input.totpCode }, now),
  )
}

/** approvePolicy with a second factor already verified for this policy version. */
export async function approvePolicyWithVerifiedFactor(
  pool: Pool,
  input: Readonly<{ merchantId: string; version: number; approverId: string }>,
  factor: VerifiedSecondFactor,
  now: Date,
): Promise<void> {
  await activatePolicy(pool, input, factor, now)
}

async function activatePolicy(
  pool: Pool,
  input: Readonly<{ merchantId: string; version: number; approverId: string }>,
  factor: SecondFactor,
  now: Date,
): Promise<void> {
  await withTransaction(pool, async (client) => {
    const row = await repo.selectPolicy(client, input.merchantId, { version: input.version }, true)
    if (row === undefined || row.status !== 'proposed') throw errors.policyVersionNotFound()
    const approver = await repo.selectApprover(client, input.merchantId, input.approverId, true)
    if (approver === undefined) throw errors.approverNotFound()
    if (approver.id === row.proposedBy || approver.apiKeyId === row.proposedBy)
      throw errors.approverNotEligible('the proposer cannot approve their own policy')
    if (!approver.roles.some((role) => role === 'approver' || role === 'admin'))
      throw errors.approverNotEligible('policy changes need an approver or admin')
    await checkSecondFactor(client, approver, factor, now)
    await repo.activatePolicy(client, {
      merchantId: input.merchantId,
      version: input.version,
      approvedBy: approver.id,
    })
    await repo.insertAudit(client, {
      merchantId: input.merchantId,
      subjectId: `policy:${input.version}`,
      action: 'policy.activated',
      actor: approver.id,
    })
  })
}

/** Engages or releases a panic switch; `*` for every store (operator only) or every network. */
export async function setPanic(
  pool: Pool,
  input: Readonly<{
    merchantId: string
    network: string
    engaged: boolean
    changedBy: string
    reason?: string | undefined
  }>,
): Promise<void> {
  await withTransaction(pool, async (client) => {
    await repo.upsertPanic(client, { ...input, reason: input.reason ?? null })
    await repo.insertAudit(client, {
      merchantId: input.merchantId,
      subjectId: `panic:${input.network}`,
      action: input.engaged ? 'panic.engaged' : 'panic.released',
      actor: input.changedBy,
    })
  })
}

export async function isPanicEngaged(db: Queryable, merchantId: string, network: string): Promise<boolean> {
  return await repo.selectPanicEngaged(db, merchantId, network)
}

export async function addToAddressBook(
  db: Queryable,
  input: Readonly<{ merchantId: string; address: string; label?: string | null; whitelisted: boolean }>,
): Promise<void> {
  await repo.upsertAddressBookEntry(db, { ...input, label: input.label ?? null })
}

export async function listPayoutAudit(db: Queryable, subjectId: string) {
  return await repo.selectAudit(db, subjectId)
}

export type PolicyRecord = Readonly<{
  version: number
  policy: unknown
  status: 'proposed' | 'active' | 'superseded' | 'rejected'
  proposedBy: string
  approvedBy: string | null
}>

/** One stored policy version (the active one, or by number); undefined when there is none. */
export async function getPolicyRecord(
  db: Queryable,
  merchantId: string,
  which: Readonly<{ active: true }> | Readonly<{ version: number }>,
): Promise<PolicyRecord | undefined> {
  return await repo.selectPolicy(db, merchantId, which)
}

/**
 * Checks an approver's TOTP code and consumes its step (a code is good once, whatever it was used for:
 * a dashboard sign-in and a payout approval cannot share one). Run it in the caller's transaction.
 * Undefined when there is no such approver or the code is wrong or already used; the caller picks the error.
 */
export async function consumeApproverTotp(
  client: Queryable,
  input: Readonly<{ merchantId: string; approverId: string; totpCode: string }>,
  now: Date,
): Promise<PayoutApprover | undefined> {
  const approver = await repo.selectApprover(client, input.merchantId, input.approverId, true)
  if (approver === undefined) return undefined
  const step = verifyTotp(approver.totpSecret, input.totpCode, BigInt(now.getTime()) / 1000n)
  if (step === undefined || (approver.totpLastStep !== null && step <= approver.totpLastStep))
    return undefined
  await repo.recordTotpStep(client, approver.id, step)
  const { totpSecret: _secret, totpLastStep: _step, ...visible } = approver
  return visible
}

/** One approver without its secret; undefined when the store has no such approver. */
export async function getApprover(
  db: Queryable,
  merchantId: string,
  approverId: string,
): Promise<PayoutApprover | undefined> {
  const approver = await repo.selectApprover(db, merchantId, approverId)
  if (approver === undefined) return undefined
  const { totpSecret: _secret, totpLastStep: _step, ...visible } = approver
  return visible
}
