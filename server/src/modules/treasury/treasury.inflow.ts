import type { Address, Hex } from 'viem'
import type { Pool, Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { assert } from '../../lib/assert.ts'
import type { Logger } from '../../lib/logger.ts'
import { assetId } from '../../lib/money.ts'
import { recordEvent } from '../events/event.service.ts'
import { createTransfers, getAccountBalance, getOrCreateSystemAccount } from '../ledger/ledger.service.ts'
import type { Metadata, SingleTransferRequest } from '../ledger/ledger.types.ts'
import { isDepositAddress } from '../payments/payment.service.ts'
import {
  checkInflow,
  coldOpeningId,
  coldOpeningShortfall,
  inflowId,
  inflowReasonProblem,
  nextScanRange,
} from './treasury.inflow-rules.ts'
import { treasuryLimits } from './treasury.limits.ts'
import * as repo from './treasury.repo.ts'
import type {
  BookedInflow,
  HotWalletInflow,
  InflowBookedBy,
  InflowChain,
  InflowRefusalCode,
  InflowTransferLog,
} from './treasury.types.ts'

/**
 * Booking inflows to the hot wallet that are no payment (docs/adr/0016 decision 9, docs/adr/0027): without
 * this, each one is a reconciliation drift until someone writes a ledger transfer by hand.
 * - A **top-up from cold** (a token Transfer from the configured cold address to the hot wallet) is found
 *   by the watch-treasury job once final (`bookTopUpsFromCold`) and booked hot-wallet ← cold-wallet.
 * - Anything else an operator has verified (gas station funding, a deliberate token deposit, or a top-up
 *   the scan could not see) is booked by `sluice treasury book-inflow` (`bookVerifiedInflow`) with a
 *   reason: from the cold address ← cold-wallet, from anyone else ← operator-capital.
 * Both go through `bookHotWalletInflow`: one ledger transfer per chain fact (network, tx hash, log index),
 * with an id derived from it, its audit row and its event in one transaction.
 */

export type InflowBooking = Readonly<{ outcome: 'booked' | 'already-booked'; inflow: BookedInflow }>

type BookingInput = Readonly<{
  inflow: HotWalletInflow
  /** When the transfer was mined: which top-up proposal it answers. */
  blockTime: Date
  bookedBy: InflowBookedBy
  reason?: string | undefined
}>

function metadataOf(input: BookingInput, proposalId: string | undefined): Metadata {
  const { inflow } = input
  return {
    network: inflow.network,
    tx_hash: inflow.txHash,
    log_index: inflow.logIndex === undefined ? 'native' : String(inflow.logIndex),
    from: inflow.from,
    block_number: inflow.blockNumber.toString(),
    booked_by: input.bookedBy,
    ...(input.reason === undefined ? {} : { reason: input.reason }),
    ...(proposalId === undefined ? {} : { proposal_id: proposalId }),
  }
}

/**
 * The postings of one inflow: hot-wallet ← cold-wallet (a top-up) or ← operator-capital. The cold-wallet
 * account may not go below zero (ADR 0006), yet the cold wallet may hold money the ledger never saw (funded
 * outside Sluice): the part of a top-up its account lacks is first booked cold-wallet ← operator-capital,
 * an opening balance, in the same linked batch. Returns the postings and that opening amount (0n if none).
 */
async function inflowTransfers(
  client: Queryable,
  input: BookingInput,
  id: string,
  metadata: Metadata,
): Promise<{ requests: SingleTransferRequest[]; opening: bigint }> {
  const { inflow } = input
  const asset = inflow.assetId
  const hot = (await getOrCreateSystemAccount(client, 'hot-wallet', asset)).id
  const capital = (await getOrCreateSystemAccount(client, 'operator-capital', asset)).id
  const posting = { kind: 'single', assetId: asset, metadata } as const
  if (inflow.source === 'operator-capital') {
    // Native coin from the operator is gas station funding, as the devnet books its own (sweeps module).
    const code = inflow.tokenAddress === undefined ? 'gas-station-funding' : 'operator-capital-inflow'
    const request = {
      ...posting,
      id,
      debitAccountId: hot,
      creditAccountId: capital,
      amount: inflow.amount,
      code,
    }
    return { requests: [request], opening: 0n }
  }
  const cold = await getOrCreateSystemAccount(client, 'cold-wallet', asset)
  const opening = coldOpeningShortfall(inflow.amount, (await getAccountBalance(client, cold.id)).available)
  const requests: SingleTransferRequest[] = []
  if (opening > 0n)
    requests.push({
      ...posting,
      id: coldOpeningId(id),
      debitAccountId: cold.id,
      creditAccountId: capital,
      amount: opening,
      code: 'cold-wallet-opening',
    })
  requests.push({
    ...posting,
    id,
    debitAccountId: hot,
    creditAccountId: cold.id,
    amount: inflow.amount,
    code: 'treasury-topup-from-cold',
  })
  return { requests, opening }
}

function inflowEventPayload(booked: BookedInflow) {
  return {
    inflow_id: booked.id,
    network: booked.network,
    asset: booked.assetId,
    amount_minor: booked.amount.toString(),
    tx_hash: booked.txHash,
    log_index: booked.logIndex === undefined ? null : booked.logIndex,
    from_address: booked.from,
    hot_wallet_address: booked.hotWalletAddress,
    block_number: booked.blockNumber.toString(),
    source: booked.source,
    booked_by: booked.bookedBy,
    reason: booked.reason,
    proposal_id: booked.proposalId,
    opening_minor: booked.openingAmount === null ? null : booked.openingAmount.toString(),
  }
}

/**
 * Books one final inflow, once: the ledger postings (inflowTransfers), the `treasury_inflows` audit row and
 * an installation-wide event (`treasury.topup_received` from cold, `treasury.inflow_booked` otherwise), in
 * one transaction under the network's inflow lock. The same chain fact again, by the scan or the command,
 * is `already-booked` and writes nothing. A top-up is linked to the proposal it answers, if any; the
 * proposal itself resolves as before, when the watch sees the balance back in the band.
 */
export async function bookHotWalletInflow(pool: Pool, input: BookingInput): Promise<InflowBooking> {
  const { inflow } = input
  assert(inflow.amount > 0n, `inflow ${inflow.txHash}: amount ${inflow.amount}`)
  assert(
    input.bookedBy === 'scan' ? inflow.source === 'cold-wallet' : input.reason !== undefined,
    'the scan books top-ups from cold only; the command always with a reason',
  )
  const id = inflowId(inflow.network, inflow.txHash, inflow.logIndex)
  return await withTransaction(pool, async (client) => {
    await repo.lockInflows(client, inflow.network)
    const existing = await repo.selectInflow(client, id)
    if (existing !== undefined) return { outcome: 'already-booked', inflow: existing }
    const proposalId =
      inflow.source === 'cold-wallet' && inflow.tokenAddress !== undefined
        ? await repo.selectAnsweredTopUpProposal(client, inflow.network, inflow.assetId, input.blockTime)
        : undefined
    const { requests, opening } = await inflowTransfers(client, input, id, metadataOf(input, proposalId))
    const booked = await repo.insertInflow(client, {
      ...inflow,
      id,
      bookedBy: input.bookedBy,
      reason: input.reason,
      proposalId,
      openingAmount: opening,
    })
    await createTransfers(client, requests)
    // Installation-wide (no store), like treasury.*: on the event stream, in no store's webhooks.
    await recordEvent(client, {
      type: inflow.source === 'cold-wallet' ? 'treasury.topup_received' : 'treasury.inflow_booked',
      merchantId: null,
      subjectId: id,
      payload: inflowEventPayload(booked),
    })
    return { outcome: 'booked', inflow: booked }
  })
}

export type TopUpScanDeps = Readonly<{
  pool: Pool
  logger: Logger
  chain: InflowChain
  hotWalletAddress: Address
  /** Test-only crash point: called after each booking, before the cursor moves past its range. */
  faults?: Readonly<{ afterInflowBooked?: (bookedInRun: number) => void }>
}>

export type TopUpScanReport = {
  booked: number
  alreadyBooked: number
  ranges: number
  nextBlock: bigint | null
}

/** Where the scan starts: the stored cursor, or the finalized block for a new (cold, hot) pair. */
async function scanStart(deps: TopUpScanDeps, cold: Address, finalized: bigint): Promise<bigint> {
  const network = deps.chain.network.name
  const hot = deps.hotWalletAddress.toLowerCase() as Address
  const cursor = await repo.selectInflowCursor(deps.pool, network)
  if (cursor !== undefined && cursor.coldAddress === cold && cursor.hotWalletAddress === hot)
    return cursor.nextBlock
  // No look-back: a top-up from before may already have been cleared by a hand-made ledger transfer (the
  // only way before this), and booking it again would be a drift the other way. The command books those.
  await repo.startInflowCursor(deps.pool, {
    network,
    coldAddress: cold,
    hotWalletAddress: hot,
    block: finalized,
  })
  if (cursor !== undefined)
    deps.logger.warn(
      { network, coldAddress: cold, previousColdAddress: cursor.coldAddress, block: finalized.toString() },
      'the cold or hot address changed: the scan for top-ups from cold starts again at the finalized block',
    )
  return finalized
}

/** A log the node returned for the topics asked: believed only if it is what was asked for. */
function isTopUpLog(
  deps: TopUpScanDeps,
  log: InflowTransferLog,
  cold: Address,
  range: { fromBlock: bigint; toBlock: bigint },
) {
  const token = deps.chain.network.tokens.find(
    (candidate) => candidate.contractAddress.toLowerCase() === log.tokenAddress.toLowerCase(),
  )
  return (
    token !== undefined &&
    log.from.toLowerCase() === cold &&
    log.to.toLowerCase() === deps.hotWalletAddress.toLowerCase() &&
    log.amount > 0n &&
    log.blockNumber >= range.fromBlock &&
    log.blockNumber <= range.toBlock
  )
}

function topUpOf(deps: TopUpScanDeps, log: InflowTransferLog): HotWalletInflow {
  const network = deps.chain.network
  const token = network.tokens.find(
    (candidate) => candidate.contractAddress.toLowerCase() === log.tokenAddress.toLowerCase(),
  )
  assert(token !== undefined, `top-up log of unconfigured token ${log.tokenAddress}`)
  return {
    network: network.name,
    txHash: log.txHash.toLowerCase() as Hex,
    logIndex: log.logIndex,
    assetId: assetId(token.symbol, network.name),
    tokenAddress: token.contractAddress.toLowerCase() as Address,
    from: log.from.toLowerCase() as Address,
    hotWalletAddress: deps.hotWalletAddress.toLowerCase() as Address,
    amount: log.amount,
    blockNumber: log.blockNumber,
    source: 'cold-wallet',
  }
}

/**
 * One run of the scan for top-ups from cold on one network: from the stored cursor up to the finalized
 * block, at most inflowScanRangesPerRunMax ranges of inflowScanBlockRangeMax blocks, eth_getLogs for the
 * configured tokens with topics (Transfer, from = cold, to = hot). Each top-up is booked in its own
 * transaction; the cursor moves past a range once all of it is booked. A crash in between reads the
 * range again next run, and its bookings are then `already-booked` (their ids are the chain facts).
 * Throws on a chain failure or a node serving another chain (nothing booked for that range).
 */
export async function bookTopUpsFromCold(deps: TopUpScanDeps): Promise<TopUpScanReport> {
  const report: TopUpScanReport = { booked: 0, alreadyBooked: 0, ranges: 0, nextBlock: null }
  const network = deps.chain.network
  if (network.treasury === undefined || network.tokens.length === 0) return report
  const served = await deps.chain.chainId()
  if (served !== network.chainId)
    throw new Error(`the RPC serves chain ${served}, ${network.name} is chain ${network.chainId}`)
  const finalized = await deps.chain.finalizedBlock()
  if (finalized < 0n) return report
  const cold = network.treasury.coldAddress.toLowerCase() as Address
  let next = await scanStart(deps, cold, finalized)
  const tokens = network.tokens.map((token) => token.contractAddress.toLowerCase() as Address)
  for (; report.ranges < treasuryLimits.inflowScanRangesPerRunMax; report.ranges += 1) {
    const range = nextScanRange(next, finalized, treasuryLimits.inflowScanBlockRangeMax)
    if (range === undefined) break
    const answer = await deps.chain.transferLogs(range, { tokens, from: cold, to: deps.hotWalletAddress })
    const covered = { fromBlock: range.fromBlock, toBlock: answer.coveredToBlock }
    for (const log of answer.logs) {
      if (!isTopUpLog(deps, log, cold, covered)) {
        deps.logger.warn(
          { txHash: log.txHash, logIndex: log.logIndex },
          'a log the topics did not ask for: ignored',
        )
        continue
      }
      const booking = await bookHotWalletInflow(deps.pool, {
        inflow: topUpOf(deps, log),
        blockTime: await deps.chain.blockTime(log.blockNumber),
        bookedBy: 'scan',
      })
      if (booking.outcome === 'booked') report.booked += 1
      else report.alreadyBooked += 1
      deps.faults?.afterInflowBooked?.(report.booked)
    }
    next = answer.coveredToBlock + 1n
    await repo.advanceInflowCursor(deps.pool, network.name, next)
  }
  report.nextBlock = next
  if (report.booked > 0)
    deps.logger.info(
      { network: network.name, ...report, nextBlock: next.toString() },
      'top-ups from cold booked',
    )
  return report
}

export type VerifiedInflowRequest = Readonly<{
  txHash: Hex
  /** A token Transfer log of the transaction; undefined: the transaction's native value. */
  logIndex: number | undefined
  reason: string
}>

export type VerifiedInflowResult =
  | InflowBooking
  | Readonly<{ outcome: 'refused'; code: InflowRefusalCode; message: string }>

/**
 * Why an inflow is the gateway's own movement, which its own flow books (review, 2026-11-22: booked here
 * too, it counted twice): from a deposit address, a sweep (the sweeps module books it at finality); from
 * the hot wallet itself, nothing moved. Undefined when it is none of those.
 */
async function bookedByItsOwnFlow(
  db: Queryable,
  inflow: HotWalletInflow,
  hotWalletAddress: Address,
): Promise<string | undefined> {
  if (inflow.from.toLowerCase() === hotWalletAddress.toLowerCase())
    return 'the hot wallet sent it to itself: nothing came in'
  if (await isDepositAddress(db, inflow.from))
    return `${inflow.from} is a deposit address: this is a sweep, which the sweeps module books`
  return undefined
}

/**
 * `sluice treasury book-inflow`: reads the transaction and its receipt from the network, requires it final
 * by the network's rule and successful, and books exactly what reached the hot wallet (checkInflow), with
 * the operator's reason in the audit row, the transfer's metadata and the event. Idempotent with itself
 * and with the scan (same id). A refusal writes nothing; a chain failure or another chain throws.
 */
export async function bookVerifiedInflow(
  deps: Readonly<{ pool: Pool; chain: InflowChain; hotWalletAddress: Address }>,
  request: VerifiedInflowRequest,
): Promise<VerifiedInflowResult> {
  const problem = inflowReasonProblem(request.reason)
  assert(problem === undefined, `book-inflow reason: ${problem}`)
  const network = deps.chain.network
  const served = await deps.chain.chainId()
  if (served !== network.chainId)
    throw new Error(`the RPC serves chain ${served}, ${network.name} is chain ${network.chainId}`)
  const transaction = await deps.chain.transaction(request.txHash)
  const finalized = await deps.chain.finalizedBlock()
  const check = checkInflow({
    network,
    hotWalletAddress: deps.hotWalletAddress,
    transaction,
    finalized,
    logIndex: request.logIndex,
  })
  if (check.kind === 'refused') return { outcome: 'refused', code: check.code, message: check.message }
  const ownFlow = await bookedByItsOwnFlow(deps.pool, check.inflow, deps.hotWalletAddress)
  if (ownFlow !== undefined) return { outcome: 'refused', code: 'booked-by-its-flow', message: ownFlow }
  return await bookHotWalletInflow(deps.pool, {
    inflow: check.inflow,
    blockTime: await deps.chain.blockTime(check.inflow.blockNumber),
    bookedBy: 'command',
    reason: request.reason.trim(),
  })
}
