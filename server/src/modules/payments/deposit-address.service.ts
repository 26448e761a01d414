import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { enqueueJob } from '../../db/job-queue.ts'
import type { Pool, PoolClient } from '../../db/pool.ts'
import type { GatedWriteBuilder } from '../../db/statement.ts'
import { withTransaction } from '../../db/tx.ts'
import { deriveAccountAddress, getAccountXpub } from '../keys/key.service.ts'
import { depositAddressLimits } from './deposit-address.limits.ts'
import {
  claimPooledAddress,
  countPooled,
  insertDepositAddressUnlessOwned,
  insertPooledAddresses,
  invoiceAddressWrite,
  lockHdIndexCounter,
  type PooledAddress,
  returnPooledAddresses,
  selectPoolsBelow,
  takeHdIndexes,
  takePooledAddresses,
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

export type HeldAddress = PooledAddress

type ReserveLimits = { perMerchant: number; refillBelow: number; merchantsMax: number }

const reserveLimits: ReserveLimits = {
  perMerchant: depositAddressLimits.reservePerMerchant,
  refillBelow: depositAddressLimits.reserveRefillBelow,
  merchantsMax: depositAddressLimits.reserveMerchantsMax,
}

/**
 * Pooled addresses an API process holds in memory, per merchant, so that creating an invoice knows its
 * address before it writes and can write everything in one statement (ADR 0022). `take` never waits:
 * with nothing held it answers undefined (the caller claims from the pool in its transaction) and
 * fetches more in the background. What the process still holds at `close` goes back to the pool; what
 * dies with it is an index gap, as a rolled-back claim's is (ADR 0018).
 */
export class DepositAddressReserve {
  readonly #pool: Pool
  readonly #held = new Map<string, HeldAddress[]>()
  readonly #fetching = new Map<string, Promise<void>>()
  readonly #onError: (error: unknown) => void
  readonly #limits: ReserveLimits
  #closed = false

  constructor(pool: Pool, onError: (error: unknown) => void, limits: Partial<ReserveLimits> = {}) {
    this.#pool = pool
    this.#onError = onError
    this.#limits = { ...reserveLimits, ...limits }
  }

  /** A held address of the merchant's, or undefined when none is held right now. */
  take(merchantId: string): HeldAddress | undefined {
    const held = this.#held.get(merchantId)
    const address = held?.pop()
    if ((held?.length ?? 0) < this.#limits.refillBelow) this.#fetch(merchantId)
    return address
  }

  /** An address taken but not used (its statement wrote nothing, or failed) is held again. */
  giveBack(merchantId: string, address: HeldAddress): void {
    if (this.#closed) {
      void returnPooledAddresses(this.#pool, merchantId, [address]).catch(this.#onError)
      return
    }
    const held = this.#held.get(merchantId) ?? []
    held.push(address)
    this.#held.set(merchantId, held)
  }

  /** How many addresses of the merchant's are held (tests, metrics). */
  heldCount(merchantId: string): number {
    return this.#held.get(merchantId)?.length ?? 0
  }

  /** Resolves when no fetch is under way (tests). */
  async settled(): Promise<void> {
    await Promise.all(this.#fetching.values())
  }

  /** Stops fetching and puts every held address back into its merchant's pool. */
  async close(): Promise<void> {
    this.#closed = true
    await this.settled()
    const entries = [...this.#held.entries()]
    this.#held.clear()
    for (const [merchantId, held] of entries) {
      if (held.length > 0) await returnPooledAddresses(this.#pool, merchantId, held)
    }
  }

  #fetch(merchantId: string): void {
    if (this.#closed || this.#fetching.has(merchantId)) return
    if (!this.#held.has(merchantId) && this.#held.size >= this.#limits.merchantsMax) return
    const fetching = this.#fetchNow(merchantId)
      .catch(this.#onError)
      .finally(() => this.#fetching.delete(merchantId))
    this.#fetching.set(merchantId, fetching)
  }

  async #fetchNow(merchantId: string): Promise<void> {
    const held = this.#held.get(merchantId) ?? []
    this.#held.set(merchantId, held)
    const wanted = this.#limits.perMerchant - held.length
    if (wanted <= 0) return
    const taken = await withTransaction(this.#pool, async (client) => {
      const rows = await takePooledAddresses(client, merchantId, wanted)
      // Same trigger as a single claim's: crossing every N-th index asks the worker for a refill.
      if (
        rows.length < wanted ||
        rows.some((row) => row.hdIndex % depositAddressLimits.refillEveryClaims === 0)
      )
        await requestRefill(client, merchantId)
      return rows
    })
    if (this.#closed) {
      await returnPooledAddresses(this.#pool, merchantId, taken)
      return
    }
    held.push(...taken)
  }
}

/** The write of a held address for a new invoice, gated as db/statement.ts describes. */
export function heldInvoiceAddressWrite(
  owner: { merchantId: string; invoiceId: string },
  held: HeldAddress,
): GatedWriteBuilder {
  return (gate) => invoiceAddressWrite(gate, owner, held)
}
