import type { Address } from 'viem'
import { withTransaction } from '../../db/tx.ts'
import { assert } from '../../lib/assert.ts'
import { deriveEvmPrivateKey } from '../keys/key.service.ts'
import type { EvmSigningKey } from '../keys/key.types.ts'
import { encodeTokenTransfer, signEip1559 } from './sweep.chain.ts'
import { bookSweepSent } from './sweep.ledger.ts'
import { sweepLimits } from './sweep.limits.ts'
import {
  insertTopUpAttempt,
  lockSweep,
  recordBroadcast,
  recordTopUpAttemptBroadcast,
  recordWaitingReason,
  takeHotWalletNonce,
  updateSweep,
} from './sweep.repo.ts'
import {
  feesFor,
  fundedFees,
  gasLimitFor,
  replacementFees,
  smallerOf,
  topUpAmount,
  transition,
} from './sweep.state.ts'
import {
  type BroadcastPoint,
  type FeeCaps,
  type FeeMarket,
  type Fees,
  type GasFundingSweep,
  type GasPlan,
  gatewayHotWalletPath,
  type PlannedSweep,
  type ReadySweep,
  type SignedTransaction,
  type SweepDeps,
  type TopUpAttempt,
} from './sweep.types.ts'

/**
 * Signing and broadcasting. The order is the point of this file: derive the key and read the chain
 * first; then, in one transaction, lock the sweep, sign, store the signed bytes (with the ledger posting
 * and the nonce it consumed); broadcast only after that commit. A crash anywhere leaves either nothing
 * signed or a stored transaction that the next tick broadcasts again, byte for byte.
 */

export function depositKeyPath(sweep: { hdAccount: number; hdIndex: number }): string {
  return `m/44'/60'/${sweep.hdAccount}'/0/${sweep.hdIndex}`
}

async function signingKey(deps: SweepDeps, path: string, expected: Address): Promise<EvmSigningKey> {
  const key = await deriveEvmPrivateKey(deps.pool, deps.masterKeyProvider, path)
  // A mismatch means a wrong HD account or seed: signing would move someone else's funds, or nothing.
  assert(key.address.toLowerCase() === expected.toLowerCase(), `key ${path} does not derive ${expected}`)
  return key
}

/** The signing worker's clock: attempts are dated and judged stuck on it. */
export function now(deps: SweepDeps): Date {
  return deps.now?.() ?? new Date()
}

function errorText(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error)
}

/**
 * Broadcasts a stored transaction (first time or again). A node that already has it, or has mined it,
 * is fine: the receipt decides. Any other refusal is recorded and retried next tick; it never fails the
 * sweep, because "unknown" is not "failed".
 */
export async function broadcastStored(
  deps: SweepDeps,
  point: BroadcastPoint,
  transaction: SignedTransaction,
): Promise<void> {
  deps.faults?.beforeBroadcast?.(point)
  try {
    const outcome = await deps.chain.broadcast(transaction.rawTransaction)
    if (outcome === 'already-known')
      deps.logger.info({ ...point, nonce: transaction.nonce }, 'sweep transaction already known to the node')
    if (outcome === 'nonce-used') {
      // Usually ours, mined since the receipt was read; if no receipt ever appears, something else used
      // the nonce and a person must look (the sweep keeps its state and its ledger posting until then).
      const reason = `${point.kind} nonce ${transaction.nonce} already used on chain; waiting for its receipt`
      deps.logger.warn({ ...point, nonce: transaction.nonce }, reason)
      await recordWaitingReason(deps.pool, point.sweepId, reason)
    }
  } catch (error) {
    const reason = `${point.kind} broadcast refused: ${errorText(error)}`
    deps.logger.warn({ ...point, nonce: transaction.nonce, err: errorText(error) }, reason)
    await recordWaitingReason(deps.pool, point.sweepId, reason)
    return
  }
  deps.faults?.afterBroadcast?.(point)
  await recordBroadcast(deps.pool, point.sweepId)
  if (point.kind === 'top-up') await recordTopUpAttemptBroadcast(deps.pool, point.hash)
}

async function waitFor(deps: SweepDeps, sweepId: string, reason: string): Promise<'waiting'> {
  deps.logger.warn({ sweepId, network: deps.chain.network.name }, reason)
  await recordWaitingReason(deps.pool, sweepId, reason)
  return 'waiting'
}

async function planGas(deps: SweepDeps, sweep: PlannedSweep, market: FeeMarket): Promise<GasPlan | string> {
  const fees = feesFor(market)
  if (fees.kind === 'over-cap') return `fees over the cap (max fee ${fees.maxFeePerGas} wei/gas); waiting`
  try {
    const estimate = await deps.chain.estimateTokenTransferGas({
      from: sweep.depositAddress,
      tokenAddress: sweep.tokenAddress,
      to: sweep.hotWalletAddress,
      amount: sweep.amount,
    })
    return { gasLimit: gasLimitFor(estimate), maxFeePerGas: fees.maxFeePerGas }
  } catch (error) {
    // A revert here (token paused, sender blacklisted) would revert on chain too: do not pay to find out.
    return `gas estimate failed: ${errorText(error)}`
  }
}

/** Top-ups the gas station may still sign this tick (sweep.limits.ts topUpsInFlightMax). */
export type TopUpBudget = { remaining: number }

/**
 * planned → gas-funding (top-up signed, stored, broadcast) or → ready (the address already holds
 * enough native coin, e.g. dust of an earlier sweep). The top-up pays gas limit × max fee of the sweep.
 */
export async function fundPlannedSweep(
  deps: SweepDeps,
  sweep: PlannedSweep,
  market: FeeMarket,
  budget: TopUpBudget,
): Promise<'funded' | 'waiting'> {
  const gas = await planGas(deps, sweep, market)
  if (typeof gas === 'string') return await waitFor(deps, sweep.id, gas)
  const amount = topUpAmount(gas, await deps.chain.nativeBalance(sweep.depositAddress))
  if (amount === 0n) {
    await withTransaction(deps.pool, async (client) => {
      if ((await lockSweep(client, sweep.id))?.status !== 'planned') return
      const status = transition('planned', 'gas-already-funded')
      await updateSweep(client, sweep.id, 'planned', { status, gas, topUpAmount: 0n, error: null })
    })
    return 'funded'
  }
  if (budget.remaining <= 0)
    return await waitFor(deps, sweep.id, 'gas station has its maximum of top-ups in flight')
  budget.remaining -= 1
  const stored = await signTopUp(deps, sweep, { gas, amount, fees: feesFor(market) })
  if (stored === undefined) return 'waiting'
  await broadcastStored(deps, { sweepId: sweep.id, kind: 'top-up', hash: stored.hash }, stored)
  return 'funded'
}

/** Takes the gas station's next nonce, signs the top-up and stores it (not broadcast yet). */
async function signTopUp(
  deps: SweepDeps,
  sweep: PlannedSweep,
  plan: { gas: GasPlan; amount: bigint; fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } },
): Promise<SignedTransaction | undefined> {
  const { gas, amount, fees } = plan
  const key = await signingKey(deps, gatewayHotWalletPath, deps.hotWalletAddress)
  const chainPendingCount = await deps.chain.transactionCount(deps.hotWalletAddress)
  return await withTransaction(deps.pool, async (client) => {
    if ((await lockSweep(client, sweep.id))?.status !== 'planned') return undefined
    const network = deps.chain.network
    const nonce = await takeHotWalletNonce(client, {
      network: network.name,
      address: deps.hotWalletAddress,
      chainPendingCount,
    })
    const signed = await signEip1559(key.privateKey, network.chainId, {
      to: sweep.depositAddress,
      value: amount,
      gas: sweepLimits.nativeTransferGas,
      nonce,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    })
    const topUpTransaction = { nonce, ...signed }
    // Every attempt is kept (a replacement may follow at this nonce, and either may be mined).
    await insertTopUpAttempt(client, sweep.id, { ...topUpTransaction, ...fees, createdAt: now(deps) })
    const status = transition('planned', 'top-up-signed')
    await updateSweep(client, sweep.id, 'planned', {
      status,
      gas,
      topUpAmount: amount,
      topUpTransaction,
      error: null,
      newTransaction: true,
    })
    return topUpTransaction
  })
}

/**
 * ready → sent: signs the token transfer with the deposit address's key and its chain nonce (the address
 * sends nothing else, one sweep at a time), stores it with the `sweep-send` posting, then broadcasts.
 */
export async function sendReadySweep(
  deps: SweepDeps,
  sweep: ReadySweep,
  market: FeeMarket,
): Promise<'sent' | 'waiting'> {
  const balance = await deps.chain.nativeBalance(sweep.depositAddress)
  const fees = fundedFees(market, balance, sweep.gas.gasLimit)
  if (fees.kind === 'over-cap') return await waitFor(deps, sweep.id, 'fees over the cap; waiting')
  if (fees.kind === 'underfunded') {
    // A reorg may have taken the top-up out after it was booked: its stored bytes go out again.
    const topUp = sweep.topUp.transaction
    if (topUp !== null && (await deps.chain.receipt(topUp.hash)) === undefined)
      await broadcastStored(deps, { sweepId: sweep.id, kind: 'top-up', hash: topUp.hash }, topUp)
    const reason = `address can pay ${fees.affordableMaxFeePerGas} wei/gas, below the base fee; waiting`
    return await waitFor(deps, sweep.id, reason)
  }
  const key = await signingKey(deps, depositKeyPath(sweep), sweep.depositAddress)
  const nonce = await deps.chain.transactionCount(sweep.depositAddress)
  const stored = await withTransaction(deps.pool, async (client) => {
    const locked = await lockSweep(client, sweep.id)
    if (locked?.status !== 'ready') return undefined
    const signed = await signEip1559(key.privateKey, deps.chain.network.chainId, {
      to: sweep.tokenAddress,
      data: encodeTokenTransfer(sweep.hotWalletAddress, sweep.amount),
      value: 0n,
      gas: sweep.gas.gasLimit,
      nonce,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    })
    const transaction = { nonce, ...signed }
    const status = transition('ready', 'sweep-signed')
    await updateSweep(client, sweep.id, 'ready', { status, transaction, error: null, newTransaction: true })
    await bookSweepSent(client, locked, transaction.hash)
    return transaction
  })
  if (stored === undefined) return 'waiting'
  await broadcastStored(deps, { sweepId: sweep.id, kind: 'sweep', hash: stored.hash }, stored)
  return 'sent'
}

/** A top-up's caps: the sweeps' own, and the network's max fee cap when lower (docs/adr/0016 §4). */
function topUpFeeCaps(deps: SweepDeps): FeeCaps {
  const networkCap = deps.chain.network.maxFeePerGasCapWei ?? sweepLimits.maxFeePerGasCapWei
  return {
    maxFeePerGasCapWei: smallerOf(sweepLimits.maxFeePerGasCapWei, networkCap),
    maxPriorityFeePerGasCapWei: sweepLimits.maxPriorityFeePerGasCapWei,
  }
}

/** A stuck top-up that cannot be replaced stays at its nonce and alerts: it holds back the hot wallet. */
async function alertStuckTopUp(
  deps: SweepDeps,
  sweep: GasFundingSweep,
  latest: TopUpAttempt,
  reason: string,
): Promise<'waiting'> {
  await broadcastStored(deps, { sweepId: sweep.id, kind: 'top-up', hash: latest.hash }, latest)
  deps.logger.error(
    { sweepId: sweep.id, network: deps.chain.network.name, nonce: latest.nonce, txHash: latest.hash },
    reason,
  )
  await recordWaitingReason(deps.pool, sweep.id, reason)
  return 'waiting'
}

/**
 * A top-up without a receipt after topUpReplaceAfterMs: the same transfer (same value, same nonce) signed
 * again with fees ≥ +12.5 % on both fields and at least today's market, stored as the next attempt in the
 * transaction that decides it, then broadcast. Over the caps (or past topUpAttemptsMax) it is not replaced:
 * the last attempt is broadcast again and the sweep alerts. The nonce is never given up.
 */
export async function replaceStuckTopUp(
  deps: SweepDeps,
  sweep: GasFundingSweep,
  attempts: readonly TopUpAttempt[],
): Promise<'replaced' | 'waiting'> {
  const latest = attempts.at(-1)
  assert(latest !== undefined, `sweep ${sweep.id}: gas-funding without a stored top-up attempt`)
  if (attempts.length >= sweepLimits.topUpAttemptsMax) {
    const reason = `top-up nonce ${latest.nonce} stuck after ${attempts.length} attempts; needs a person`
    return await alertStuckTopUp(deps, sweep, latest, reason)
  }
  const decision = replacementFees(latest, await deps.chain.feeMarket(), topUpFeeCaps(deps))
  if (decision.kind === 'over-cap') {
    const reason =
      `top-up nonce ${latest.nonce} stuck: a replacement needs ${decision.maxFeePerGas} wei/gas ` +
      `(tip ${decision.maxPriorityFeePerGas}), over the cap; re-broadcasting the last one`
    return await alertStuckTopUp(deps, sweep, latest, reason)
  }
  const stored = await signTopUpReplacement(deps, sweep, latest, {
    maxFeePerGas: decision.maxFeePerGas,
    maxPriorityFeePerGas: decision.maxPriorityFeePerGas,
  })
  if (stored === undefined) return 'waiting'
  await broadcastStored(deps, { sweepId: sweep.id, kind: 'top-up', hash: stored.hash }, stored)
  return 'replaced'
}

async function signTopUpReplacement(
  deps: SweepDeps,
  sweep: GasFundingSweep,
  latest: TopUpAttempt,
  fees: Fees,
): Promise<SignedTransaction | undefined> {
  const key = await signingKey(deps, gatewayHotWalletPath, deps.hotWalletAddress)
  return await withTransaction(deps.pool, async (client) => {
    const locked = await lockSweep(client, sweep.id)
    // Another worker resolved or replaced it since this one read it: its decision stands.
    if (locked?.status !== 'gas-funding' || locked.topUp.transaction.hash !== latest.hash) return undefined
    const signed = await signEip1559(key.privateKey, deps.chain.network.chainId, {
      to: locked.depositAddress,
      value: locked.topUp.amount,
      gas: sweepLimits.nativeTransferGas,
      nonce: latest.nonce,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    })
    const topUpTransaction = { nonce: latest.nonce, ...signed }
    await insertTopUpAttempt(client, sweep.id, { ...topUpTransaction, ...fees, createdAt: now(deps) })
    await updateSweep(client, sweep.id, 'gas-funding', {
      topUpTransaction,
      error: `top-up ${latest.hash} replaced with higher fees`,
      newTransaction: true,
    })
    return topUpTransaction
  })
}
