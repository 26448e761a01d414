import { pageSizeDefault } from '@sluice/sdk/api/common'
import {
  approvePayout,
  approvePayoutPolicy,
  cancelPayout,
  createPayout,
  createPayoutBatch,
  engagePanic,
  enrolPayoutApprover,
  getPayout,
  getPayoutPolicy,
  listPayouts,
  type PayoutPolicyWire,
  type PayoutWire,
  payoutPolicySchema,
  proposePayoutPolicy,
  rejectPayout,
  releasePanic,
} from '@sluice/sdk/api/payouts'
import { formatUnits } from '@sluice/sdk/money'
import type { FastifyInstance } from 'fastify'
import { withTransaction } from '../../db/tx.ts'
import { AppError } from '../../lib/errors.ts'
import {
  approvePolicy,
  cancelPayout as cancelPayoutOfStore,
  createPayoutBatch as createPayoutBatchOfStore,
  createPayout as createPayoutOfStore,
  decidePayout,
  enrolApprover,
  getPayout as getPayoutOfStore,
  getPolicyRecord,
  listPayouts as listPayoutsOfStore,
  type PolicyRecord,
  proposePolicy,
  setPanic,
} from '../../modules/payouts/payout.service.ts'
import type { Payout } from '../../modules/payouts/payout.types.ts'
import { type RouteDependencies, registerOperation } from '../route.ts'

/** What decided the payout's path, reconstructed from what the payout row records. */
function decisionOf(payout: Payout): PayoutWire['decision'] {
  const decided = { policy_version: payout.policyVersion, rule_id: payout.ruleId }
  if (payout.status === 'blocked' && payout.error === 'destination-sanctioned')
    return { ...decided, action: 'screening', reason: 'the destination is on a sanctions list' }
  if (payout.status === 'blocked' && payout.error?.startsWith('policy: '))
    return { ...decided, action: 'block', reason: payout.error.slice('policy: '.length) }
  if (payout.approvalsRequired > 0)
    return {
      ...decided,
      action: 'require_approval',
      reason: `needs ${payout.approvalsRequired} approval(s) by the ${payout.approvalRole ?? 'approver'} role`,
    }
  if (payout.executeAfter !== null)
    return { ...decided, action: 'delay', reason: `delayed until ${payout.executeAfter.toISOString()}` }
  return { ...decided, action: 'allow', reason: 'allowed without approval' }
}

export function payoutToWire(payout: Payout): PayoutWire {
  return {
    id: payout.id,
    status: payout.status,
    revision: payout.revision,
    network: payout.network,
    asset: payout.assetId,
    token_address: payout.tokenAddress,
    destination: payout.destination,
    amount: formatUnits(payout.amount, payout.decimals),
    amount_minor: payout.amount.toString(),
    external_reference: payout.externalReference,
    decision: decisionOf(payout),
    approvals_required: payout.approvalsRequired,
    approval_role: payout.approvalRole,
    execute_after: payout.executeAfter?.toISOString() ?? null,
    tx_hash: payout.minedHash,
    block_number: payout.blockNumber?.toString() ?? null,
    error: payout.error,
    network_fee:
      payout.networkFee === null
        ? null
        : {
            wei: payout.networkFee.wei.toString(),
            in_asset:
              payout.networkFee.inAssetMinor === null
                ? null
                : formatUnits(payout.networkFee.inAssetMinor, payout.decimals),
            rate: payout.networkFee.rate,
          },
    batch_id: payout.batchId,
    parent_payout_id: payout.parentPayoutId,
    canary_payout_id: payout.canaryPayoutId,
    created_at: payout.createdAt.toISOString(),
    updated_at: payout.updatedAt.toISOString(),
  }
}

/** The built-in policy (payout.policy.ts builtInPolicy) as it is written on the wire. */
const builtInPolicyWire: PayoutPolicyWire = {
  rules: [],
  default_action: { kind: 'require_approval', approvals: 1, role: 'approver' },
}

function policyToWire(record: PolicyRecord | undefined) {
  if (record === undefined)
    return {
      version: null,
      status: 'built_in' as const,
      policy: builtInPolicyWire,
      proposed_by: null,
      approved_by: null,
    }
  return {
    version: record.version,
    status: record.status,
    policy: payoutPolicySchema.parse(record.policy),
    proposed_by: record.proposedBy,
    approved_by: record.approvedBy,
  }
}

const networkUnknown = (network: string) =>
  new AppError('network-unknown', 422, `network ${network} is not configured`, {
    details: [{ path: 'body.network', message: `network ${network} is not configured` }],
  })

/** Payouts: create (exactly-once with its idempotency record), read, list, cancel, approve, reject. */
export function registerPayoutRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { pool } = dependencies
  const context = { networks: dependencies.networks, now: dependencies.now }

  registerOperation(
    app,
    createPayout,
    async ({ principal, body, idempotency }) =>
      await withTransaction(pool, async (client) => {
        const payout = await createPayoutOfStore(
          client,
          {
            merchantId: principal.merchantId,
            apiKeyId: principal.apiKeyId,
            network: body.network,
            asset: body.asset,
            destination: body.destination,
            amount: body.amount,
            externalReference: body.external_reference,
          },
          context,
        )
        const response = payoutToWire(payout)
        await idempotency.complete(client, response)
        return response
      }),
    dependencies,
  )

  registerOperation(
    app,
    createPayoutBatch,
    async ({ principal, body, idempotency }) =>
      await withTransaction(pool, async (client) => {
        const payouts = await createPayoutBatchOfStore(
          client,
          {
            merchantId: principal.merchantId,
            apiKeyId: principal.apiKeyId,
            items: body.items.map((item) => ({
              network: item.network,
              asset: item.asset,
              destination: item.destination,
              amount: item.amount,
              externalReference: item.external_reference,
            })),
          },
          context,
        )
        // One payout per item, in request order; a canary is named by its parent's canary_payout_id.
        const response = { data: payouts.map(payoutToWire) }
        await idempotency.complete(client, response)
        return response
      }),
    dependencies,
  )

  registerOperation(
    app,
    getPayout,
    async ({ principal, params }) =>
      payoutToWire(await getPayoutOfStore(pool, principal.merchantId, params.id)),
    dependencies,
  )

  registerOperation(
    app,
    listPayouts,
    async ({ principal, query }) => {
      const page = await listPayoutsOfStore(pool, principal.merchantId, {
        limit: query.limit ?? pageSizeDefault,
        startingAfter: query.starting_after,
        status: query.status,
      })
      return { data: page.rows.map(payoutToWire), has_more: page.hasMore }
    },
    dependencies,
  )

  registerPayoutDecisionRoutes(app, dependencies)
  registerPayoutAdminRoutes(app, dependencies)
  registerPanicRoutes(app, dependencies)
}

/** Cancel, approve, reject: each quotes the revision the caller looked at. */
function registerPayoutDecisionRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { pool } = dependencies
  registerOperation(
    app,
    cancelPayout,
    async ({ principal, params, body }) =>
      payoutToWire(
        await cancelPayoutOfStore(pool, {
          merchantId: principal.merchantId,
          id: params.id,
          apiKeyId: principal.apiKeyId,
          revision: body.revision,
        }),
      ),
    dependencies,
  )

  for (const [operation, decision] of [
    [approvePayout, 'approve'],
    [rejectPayout, 'reject'],
  ] as const)
    registerOperation(
      app,
      operation,
      async ({ principal, params, body }) =>
        payoutToWire(
          await decidePayout(
            pool,
            {
              merchantId: principal.merchantId,
              id: params.id,
              apiKeyId: principal.apiKeyId,
              approverId: body.approver_id,
              totpCode: body.totp_code,
              revision: body.revision,
              decision,
              reason: body.reason,
            },
            dependencies.now(),
          ),
        ),
      dependencies,
    )
}

/** Approvers and policy versions. */
function registerPayoutAdminRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { pool } = dependencies

  registerOperation(
    app,
    enrolPayoutApprover,
    async ({ principal, body }) => {
      const enrolled = await enrolApprover(pool, {
        merchantId: principal.merchantId,
        name: body.name,
        roles: body.roles,
        apiKeyId: body.api_key_id ?? null,
      })
      const { approver } = enrolled
      return {
        approver: {
          id: approver.id,
          name: approver.name,
          roles: [...approver.roles],
          api_key_id: approver.apiKeyId,
          created_at: approver.createdAt.toISOString(),
        },
        totp_secret: enrolled.totpSecret,
      }
    },
    dependencies,
    // The TOTP secret is a second factor: shown once, never kept in the idempotency record.
    { storedResponse: (response) => ({ ...response, totp_secret: null }) },
  )

  registerOperation(
    app,
    getPayoutPolicy,
    async ({ principal }) =>
      policyToWire(await getPolicyRecord(pool, principal.merchantId, { active: true })),
    dependencies,
  )

  registerOperation(
    app,
    proposePayoutPolicy,
    async ({ principal, body }) => {
      const version = await proposePolicy(pool, {
        merchantId: principal.merchantId,
        policy: body.policy,
        proposedBy: principal.apiKeyId,
      })
      return policyToWire(await getPolicyRecord(pool, principal.merchantId, { version }))
    },
    dependencies,
  )

  registerOperation(
    app,
    approvePayoutPolicy,
    async ({ principal, params, body }) => {
      const version = Number.parseInt(params.version, 10)
      await approvePolicy(
        pool,
        { merchantId: principal.merchantId, version, approverId: body.approver_id, totpCode: body.totp_code },
        dependencies.now(),
      )
      return policyToWire(await getPolicyRecord(pool, principal.merchantId, { version }))
    },
    dependencies,
  )
}

/** The store's panic switch, per network or for all (`*`). */
function registerPanicRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  for (const [operation, engaged] of [
    [engagePanic, true],
    [releasePanic, false],
  ] as const)
    registerOperation(
      app,
      operation,
      async ({ principal, body }) => {
        const network = body.network ?? '*'
        if (network !== '*' && !dependencies.networks.some((candidate) => candidate.name === network))
          throw networkUnknown(network)
        await setPanic(dependencies.pool, {
          merchantId: principal.merchantId,
          network,
          engaged,
          changedBy: principal.apiKeyId,
          reason: body.reason,
        })
        return { network, engaged }
      },
      dependencies,
    )
}
