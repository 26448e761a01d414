import type { Address } from 'viem'
import type { NetworkConfig, TokenConfig } from '../../config/config.types.ts'
import type { Pool, Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { newId } from '../../lib/ids.ts'
import type { Logger } from '../../lib/logger.ts'
import { assetId } from '../../lib/money.ts'
import { recordEvent } from '../events/event.service.ts'
import { consumeApproverTotp, withinTotpFailureBound } from '../payouts/payout.service.ts'
import { bandPosition } from './treasury.band.ts'
import {
  treasuryApprovalTotpInvalid,
  treasuryApproverNotEligible,
  treasuryProposalNotApprovable,
  treasuryProposalNotFound,
  treasuryProposalOldRevision,
} from './treasury.errors.ts'
import * as repo from './treasury.repo.ts'
import {
  type TreasuryProposal,
  type TreasuryProposalKind,
  type TreasuryProposalStatus,
  type TreasuryTickReport,
  treasuryProposalKinds,
  type WalletBalance,
} from './treasury.types.ts'

/**
 * The treasury's use cases (docs/adr/0016-signers-and-cold-wallet.md): watch the hot and cold wallets'
 * balances, propose a top-up from cold below the hot wallet's floor and a sweep of the excess to cold
 * above its ceiling (one open proposal per network, asset and kind), and let a treasurer approve a sweep
 * with TOTP. Sending approved sweeps is treasury.send.ts. The cold wallet is watch-only: its address is
 * configuration, its key is offline (Shamir shares, `sluice cold split`).
 */

/** What watching needs from a network: token balances (the sweeps' SweepChain satisfies it). */
export type BalanceReader = Readonly<{
  network: NetworkConfig
  tokenBalance(tokenAddress: Address, holder: Address): Promise<bigint>
}>

export type WatchDeps = Readonly<{
  pool: Pool
  logger: Logger
  chain: BalanceReader
  hotWalletAddress: Address
  now: () => Date
}>

// Proposals an API page can hold, and the most balances one view shows (networks × tokens × 2 wallets).
const proposalPageMax = 100
const balancesMax = 2_048

function proposalId(): string {
  // ids.ts has no treasury prefix (another owner); its ULID body is reused, so ids still sort by time.
  return newId('po').replace(/^po_/, 'tpr_')
}

const eventTypeOf = {
  topup_from_cold: 'treasury.topup_requested',
  sweep_to_cold: 'treasury.sweep_to_cold_proposed',
} as const satisfies Record<TreasuryProposalKind, string>

async function propose(
  deps: WatchDeps,
  token: TokenConfig,
  input: { kind: TreasuryProposalKind; amount: bigint; balance: bigint; coldAddress: Address },
): Promise<boolean> {
  const network = deps.chain.network
  const band = network.treasury?.hotWallet[token.symbol]
  if (band === undefined) return false
  return await withTransaction(deps.pool, async (client) => {
    const proposal = await repo.insertProposalIfNoneOpen(client, {
      id: proposalId(),
      kind: input.kind,
      network: network.name,
      assetId: assetId(token.symbol, network.name),
      tokenAddress: token.contractAddress,
      hotWalletAddress: deps.hotWalletAddress,
      coldAddress: input.coldAddress,
      amount: input.amount,
      balanceSeen: input.balance,
      floorMinor: band.floorMinor,
      ceilingMinor: band.ceilingMinor,
    })
    if (proposal === undefined) return false
    // Installation-wide (no store): on the event stream, not in any store's webhooks.
    await recordEvent(client, {
      type: eventTypeOf[input.kind],
      merchantId: null,
      subjectId: proposal.id,
      payload: treasuryEventPayload(proposal),
    })
    return true
  })
}

function treasuryEventPayload(proposal: TreasuryProposal) {
  return {
    proposal_id: proposal.id,
    kind: proposal.kind,
    network: proposal.network,
    asset: proposal.assetId,
    amount_minor: proposal.amount.toString(),
    hot_balance_minor: proposal.balanceSeen.toString(),
    floor_minor: proposal.floorMinor.toString(),
    ceiling_minor: proposal.ceilingMinor.toString(),
    hot_wallet_address: proposal.hotWalletAddress,
    cold_address: proposal.coldAddress,
  }
}

/** Open (undecided) proposals of `kind` for the asset become `resolved`: the balance is back where it should be. */
async function resolveOpen(deps: WatchDeps, asset: string, kinds: readonly TreasuryProposalKind[]) {
  let resolved = 0
  const open = await repo.selectOpenProposals(deps.pool, deps.chain.network.name, ['open'], proposalPageMax)
  for (const proposal of open) {
    if (proposal.assetId !== asset || !kinds.includes(proposal.kind)) continue
    await withTransaction(deps.pool, async (client) => {
      const locked = await repo.selectProposal(client, proposal.id, true)
      if (locked?.status !== 'open') return
      await repo.updateProposal(client, proposal.id, {
        status: 'resolved',
        error: 'balance back within the band',
      })
      resolved += 1
    })
  }
  return resolved
}

/**
 * One watch of one network: reads the hot and cold balances of every configured token, stores them, and
 * proposes or resolves per the hot wallet's band. Idempotent: a second run with the same balances changes
 * nothing but the observation time.
 */
export async function watchTreasury(deps: WatchDeps): Promise<TreasuryTickReport> {
  const report: TreasuryTickReport = {
    topUpsRequested: 0,
    sweepsProposed: 0,
    resolved: 0,
    sent: 0,
    completed: 0,
    failed: 0,
    waiting: 0,
  }
  const network = deps.chain.network
  const treasury = network.treasury
  if (treasury === undefined) return report
  for (const token of network.tokens) {
    const asset = assetId(token.symbol, network.name)
    const hot = await deps.chain.tokenBalance(token.contractAddress, deps.hotWalletAddress)
    const cold = await deps.chain.tokenBalance(token.contractAddress, treasury.coldAddress)
    const observedAt = deps.now()
    const base = { network: network.name, assetId: asset, observedAt }
    await repo.upsertBalance(deps.pool, {
      ...base,
      wallet: 'hot',
      address: deps.hotWalletAddress,
      balance: hot,
    })
    await repo.upsertBalance(deps.pool, {
      ...base,
      wallet: 'cold',
      address: treasury.coldAddress,
      balance: cold,
    })
    const band = treasury.hotWallet[token.symbol]
    if (band === undefined) continue
    const position = bandPosition(hot, band)
    const coldAddress = treasury.coldAddress
    if (position.kind === 'within') report.resolved += await resolveOpen(deps, asset, treasuryProposalKinds)
    if (position.kind === 'below-floor') {
      report.resolved += await resolveOpen(deps, asset, ['sweep_to_cold'])
      const input = {
        kind: 'topup_from_cold',
        amount: position.shortfall,
        balance: hot,
        coldAddress,
      } as const
      if (await propose(deps, token, input)) report.topUpsRequested += 1
    }
    if (position.kind === 'above-ceiling') {
      report.resolved += await resolveOpen(deps, asset, ['topup_from_cold'])
      const input = { kind: 'sweep_to_cold', amount: position.excess, balance: hot, coldAddress } as const
      if (await propose(deps, token, input)) report.sweepsProposed += 1
    }
  }
  if (report.topUpsRequested + report.sweepsProposed + report.resolved > 0)
    deps.logger.info({ network: network.name, ...report }, 'treasury proposals changed')
  return report
}

/** Newest first; `limit` ≤ 100. */
export async function listTreasuryProposals(
  db: Queryable,
  input: Readonly<{
    status?: TreasuryProposalStatus | undefined
    before?: string | undefined
    limit: number
  }>,
): Promise<TreasuryProposal[]> {
  return await repo.selectProposals(db, {
    ...input,
    limit: Math.min(input.limit, proposalPageMax),
  })
}

/** One proposal; `treasury-proposal-not-found` otherwise. */
export async function getTreasuryProposal(db: Queryable, id: string): Promise<TreasuryProposal> {
  const proposal = await repo.selectProposal(db, id)
  if (proposal === undefined) throw treasuryProposalNotFound()
  return proposal
}

/** The last observed hot and cold balances per network and asset. */
export async function listTreasuryBalances(db: Queryable): Promise<WalletBalance[]> {
  return await repo.selectBalances(db, balancesMax)
}

export type TreasuryDecisionInput = Readonly<{
  id: string
  revision: number
  /** The store of the calling key: its enrolled approver (role treasurer or admin) decides. */
  merchantId: string
  approverId: string
  totpCode: string
  decision: 'approve' | 'reject'
}>

/**
 * A treasurer approves (or rejects) a sweep to cold, quoting the revision they saw, with a TOTP code (as
 * payout approvals). An approved sweep is signed and sent by the next send-treasury-sweeps run. Top-ups
 * are carried out offline with the cold key: they can only be rejected here (or resolve themselves).
 */
export async function decideTreasuryProposal(
  pool: Pool,
  input: TreasuryDecisionInput,
  now: Date,
): Promise<TreasuryProposal> {
  return await withinTotpFailureBound(pool, input.approverId, now, () => decideProposal(pool, input, now))
}

async function decideProposal(
  pool: Pool,
  input: TreasuryDecisionInput,
  now: Date,
): Promise<TreasuryProposal> {
  return await withTransaction(pool, async (client) => {
    const proposal = await repo.selectProposal(client, input.id, true)
    if (proposal === undefined) throw treasuryProposalNotFound()
    if (proposal.revision !== input.revision) throw treasuryProposalOldRevision(proposal.revision)
    if (proposal.status !== 'open')
      throw treasuryProposalNotApprovable(`a proposal that is ${proposal.status} cannot be decided`)
    if (input.decision === 'approve' && proposal.kind !== 'sweep_to_cold')
      throw treasuryProposalNotApprovable('a top-up from cold is carried out offline with the cold key')
    const approver = await consumeApproverTotp(
      client,
      { merchantId: input.merchantId, approverId: input.approverId, totpCode: input.totpCode },
      now,
    )
    if (approver === undefined) throw treasuryApprovalTotpInvalid()
    if (!approver.roles.includes('treasurer') && !approver.roles.includes('admin'))
      throw treasuryApproverNotEligible()
    return await repo.updateProposal(client, proposal.id, {
      status: input.decision === 'approve' ? 'approved' : 'rejected',
      decidedBy: approver.id,
      decidedByMerchantId: input.merchantId,
    })
  })
}
