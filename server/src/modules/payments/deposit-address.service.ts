import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { enqueueJob } from '../../db/job-queue.ts'
import type { Pool, PoolClient } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { deriveAccountAddress, getAccountXpub } from '../keys/key.service.ts'
import { depositAddressLimits } from './deposit-address.limits.ts'
import {
  claimPooledAddress,
  countPooled,
  insertDepositAddressUnlessOwned,
  insertPooledAddresses,
  lockHdIndexCounter,
  selectPoolsBelow,
  takeHdIndexes,
} from './deposit-address.repo.ts'
import { selectDepositAddressByOwner } from './payment.repo.ts'
import type { DepositAddress, DepositOwnerKind } from './payment.types.ts'

/**
 * Deposit address allocation (docs/adr/0018-deposit-address-pool.md). A request claims a pre-derived
 * address from its merchant's pool (one statement, no lock shared with other requests); only when the
 * pool is empty does it derive one itself, taking the merchant's index counter for the rest of its
 * transaction. A worker keeps pools topped up ahead of demand.
 */

export type DepositOwner = Readonly<{ merchantId: string; ownerKind: DepositOwnerKind; ownerId: string }>

export const refillDepositAddressPoolJobKind = 'refill-deposit-address-pool'
export const sweepDepositAddressPoolsJobKind = 'sweep-deposit-address-pools'

/** The owner's address, inside the caller's transaction (so the owner row and its address commit together). */
export async function allocateDepositAddressInTransaction(
  client: PoolClient,
  owner: DepositOwner,
): Promise<DepositAddress> {
  // Invoices are new owners; a customer's permanent address is asked for again and again.
  const permanent = owner.ownerKind !== 'invoice'
  if (permanent) {
    const existing = await selectDepositAddressByOwner(
      client,
      owner.merchantId,
      owner.ownerKind,
      owner.ownerId,
    )
    if (existing !== undefined) return existing
  }
  const claimed = await claimPooledAddress(client, owner)
  if (claimed !== undefined) {
    if (claimed.hdIndex % depositAddressLimits.refillEveryClaims === 0)
      await requestRefill(client, owner.merchantId)
    return claimed
  }
  // Empty pool, or a concurrent request gave this permanent owner its address first.
  if (permanent) {
    const existing = await selectDepositAddressByOwner(
      client,
      owner.merchantId,
      owner.ownerKind,
      owner.ownerId,
    )
    if (existing !== undefined) return existing
  }
  return await deriveForOwner(client, owner)
}

async function deriveForOwner(client: PoolClient, owner: DepositOwner): Promise<DepositAddress> {
  const account = await getAccountXpub(client, owner.merchantId)
  const hdIndex = await takeHdIndexes(client, owner.merchantId, 1)
  await requestRefill(client, owner.merchantId)
  const address = deriveAccountAddress(account.xpub, hdIndex).toLowerCase()
  const created = { ...owner, address, hdAccount: account.accountIndex, hdIndex }
  const inserted = await insertDepositAddressUnlessOwned(client, created)
  if (inserted !== undefined) return inserted
  const existing = await selectDepositAddressByOwner(client, owner.merchantId, owner.ownerKind, owner.ownerId)
  if (existing === undefined) throw new Error('deposit address neither inserted nor found for its owner')
  return existing
}

async function requestRefill(client: PoolClient, merchantId: string): Promise<void> {
  await enqueueJob(
    client,
    refillDepositAddressPoolJobKind,
    { merchant_id: merchantId },
    { dedupeKey: `${refillDepositAddressPoolJobKind}:${merchantId}` },
  )
}

/**
 * Tops the merchant's pool up towards its target, at most one batch per call; returns how many were
 * added. The index counter is locked first, so two refills of one merchant run one after the other.
 */
export async function refillDepositAddressPool(pool: Pool, merchantId: string): Promise<number> {
  return await withTransaction(pool, async (client) => {
    const next = await lockHdIndexCounter(client, merchantId)
    const missing = depositAddressLimits.poolTargetPerMerchant - (await countPooled(client, merchantId))
    if (missing <= 0) return 0
    const account = await getAccountXpub(client, merchantId)
    const derived: { hdIndex: number; address: string }[] = []
    for (let hdIndex = next; derived.length < missing; hdIndex += 1) {
      derived.push({ hdIndex, address: deriveAccountAddress(account.xpub, hdIndex).toLowerCase() })
      if (derived.length === depositAddressLimits.refillBatchMax) break
      if (derived.length % depositAddressLimits.deriveSliceMax === 0) await yieldToEventLoop()
    }
    await insertPooledAddresses(client, merchantId, account.accountIndex, derived)
    await takeHdIndexes(client, merchantId, derived.length)
    return derived.length
  })
}

/** Periodic: refills every active merchant's pool left below its target (a lost trigger, a restart). */
export async function refillLowDepositAddressPools(pool: Pool): Promise<number> {
  const low = await selectPoolsBelow(
    pool,
    depositAddressLimits.poolTargetPerMerchant - depositAddressLimits.refillEveryClaims,
    depositAddressLimits.merchantsPerSweepMax,
  )
  let added = 0
  for (const { merchantId } of low) added += await refillDepositAddressPool(pool, merchantId)
  return added
}
