import { type Address, encodeFunctionData, type Hex, parseAbi, parseTransaction } from 'viem'
import type { Pool, Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { assert } from '../../lib/assert.ts'
import type { Logger } from '../../lib/logger.ts'
import { createTransfers, getOrCreateSystemAccount } from '../ledger/ledger.service.ts'
import type { SingleTransferRequest } from '../ledger/ledger.types.ts'
import { capFeesForNetwork, networkFeeCapWei, signerRefusalReason } from '../signers/signer.service.ts'
import type { Signer } from '../signers/signer.types.ts'
import { hotWalletReplacementFees } from '../sweeps/sweep.service.ts'
import type { Fees, SweepChain, SweepReceipt } from '../sweeps/sweep.types.ts'
import { treasuryLimits } from './treasury.limits.ts'
import * as repo from './treasury.repo.ts'
import type { TreasuryProposal, TreasurySweepAttempt } from './treasury.types.ts'

/**
 * Sends approved sweeps to the cold wallet, the way the payout transaction manager sends payouts: read the
 * chain first; then in one transaction lock the proposal, take the shared hot-wallet nonce, sign through
 * the network's signer and store the attempt (`treasury_sweep_transactions`); broadcast after the commit.
 * Each run looks up the receipt of every attempt. Without one, the latest is broadcast again, and once it
 * has waited `sweepReplaceAfterMs` it is replaced at the same nonce with higher fees, under the network's
 * cap: the nonce is the hot wallet's, and every later hot-wallet transaction, payouts included, waits
 * behind it. Whichever attempt is mined decides; final at the network's finality rule, and `completed`
 * only if its receipt shows exactly the planned Transfer.
 */
export type SweepToColdBroadcastPoint = Readonly<{ proposalId: string; hash: Hex }>

export type SendDeps = Readonly<{
  pool: Pool
  logger: Logger
  chain: SweepChain
  hotWalletAddress: Address
  signer: Signer
  /** The signing worker's clock: attempts are dated and judged stuck on it. Default: the system clock. */
  now?: () => Date
  /** An attempt without a receipt this long is replaced (default treasuryLimits.sweepReplaceAfterMs). */
  replaceAfterMs?: number
  /** Test-only crash points: a hook that throws simulates the process dying there. */
  faults?: Readonly<{
    beforeBroadcast?: (point: SweepToColdBroadcastPoint) => void
    afterBroadcast?: (point: SweepToColdBroadcastPoint) => void
  }>
}>

const transferAbi = parseAbi(['function transfer(address to, uint256 amount)'])

function errorText(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error)
}

function clock(deps: SendDeps): Date {
  return deps.now?.() ?? new Date()
}

async function noteWaiting(deps: SendDeps, proposal: TreasuryProposal, reason: string): Promise<'waiting'> {
  if (proposal.error !== reason)
    await withTransaction(deps.pool, async (client) => {
      const locked = await repo.selectProposal(client, proposal.id, true)
      if (locked?.status === proposal.status)
        await repo.updateProposal(client, proposal.id, { error: reason })
    })
  return 'waiting'
}

/** Broadcasts a stored attempt. "Already known" and "nonce too low" are fine: the receipts decide. */
async function broadcast(
  deps: SendDeps,
  proposalId: string,
  attempt: Pick<TreasurySweepAttempt, 'hash' | 'rawTransaction'>,
) {
  const point = { proposalId, hash: attempt.hash }
  deps.faults?.beforeBroadcast?.(point)
  try {
    const outcome = await deps.chain.broadcast(attempt.rawTransaction)
    if (outcome !== 'accepted') deps.logger.info({ ...point, outcome }, 'sweep to cold known to the node')
  } catch (error) {
    // Unknown is not failed: the next run broadcasts the same bytes again, or replaces them.
    deps.logger.warn({ ...point, err: errorText(error) }, 'sweep to cold broadcast refused')
    return
  }
  deps.faults?.afterBroadcast?.(point)
  await repo.recordSweepAttemptBroadcast(deps.pool, attempt.hash)
}

/**
 * The one signing point of sweeps to cold: the network's Signer gets the unsigned transfer and the approved
 * proposal it pays (at the revision read under the lock), and re-checks both. A replacement is the same
 * transfer at the same nonce with other fees, which the remote signer's journal lets through.
 */
async function signSweep(
  deps: SendDeps,
  locked: TreasuryProposal,
  tx: Readonly<{ nonce: number; gas: bigint; fees: Fees }>,
): Promise<Omit<TreasurySweepAttempt, 'attempt'>> {
  const network = deps.chain.network
  const signed = await deps.signer.sign({
    network: network.name,
    chainId: network.chainId,
    from: deps.hotWalletAddress,
    transaction: {
      to: locked.tokenAddress,
      data: encodeFunctionData({
        abi: transferAbi,
        functionName: 'transfer',
        args: [locked.coldAddress, locked.amount],
      }),
      value: 0n,
      gas: tx.gas,
      nonce: tx.nonce,
      ...tx.fees,
    },
    pays: [
      {
        kind: 'treasury-sweep',
        id: locked.id,
        merchantId: null,
        revision: locked.revision,
        tokenAddress: locked.tokenAddress,
        destination: locked.coldAddress,
        amount: locked.amount,
      },
    ],
  })
  return { nonce: tx.nonce, ...signed, ...tx.fees, createdAt: clock(deps) }
}

/** approved → sent: signed (through the signer), stored as attempt 1, then broadcast. */
export async function sendApprovedSweep(
  deps: SendDeps,
  proposal: TreasuryProposal,
): Promise<'sent' | 'waiting'> {
  const balance = await deps.chain.tokenBalance(proposal.tokenAddress, deps.hotWalletAddress)
  if (balance < proposal.amount)
    return await noteWaiting(deps, proposal, `hot wallet holds ${balance}, less than the sweep; waiting`)
  let estimate: bigint
  try {
    estimate = await deps.chain.estimateTokenTransferGas({
      from: deps.hotWalletAddress,
      tokenAddress: proposal.tokenAddress,
      to: proposal.coldAddress,
      amount: proposal.amount,
    })
  } catch (error) {
    return await noteWaiting(deps, proposal, `gas estimate failed: ${errorText(error)}`)
  }
  const market = await deps.chain.feeMarket()
  const wanted = {
    maxFeePerGas: market.baseFeePerGas * treasuryLimits.baseFeeMultiplier + market.priorityFeePerGas,
    maxPriorityFeePerGas: market.priorityFeePerGas,
  }
  const capped = capFeesForNetwork(deps.chain.network, wanted, market)
  if (capped.kind === 'over-cap') return await noteWaiting(deps, proposal, capped.reason)
  const chainPendingCount = await deps.chain.transactionCount(deps.hotWalletAddress)
  const stored = await withTransaction(deps.pool, async (client) => {
    const locked = await repo.selectProposal(client, proposal.id, true)
    if (locked?.status !== 'approved') return undefined
    const nonce = await repo.takeHotWalletNonce(client, {
      network: deps.chain.network.name,
      address: deps.hotWalletAddress,
      chainPendingCount,
    })
    const gas = (estimate * treasuryLimits.gasLimitPercent + 99n) / 100n
    const signed = await signSweep(deps, locked, { nonce, gas, fees: capped.fees })
    const attempt = await repo.insertSweepAttempt(client, locked.id, signed)
    await repo.updateProposal(client, locked.id, { status: 'sent', signed, error: null })
    return attempt
  }).catch(signerRefusalReason)
  if (typeof stored === 'string') return await noteWaiting(deps, proposal, stored)
  if (stored === undefined) return 'waiting'
  await broadcast(deps, proposal.id, stored)
  return 'sent'
}

/** A stuck sweep that cannot be replaced stays at its nonce and alerts: it holds back the hot wallet. */
async function alertStuck(
  deps: SendDeps,
  proposal: TreasuryProposal,
  latest: TreasurySweepAttempt,
  reason: string,
): Promise<'waiting'> {
  await broadcast(deps, proposal.id, latest)
  deps.logger.error(
    { proposalId: proposal.id, network: proposal.network, nonce: latest.nonce, txHash: latest.hash },
    reason,
  )
  return await noteWaiting(deps, proposal, reason)
}

/**
 * Replaces the latest attempt at its nonce: the same transfer and gas limit (read from its signed bytes),
 * fees ≥ +12.5 % + 1 wei on both fields and at least today's market, under the network's cap. The new
 * attempt is stored in the signing transaction and broadcast after it. Over the cap, past
 * sweepAttemptsMax, or refused by the signer: the last attempt goes out again and the sweep alerts.
 */
async function replaceStuck(
  deps: SendDeps,
  proposal: TreasuryProposal,
  attempts: readonly TreasurySweepAttempt[],
): Promise<'replaced' | 'waiting'> {
  const latest = attempts.at(-1)
  assert(latest !== undefined, `sweep to cold ${proposal.id} has no stored attempt`)
  if (attempts.length >= treasuryLimits.sweepAttemptsMax)
    return await alertStuck(deps, proposal, latest, `stuck after ${attempts.length} attempts; needs a person`)
  const cap = networkFeeCapWei(deps.chain.network)
  const fees = hotWalletReplacementFees(latest, await deps.chain.feeMarket(), {
    maxFeePerGasCapWei: cap,
    maxPriorityFeePerGasCapWei: cap,
  })
  if (fees.kind === 'over-cap') {
    const reason =
      `nonce ${latest.nonce} stuck: a replacement needs ${fees.maxFeePerGas} wei/gas, over the cap ` +
      `of ${cap}; re-broadcasting the last one`
    return await alertStuck(deps, proposal, latest, reason)
  }
  const gas = parseTransaction(latest.rawTransaction).gas
  assert(gas !== undefined && gas > 0n, `sweep to cold ${proposal.id}: stored attempt without a gas limit`)
  const stored = await withTransaction(deps.pool, async (client) => {
    const locked = await repo.selectProposal(client, proposal.id, true)
    // Another worker resolved or replaced it since this one read it: its decision stands.
    if (locked?.status !== 'sent' || locked.txHash?.toLowerCase() !== latest.hash) return undefined
    const signed = await signSweep(deps, locked, {
      nonce: latest.nonce,
      gas,
      fees: { maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas },
    })
    const attempt = await repo.insertSweepAttempt(client, locked.id, signed)
    await repo.updateProposal(client, locked.id, {
      signed,
      error: `replaced ${latest.hash} with higher fees`,
    })
    return attempt
  }).catch(signerRefusalReason)
  if (typeof stored === 'string') return await alertStuck(deps, proposal, latest, stored)
  if (stored === undefined) return 'waiting'
  await broadcast(deps, proposal.id, stored)
  return 'replaced'
}

/**
 * Books a mined sweep in the caller's transaction: the gas its mined attempt burnt, always (a reverted
 * transaction pays for its gas too, as payouts book theirs: docs/adr/0014 §1), and the move hot → cold
 * only when the tokens moved as planned. Ids derive from the proposal, so it is booked once.
 */
async function bookSweepToCold(
  client: Queryable,
  proposal: TreasuryProposal,
  outcome: Readonly<{ moved: boolean; fee: bigint; hash: Hex }>,
) {
  const native = `ETH@${proposal.network}`
  const metadata = { proposal_id: proposal.id, tx_hash: outcome.hash }
  const requests: SingleTransferRequest[] = []
  if (outcome.moved)
    requests.push({
      kind: 'single',
      id: `treasury-sweep:${proposal.id}`,
      debitAccountId: (await getOrCreateSystemAccount(client, 'cold-wallet', proposal.assetId)).id,
      creditAccountId: (await getOrCreateSystemAccount(client, 'hot-wallet', proposal.assetId)).id,
      assetId: proposal.assetId,
      amount: proposal.amount,
      code: 'treasury-sweep-to-cold',
      metadata,
    })
  if (outcome.fee > 0n)
    requests.push({
      kind: 'single',
      id: `treasury-sweep-fee:${proposal.id}`,
      debitAccountId: (await getOrCreateSystemAccount(client, 'network-fee-expense', native)).id,
      creditAccountId: (await getOrCreateSystemAccount(client, 'hot-wallet', native)).id,
      assetId: native,
      amount: outcome.fee,
      code: 'network-fee',
      metadata,
    })
  if (requests.length > 0) await createTransfers(client, requests)
}

/** The attempt that has a receipt (only one can: they share a nonce), with its receipt. */
async function minedAttempt(deps: SendDeps, attempts: readonly TreasurySweepAttempt[]) {
  for (const attempt of attempts) {
    const receipt = await deps.chain.receipt(attempt.hash)
    if (receipt !== undefined) return { attempt, receipt }
  }
  return undefined
}

function movedAsPlanned(deps: SendDeps, proposal: TreasuryProposal, receipt: SweepReceipt): boolean {
  const moved = receipt.transfers.filter(
    (transfer) => transfer.tokenAddress === proposal.tokenAddress.toLowerCase(),
  )
  return (
    receipt.status === 'success' &&
    moved.length === 1 &&
    moved[0]?.from === deps.hotWalletAddress.toLowerCase() &&
    moved[0]?.to === proposal.coldAddress.toLowerCase() &&
    moved[0]?.amount === proposal.amount
  )
}

/**
 * sent → completed | failed at finality, from whichever attempt was mined (the others are abandoned: a
 * used nonce never mines again). Without any receipt the latest attempt goes out again, or is replaced
 * once it has waited replaceAfterMs.
 */
export async function resolveSentSweep(
  deps: SendDeps,
  proposal: TreasuryProposal,
  finalizedNumber: bigint,
): Promise<'completed' | 'failed' | 'replaced' | 'waiting'> {
  const attempts = await repo.selectSweepAttempts(deps.pool, proposal.id, treasuryLimits.sweepAttemptsMax)
  const latest = attempts.at(-1)
  assert(latest !== undefined, `sweep to cold ${proposal.id} is sent without a stored attempt`)
  const mined = await minedAttempt(deps, attempts)
  if (mined === undefined) {
    const age = clock(deps).getTime() - latest.createdAt.getTime()
    if (age >= (deps.replaceAfterMs ?? treasuryLimits.sweepReplaceAfterMs))
      return await replaceStuck(deps, proposal, attempts)
    await broadcast(deps, proposal.id, latest)
    return 'waiting'
  }
  const { attempt, receipt } = mined
  if (receipt.blockNumber > finalizedNumber) return 'waiting'
  const asPlanned = movedAsPlanned(deps, proposal, receipt)
  return await withTransaction(deps.pool, async (client) => {
    const locked = await repo.selectProposal(client, proposal.id, true)
    if (locked?.status !== 'sent') return 'waiting'
    await bookSweepToCold(client, locked, {
      moved: asPlanned,
      fee: receipt.gasUsed * receipt.effectiveGasPrice,
      hash: attempt.hash,
    })
    // The proposal keeps the mined attempt (its hash, bytes and fees), whichever it was.
    await repo.updateProposal(client, locked.id, {
      status: asPlanned ? 'completed' : 'failed',
      signed: attempt,
      blockNumber: receipt.blockNumber,
      error: asPlanned ? null : 'the sweep transaction did not move the tokens as planned',
    })
    return asPlanned ? 'completed' : 'failed'
  })
}

/** One run on one network: resolve (or replace) what was sent, send what was approved. */
export async function advanceSweepsToCold(
  deps: SendDeps,
  finalizedNumber: bigint,
): Promise<{ sent: number; replaced: number; completed: number; failed: number; waiting: number }> {
  const report = { sent: 0, replaced: 0, completed: 0, failed: 0, waiting: 0 }
  const network = deps.chain.network.name
  const limit = treasuryLimits.proposalsPerRunMax
  for (const proposal of await repo.selectOpenProposals(deps.pool, network, ['sent'], limit))
    report[await resolveSentSweep(deps, proposal, finalizedNumber)] += 1
  for (const proposal of await repo.selectOpenProposals(deps.pool, network, ['approved'], limit))
    report[await sendApprovedSweep(deps, proposal)] += 1
  return report
}
