import { pageSizeDefault } from '@sluice/sdk/api/common'
import {
  approveTreasuryProposal,
  listTreasuryBalances,
  listTreasuryProposals,
  rejectTreasuryProposal,
  type TreasuryBalanceWire,
  type TreasuryProposalWire,
} from '@sluice/sdk/api/treasury'
import type { FastifyInstance } from 'fastify'
import { requireOperatorStore } from '../../modules/merchants/merchant.service.ts'
import type { Principal } from '../../modules/merchants/merchant.types.ts'
import {
  decideTreasuryProposal,
  listTreasuryBalances as listBalancesOfGateway,
  listTreasuryProposals as listProposalsOfGateway,
} from '../../modules/treasury/treasury.service.ts'
import type { TreasuryProposal, WalletBalance } from '../../modules/treasury/treasury.types.ts'
import { type RouteDependencies, registerOperation } from '../route.ts'

/**
 * Treasury routes (docs/adr/0016): proposals and balances to read, decisions by a treasurer with TOTP.
 * Treasury state is the gateway operator's, so every one of them answers any other store's key or
 * session 403 `treasury-operator-only` before reading anything (docs/adr/0026-operator-store.md).
 */
export function treasuryProposalToWire(proposal: TreasuryProposal): TreasuryProposalWire {
  return {
    id: proposal.id,
    kind: proposal.kind,
    status: proposal.status,
    revision: proposal.revision,
    network: proposal.network,
    asset: proposal.assetId,
    token_address: proposal.tokenAddress.toLowerCase(),
    hot_wallet_address: proposal.hotWalletAddress.toLowerCase(),
    cold_address: proposal.coldAddress.toLowerCase(),
    amount_minor: proposal.amount.toString(),
    hot_balance_minor: proposal.balanceSeen.toString(),
    floor_minor: proposal.floorMinor.toString(),
    ceiling_minor: proposal.ceilingMinor.toString(),
    decided_by: proposal.decidedBy,
    decided_at: proposal.decidedAt?.toISOString() ?? null,
    tx_hash: proposal.txHash,
    block_number: proposal.blockNumber?.toString() ?? null,
    error: proposal.error,
    created_at: proposal.createdAt.toISOString(),
    updated_at: proposal.updatedAt.toISOString(),
  }
}

function balanceToWire(balance: WalletBalance, dependencies: RouteDependencies): TreasuryBalanceWire {
  const network = dependencies.networks.find((candidate) => candidate.name === balance.network)
  const symbol = balance.assetId.split('@')[0] ?? ''
  const band = balance.wallet === 'hot' ? network?.treasury?.hotWallet[symbol] : undefined
  return {
    network: balance.network,
    asset: balance.assetId,
    wallet: balance.wallet,
    address: balance.address.toLowerCase(),
    balance_minor: balance.balance.toString(),
    floor_minor: band?.floorMinor.toString() ?? null,
    ceiling_minor: band?.ceilingMinor.toString() ?? null,
    observed_at: balance.observedAt.toISOString(),
  }
}

export function registerTreasuryRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { pool } = dependencies
  const operatorOnly = {
    authorize: (principal: Principal) =>
      requireOperatorStore(dependencies.operatorStores, principal.merchantId),
  }
  registerOperation(
    app,
    listTreasuryProposals,
    async ({ query }) => {
      const limit = query.limit ?? pageSizeDefault
      const rows = await listProposalsOfGateway(pool, {
        status: query.status,
        before: query.starting_after,
        limit: limit + 1,
      })
      return { data: rows.slice(0, limit).map(treasuryProposalToWire), has_more: rows.length > limit }
    },
    dependencies,
    operatorOnly,
  )
  registerOperation(
    app,
    listTreasuryBalances,
    async () => ({
      data: (await listBalancesOfGateway(pool)).map((balance) => balanceToWire(balance, dependencies)),
    }),
    dependencies,
    operatorOnly,
  )
  for (const [operation, decision] of [
    [approveTreasuryProposal, 'approve'],
    [rejectTreasuryProposal, 'reject'],
  ] as const)
    registerOperation(
      app,
      operation,
      async ({ principal, params, body }) =>
        treasuryProposalToWire(
          await decideTreasuryProposal(
            pool,
            {
              id: params.id,
              revision: body.revision,
              merchantId: principal.merchantId,
              approverId: body.approver_id,
              totpCode: body.totp_code,
              decision,
            },
            dependencies.now(),
          ),
        ),
      dependencies,
      operatorOnly,
    )
}
