import { withTransaction } from '../../db/tx.ts'
import { bookSweepFailed, bookSweepFinal, bookTopUp, bookTopUpReverted } from './sweep.ledger.ts'
import { lockSweep, recordWaitingReason, releaseSweepPayments, updateSweep } from './sweep.repo.ts'
import { broadcastStored } from './sweep.send.ts'
import { decideSent, decideTopUp, transition } from './sweep.state.ts'
import type { GasFundingSweep, SentSweep, SweepDeps, SweepObservation } from './sweep.types.ts'

/**
 * Resolves broadcast transactions from their receipts, which is also how a restart resumes: whatever
 * the process knew before it died, the stored hash and the chain tell the rest. No receipt means
 * "broadcast again" (the same signed bytes), never "failed".
 */

/** gas-funding → ready at the top-up's receipt (booked then), or → failed if it reverted. */
export async function resolveFundingSweep(
  deps: SweepDeps,
  sweep: GasFundingSweep,
): Promise<'ready' | 'failed' | 'waiting'> {
  const transaction = sweep.topUp.transaction
  const receipt = await deps.chain.receipt(transaction.hash)
  const decision = decideTopUp(receipt)
  if (decision === 'rebroadcast' || receipt === undefined) {
    await broadcastStored(deps, { sweepId: sweep.id, kind: 'top-up', hash: transaction.hash }, transaction)
    return 'waiting'
  }
  const topUpSpent = { gasUsed: receipt.gasUsed, effectiveGasPrice: receipt.effectiveGasPrice }
  return await withTransaction(deps.pool, async (client) => {
    const locked = await lockSweep(client, sweep.id)
    if (locked?.status !== 'gas-funding') return 'waiting'
    if (decision === 'included') {
      await bookTopUp(client, locked, transaction.hash, topUpSpent)
      const status = transition('gas-funding', 'top-up-included')
      await updateSweep(client, sweep.id, 'gas-funding', { status, topUpSpent, error: null })
      return 'ready'
    }
    await bookTopUpReverted(client, locked, transaction.hash, topUpSpent)
    const status = transition('gas-funding', 'top-up-reverted')
    await updateSweep(client, sweep.id, 'gas-funding', { status, topUpSpent, error: 'gas top-up reverted' })
    await releaseSweepPayments(client, sweep.id)
    deps.logger.error({ sweepId: sweep.id, txHash: transaction.hash }, 'gas top-up reverted')
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
