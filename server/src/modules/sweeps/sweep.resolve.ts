import { withTransaction } from '../../db/tx.ts'
import { assert } from '../../lib/assert.ts'
import { bookSweepFailed, bookSweepFinal, bookTopUp, bookTopUpReverted } from './sweep.ledger.ts'
import { sweepLimits } from './sweep.limits.ts'
import {
  lockSweep,
  recordWaitingReason,
  releaseSweepPayments,
  selectTopUpAttempts,
  updateSweep,
} from './sweep.repo.ts'
import { broadcastStored, now, replaceStuckTopUp } from './sweep.send.ts'
import { decideSent, decideTopUp, transition } from './sweep.state.ts'
import type { GasFundingSweep, SentSweep, SweepDeps, SweepObservation, TopUpAttempt } from './sweep.types.ts'

/**
 * Resolves broadcast transactions from their receipts, which is also how a restart resumes: whatever
 * the process knew before it died, the stored hash and the chain tell the rest. No receipt means
 * "broadcast again" (the same signed bytes), never "failed".
 */

/** The first attempt that has a receipt (only one can: they share a nonce), with its receipt. */
async function minedTopUp(deps: SweepDeps, attempts: readonly TopUpAttempt[]) {
  for (const attempt of attempts) {
    const receipt = await deps.chain.receipt(attempt.hash)
    if (receipt !== undefined) return { attempt, receipt }
  }
  return undefined
}

/**
 * No attempt has a receipt: the latest is broadcast again (the same signed bytes), or, once it has waited
 * topUpReplaceAfterMs, replaced at its nonce with higher fees (sweep.send.ts replaceStuckTopUp).
 */
async function rebroadcastOrReplaceTopUp(
  deps: SweepDeps,
  sweep: GasFundingSweep,
  attempts: readonly TopUpAttempt[],
): Promise<'replaced' | 'waiting'> {
  const latest = attempts.at(-1)
  assert(latest !== undefined, `sweep ${sweep.id}: gas-funding without a stored top-up attempt`)
  const age = now(deps).getTime() - latest.createdAt.getTime()
  if (age >= (deps.replaceAfterMs ?? sweepLimits.topUpReplaceAfterMs))
    return await replaceStuckTopUp(deps, sweep, attempts)
  await broadcastStored(deps, { sweepId: sweep.id, kind: 'top-up', hash: latest.hash }, latest)
  return 'waiting'
}

/**
 * gas-funding → ready at the receipt of whichever top-up attempt was mined (booked then, with that
 * attempt's gas; the others are abandoned: they can never be mined at a used nonce), or → failed if it
 * reverted. Without a receipt: broadcast again, or replace when stuck.
 */
export async function resolveFundingSweep(
  deps: SweepDeps,
  sweep: GasFundingSweep,
): Promise<'ready' | 'failed' | 'replaced' | 'waiting'> {
  const attempts = await selectTopUpAttempts(deps.pool, sweep.id, sweepLimits.topUpAttemptsMax)
  const mined = await minedTopUp(deps, attempts)
  if (mined === undefined) return await rebroadcastOrReplaceTopUp(deps, sweep, attempts)
  const { attempt, receipt } = mined
  const decision = decideTopUp(receipt)
  const topUpTransaction = {
    nonce: attempt.nonce,
    rawTransaction: attempt.rawTransaction,
    hash: attempt.hash,
  }
  const topUpSpent = { gasUsed: receipt.gasUsed, effectiveGasPrice: receipt.effectiveGasPrice }
  return await withTransaction(deps.pool, async (client) => {
    const locked = await lockSweep(client, sweep.id)
    if (locked?.status !== 'gas-funding') return 'waiting'
    if (decision === 'included') {
      await bookTopUp(client, locked, attempt.hash, topUpSpent)
      const status = transition('gas-funding', 'top-up-included')
      // The sweep keeps the mined attempt: after a reorg those bytes go out again (rebroadcastSent).
      await updateSweep(client, sweep.id, 'gas-funding', {
        status,
        topUpTransaction,
        topUpSpent,
        error: null,
      })
      return 'ready'
    }
    await bookTopUpReverted(client, locked, attempt.hash, topUpSpent)
    const status = transition('gas-funding', 'top-up-reverted')
    await updateSweep(client, sweep.id, 'gas-funding', {
      status,
      topUpTransaction,
      topUpSpent,
      error: 'gas top-up reverted',
    })
    await releaseSweepPayments(client, sweep.id)
    deps.logger.error({ sweepId: sweep.id, txHash: attempt.hash }, 'gas top-up reverted')
    return 'failed'
  })
}

/**
 * No receipt yet: broadcast again. The top-up first, in case a reorg took it out: the sweep cannot be
 * mined without its gas, and both are the stored bytes, so nothing is ever signed twice.
 */
async function rebroadcastSent(deps: SweepDeps, sweep: SentSweep): Promise<'waiting'> {
  const topUp = sweep.topUp.transaction
  if (topUp !== null && (await deps.chain.receipt(topUp.hash)) === undefined) {
    await broadcastStored(deps, { sweepId: sweep.id, kind: 'top-up', hash: topUp.hash }, topUp)
  }
  await broadcastStored(
    deps,
    { sweepId: sweep.id, kind: 'sweep', hash: sweep.transaction.hash },
    sweep.transaction,
  )
  return 'waiting'
}

/**
 * sent → finalized once its receipt satisfies the network's finality rule and shows the planned Transfer
 * (booked: in transit → hot wallet, gas → expense); → failed when it moved nothing (sweep-send reversed,
 * gas still booked, payments released for another sweep). A partial or odd transfer waits for a person.
 */
export async function resolveSentSweep(
  deps: SweepDeps,
  sweep: SentSweep,
  observation: SweepObservation,
): Promise<'finalized' | 'failed' | 'waiting'> {
  const hash = sweep.transaction.hash
  const receipt = await deps.chain.receipt(hash)
  const decision = decideSent(receipt, observation.finalizedNumber, {
    tokenAddress: sweep.tokenAddress,
    from: sweep.depositAddress,
    to: sweep.hotWalletAddress,
    amount: sweep.amount,
  })
  if (decision.kind === 'rebroadcast' || receipt === undefined) return await rebroadcastSent(deps, sweep)
  if (decision.kind === 'wait') return 'waiting'
  if (decision.kind === 'anomaly') {
    deps.logger.error(
      { sweepId: sweep.id, txHash: hash, transfers: receipt.transfers.length },
      decision.reason,
    )
    await recordWaitingReason(deps.pool, sweep.id, decision.reason)
    return 'waiting'
  }
  const spent = { gasUsed: receipt.gasUsed, effectiveGasPrice: receipt.effectiveGasPrice }
  const blockNumber = receipt.blockNumber
  return await withTransaction(deps.pool, async (client) => {
    const locked = await lockSweep(client, sweep.id)
    if (locked?.status !== 'sent') return 'waiting'
    if (decision.kind === 'finalize') {
      await bookSweepFinal(client, locked, hash, spent)
      const status = transition('sent', 'sweep-final')
      await updateSweep(client, sweep.id, 'sent', {
        status,
        blockNumber,
        spent,
        finalized: true,
        error: null,
      })
      return 'finalized'
    }
    await bookSweepFailed(client, locked, hash, spent)
    const status = transition('sent', 'sweep-moved-nothing')
    await updateSweep(client, sweep.id, 'sent', { status, blockNumber, spent, error: decision.reason })
    await releaseSweepPayments(client, sweep.id)
    deps.logger.error({ sweepId: sweep.id, txHash: hash }, decision.reason)
    return 'failed'
  })
}
