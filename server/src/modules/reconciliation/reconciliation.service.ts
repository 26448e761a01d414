import type { Address } from 'viem'
import type { NetworkConfig } from '../../config/config.types.ts'
import type { Pool, Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { newId } from '../../lib/ids.ts'
import { assetId } from '../../lib/money.ts'
import { recordEvent } from '../events/event.service.ts'
import { findSystemAccountBalance } from '../ledger/ledger.service.ts'
import { listOpenSweepTopUps } from '../sweeps/sweep.service.ts'
import { reconciliationLimits } from './reconciliation.limits.ts'
import * as repo from './reconciliation.repo.ts'
import { driftOf, incidentAction, nextStreak } from './reconciliation.state.ts'
import type {
  AssetCheck,
  AssetFigures,
  IncidentAction,
  NetworkCheck,
  ReconciledAsset,
  ReconciliationChain,
  ReconciliationIncident,
  ReconciliationReport,
  ReconciliationStatus,
} from './reconciliation.types.ts'

/**
 * Reconciliation of the ledger against the chain for the gateway's hot wallet
 * (docs/adr/0027-chain-reconciliation.md). `checkHotWallet` reads one network at its finalized block and
 * compares; `recordHotWalletCheck` stores the result, applies the persistence rule and opens or clears
 * incidents with their events. The job does both every minute; `sluice reconcile` only reads.
 */

/** The native coin as the ledger books gas on every EVM network (payouts, sweeps: `ETH@<network>`). */
export function nativeAssetId(network: string): string {
  return `ETH@${network}`
}

/** What is reconciled on a network: each configured token, then the native coin (18 decimals). */
export function reconciledAssets(network: NetworkConfig): ReconciledAsset[] {
  return [
    ...network.tokens.map((token) => ({
      assetId: assetId(token.symbol, network.name),
      tokenAddress: token.contractAddress as Address,
      decimals: token.decimals,
    })),
    { assetId: nativeAssetId(network.name), tokenAddress: undefined, decimals: 18 },
  ]
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  return text.slice(0, reconciliationLimits.errorLengthMax)
}

type ChainSide = Readonly<{
  blockNumber: bigint
  atBlock: bigint
  atHead: bigint
  nonceAtBlock: number
  nonceAtHead: number
}>

/** Balance of one asset at `block`. */
async function balanceAt(
  chain: ReconciliationChain,
  asset: ReconciledAsset,
  holder: Address,
  block: bigint,
): Promise<bigint> {
  return asset.tokenAddress === undefined
    ? await chain.nativeBalance(holder, block)
    : await chain.tokenBalance(asset.tokenAddress, holder, block)
}

/**
 * The network-wide reads of a check: chain id, blocks and the wallet's nonce at both. Throws with the
 * reason when the chain cannot be read or is not the configured one: every asset's check then fails.
 */
async function readBlocks(chain: ReconciliationChain, holder: Address) {
  const served = await chain.chainId()
  if (served !== chain.network.chainId)
    throw new Error(`the RPC serves chain ${served}, ${chain.network.name} is chain ${chain.network.chainId}`)
  const { head, finalized } = await chain.blocks()
  if (finalized < 0n) throw new Error('no finalized block yet')
  const nonceAtBlock = await chain.transactionCount(holder, finalized)
  const nonceAtHead = await chain.transactionCount(holder, head)
  return { head, finalized, nonceAtBlock, nonceAtHead }
}

/**
 * The ledger side, in one snapshot (repeatable read): each asset's hot-wallet posted balance, and the
 * native coin booked for gas top-ups the chain had not mined by the block (nonce ≥ the wallet's nonce
 * there). Read after the chain, so a booking that lands in between only makes the ledger more complete.
 */
async function readLedger(
  pool: Pool,
  network: string,
  assets: readonly ReconciledAsset[],
  nonceAtBlock: number,
): Promise<{ posted: Map<string, bigint>; bookedAheadNative: bigint }> {
  return await withTransaction(
    pool,
    async (client) => {
      const posted = new Map<string, bigint>()
      for (const asset of assets) {
        const balance = await findSystemAccountBalance(client, 'hot-wallet', asset.assetId)
        posted.set(asset.assetId, balance?.posted ?? 0n)
      }
      let bookedAheadNative = 0n
      const topUps = await listOpenSweepTopUps(client, network, reconciliationLimits.bookedTopUpsReadMax)
      for (const topUp of topUps) if (topUp.nonce >= nonceAtBlock) bookedAheadNative += topUp.bookedWei
      return { posted, bookedAheadNative }
    },
    'repeatable read',
  )
}

function figuresOf(
  side: ChainSide,
  ledgerBalance: bigint,
  bookedAhead: bigint,
): AssetFigures & { status: 'matched' | 'drift' } {
  const drift = driftOf(side.atBlock, ledgerBalance, bookedAhead)
  return {
    status: drift === 0n ? 'matched' : 'drift',
    blockNumber: side.blockNumber,
    chainBalance: side.atBlock,
    ledgerBalance,
    bookedAhead,
    drift,
    moving: side.atHead !== side.atBlock || side.nonceAtHead !== side.nonceAtBlock,
  }
}

/**
 * Reads one network: the hot wallet's balance of each asset at the finalized block (and at the head, to
 * tell whether something is moving), then the ledger, and compares. Never throws for the chain: an RPC
 * failure or a wrong chain makes the affected assets `failed` with the reason, never a drift. Stores
 * nothing.
 */
export async function checkHotWallet(
  deps: Readonly<{ pool: Pool; chain: ReconciliationChain; hotWalletAddress: Address; now?: () => Date }>,
): Promise<NetworkCheck> {
  const network = deps.chain.network
  const assets = reconciledAssets(network)
  const checkedAt = (deps.now ?? (() => new Date()))()
  const base = { network: network.name, hotWalletAddress: deps.hotWalletAddress, checkedAt }
  let blocks: Awaited<ReturnType<typeof readBlocks>>
  try {
    blocks = await readBlocks(deps.chain, deps.hotWalletAddress)
  } catch (error) {
    const failed = errorText(error)
    return { ...base, assets: assets.map((asset) => ({ status: 'failed', asset, error: failed })) }
  }
  const sides = new Map<string, ChainSide | string>()
  for (const asset of assets) {
    try {
      sides.set(asset.assetId, {
        blockNumber: blocks.finalized,
        atBlock: await balanceAt(deps.chain, asset, deps.hotWalletAddress, blocks.finalized),
        atHead: await balanceAt(deps.chain, asset, deps.hotWalletAddress, blocks.head),
        nonceAtBlock: blocks.nonceAtBlock,
        nonceAtHead: blocks.nonceAtHead,
      })
    } catch (error) {
      sides.set(asset.assetId, errorText(error))
    }
  }
  const ledger = await readLedger(deps.pool, network.name, assets, blocks.nonceAtBlock)
  const checks = assets.map((asset): AssetCheck => {
    const side = sides.get(asset.assetId)
    if (side === undefined || typeof side === 'string')
      return { status: 'failed', asset, error: side ?? 'not read' }
    const bookedAhead = asset.tokenAddress === undefined ? ledger.bookedAheadNative : 0n
    return { asset, ...figuresOf(side, ledger.posted.get(asset.assetId) ?? 0n, bookedAhead) }
  })
  return { ...base, assets: checks }
}

function incidentPayload(incident: ReconciliationIncident, check: AssetFigures & { hotWallet: string }) {
  return {
    incident_id: incident.id,
    network: incident.network,
    asset: incident.assetId,
    hot_wallet_address: check.hotWallet,
    block_number: check.blockNumber.toString(),
    chain_balance_minor: check.chainBalance.toString(),
    ledger_balance_minor: check.ledgerBalance.toString(),
    booked_ahead_minor: check.bookedAhead.toString(),
    opening_drift_minor: incident.openingDrift.toString(),
    drift_minor: check.drift.toString(),
    first_seen_at: incident.firstSeenAt.toISOString(),
    opened_at: incident.openedAt.toISOString(),
    ...(incident.clearedAt === null ? {} : { cleared_at: incident.clearedAt.toISOString() }),
  }
}

/** Applies `action` to the asset's incident, with its event in the same transaction. */
async function applyIncidentAction(
  client: Queryable,
  input: Readonly<{
    action: IncidentAction
    open: ReconciliationIncident | undefined
    network: string
    assetId: string
    figures: AssetFigures & { hotWallet: string }
    firstSeenAt: Date
    at: Date
  }>,
): Promise<void> {
  const { action, open, figures } = input
  if (action === 'none') return
  if (action === 'update' && open !== undefined) {
    await repo.updateIncidentDrift(client, open.id, figures.drift)
    return
  }
  const incident =
    action === 'open'
      ? await repo.insertIncident(client, {
          id: newId('rci', input.at.getTime()),
          network: input.network,
          assetId: input.assetId,
          drift: figures.drift,
          blockNumber: figures.blockNumber,
          firstSeenAt: input.firstSeenAt,
          openedAt: input.at,
        })
      : await repo.clearIncident(client, (open as ReconciliationIncident).id, figures.blockNumber, input.at)
  // Installation-wide (no store), like treasury.*: on the event stream, in no store's webhooks.
  await recordEvent(client, {
    type: action === 'open' ? 'reconciliation.incident_opened' : 'reconciliation.incident_cleared',
    merchantId: null,
    subjectId: incident.id,
    payload: incidentPayload(incident, figures),
  })
}

/** Stores one asset's check and applies the persistence rule; returns what happened to its incident. */
async function recordAssetCheck(client: Queryable, check: NetworkCheck, asset: AssetCheck) {
  const key = { network: check.network, assetId: asset.asset.assetId, checkedAt: check.checkedAt }
  if (asset.status === 'failed') {
    // Says nothing about drift: the streak and any incident stay as they are.
    await repo.insertCheck(client, { ...key, status: 'failed', error: asset.error })
    return 'none' as const
  }
  const previous = await repo.selectLatestStreak(client, check.network, asset.asset.assetId)
  const streak = nextStreak(previous, asset.drift, check.checkedAt)
  await repo.insertCheck(client, { ...key, ...asset, status: asset.status, streak })
  const open = await repo.selectOpenIncident(client, check.network, asset.asset.assetId)
  const action = incidentAction(streak, check.checkedAt, open)
  await applyIncidentAction(client, {
    action,
    open,
    network: check.network,
    assetId: asset.asset.assetId,
    figures: { ...asset, hotWallet: check.hotWalletAddress.toLowerCase() },
    firstSeenAt: streak.startedAt,
    at: check.checkedAt,
  })
  return action
}

/**
 * Stores a network's check (one row per asset), applies the persistence rule (reconciliation.state.ts)
 * and opens or clears incidents, each with its installation-wide event, in one transaction; then prunes
 * checks past their retention. One caller per network at a time (an advisory lock; the job's dedupe key
 * already ensures it).
 */
export async function recordHotWalletCheck(pool: Pool, check: NetworkCheck): Promise<ReconciliationReport> {
  const report = { matched: 0, drifts: 0, failed: 0, opened: 0, cleared: 0 }
  await withTransaction(pool, async (client) => {
    await repo.lockNetwork(client, check.network)
    for (const asset of check.assets) {
      report[asset.status === 'matched' ? 'matched' : asset.status === 'drift' ? 'drifts' : 'failed'] += 1
      const action = await recordAssetCheck(client, check, asset)
      if (action === 'open') report.opened += 1
      if (action === 'clear') report.cleared += 1
    }
    const before = new Date(check.checkedAt.getTime() - reconciliationLimits.checkRetentionMs)
    await repo.deleteChecksBefore(client, check.network, before)
  })
  return report
}

/** Incidents, newest first (operators and tests). */
export async function listReconciliationIncidents(
  db: Queryable,
  filter: Readonly<{ network?: string; openOnly?: boolean }> = {},
  limit = 100,
): Promise<ReconciliationIncident[]> {
  return await repo.selectIncidents(db, filter, limit)
}

/** The latest state of every reconciled asset of `networks` (for /metrics). */
export async function getReconciliationStatuses(
  db: Queryable,
  networks: readonly NetworkConfig[],
): Promise<ReconciliationStatus[]> {
  const assets = networks
    .flatMap((network) => reconciledAssets(network).map((asset) => ({ network: network.name, ...asset })))
    .slice(0, reconciliationLimits.statusAssetsMax)
  if (assets.length === 0) return []
  return await repo.selectStatuses(db, assets)
}
