import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { enqueueJob } from '../../db/job-queue.ts'
import type { Pool, PoolClient, Queryable } from '../../db/pool.ts'
import type { GatedWrite } from '../../db/statement.ts'
import { deriveAccountAddress, deriveAccountAddresses, getAccountXpub } from '../keys/key.service.ts'
import { type PoolDemand, type ReserveDemand, reserveAfterTake } from './deposit-address.demand.ts'
import { depositAddressLimits } from './deposit-address.limits.ts'
import {
  claimPooledAddress,
  countPooled,
  type InvoiceAddressRow,
  insertDepositAddressUnlessOwned,
  insertPooledAddresses,
  invoiceAddressesWrite,
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
  const address = deriveAccountAddress(account.xpub, hdIndex)
  const created = { ...owner, address, hdAccount: account.accountIndex, hdIndex }
  const inserted = await insertDepositAddressUnlessOwned(client, created)
  if (inserted !== undefined) return inserted
  const existing = await selectDepositAddressByOwner(client, owner.merchantId, owner.ownerKind, owner.ownerId)
  if (existing === undefined) throw new Error('deposit address neither inserted nor found for its owner')
  return existing
}

async function requestRefill(db: Queryable, merchantId: string): Promise<void> {
  await enqueueJob(
    db,
    refillDepositAddressPoolJobKind,
    { merchant_id: merchantId },
    { dedupeKey: `${refillDepositAddressPoolJobKind}:${merchantId}` },
  )
}

/**
 * Tops the merchant's pool up to its target, in batches; returns how many were added. The target follows
 * the merchant's recent demand as `demand` observed it (deposit-address.demand.ts), poolTargetMin when
 * there is no estimate (a fresh worker, a one-off call). No transaction:
 * each batch takes its indexes in one statement of its own (the counter row is locked for that statement
 * only, so requests deriving inline never wait for a refill's derivation), derives them outside any
 * transaction and inserts them. A crash between taking and inserting leaves an index gap (ADR 0018:
 * harmless). Two refills of one merchant at once may overshoot the target by a batch: harmless too.
 */
export async function refillDepositAddressPool(
  pool: Pool,
  merchantId: string,
  demand?: PoolDemand,
): Promise<number> {
  const pooled = await countPooled(pool, merchantId)
  const target = demand?.observe(merchantId, pooled) ?? depositAddressLimits.poolTargetMin
  const missing = target - pooled
  if (missing <= 0) return 0
  const account = await getAccountXpub(pool, merchantId)
  let added = 0
  while (added < missing) {
    let count = missing - added
    if (count > depositAddressLimits.refillBatchMax) count = depositAddressLimits.refillBatchMax
    const first = await takeHdIndexes(pool, merchantId, count)
    const derived = await deriveSliced(account.xpub, first, count)
    await insertPooledAddresses(pool, merchantId, account.accountIndex, derived)
    demand?.added(merchantId, count)
    added += count
  }
  return added
}

/** Derives indexes `first … first + count - 1`, yielding to the event loop between slices. */
async function deriveSliced(
  accountXpub: string,
  first: number,
  count: number,
): Promise<{ hdIndex: number; address: string }[]> {
  const derived: { hdIndex: number; address: string }[] = []
  while (derived.length < count) {
    if (derived.length > 0) await yieldToEventLoop()
    const sliceFirst = first + derived.length
    let sliceCount = count - derived.length
    if (sliceCount > depositAddressLimits.deriveSliceMax) sliceCount = depositAddressLimits.deriveSliceMax
    const slice = deriveAccountAddresses(accountXpub, sliceFirst, sliceCount)
    for (const [offset, address] of slice.entries()) derived.push({ hdIndex: sliceFirst + offset, address })
  }
  return derived
}

/**
 * Periodic: refills every active merchant's pool left below its floor (a lost trigger, a restart), up
 * to its demand-sized target. Pools between floor and target wait for their next claim trigger.
 */
export async function refillLowDepositAddressPools(pool: Pool, demand?: PoolDemand): Promise<number> {
  const low = await selectPoolsBelow(
    pool,
    depositAddressLimits.poolTargetMin - depositAddressLimits.refillEveryClaims,
    depositAddressLimits.merchantsPerSweepMax,
  )
  let added = 0
  for (const { merchantId } of low) added += await refillDepositAddressPool(pool, merchantId, demand)
  return added
}

export type HeldAddress = PooledAddress

/** A held address given to a new invoice (one row of heldInvoiceAddressesWrite). */
export type HeldInvoiceAddress = InvoiceAddressRow

type ReserveLimits = { sizeMin: number; sizeMax: number; merchantsMax: number }

const reserveLimits: ReserveLimits = {
  sizeMin: depositAddressLimits.reserveMin,
  sizeMax: depositAddressLimits.reserveMax,
  merchantsMax: depositAddressLimits.reserveMerchantsMax,
}

/**
 * Pooled addresses an API process holds in memory, per merchant, so that creating an invoice knows its
 * address before it writes and can write everything in one statement (ADR 0022). `take` never waits:
 * with nothing held it answers undefined and fetches more in the background. How many are fetched
 * follows the merchant's recent take rate in this process (deposit-address.demand.ts), so a busy
 * merchant's reserve does not run dry between two fetches. What the process still holds at `close` goes
 * back to the pool; what dies with it is an index gap, as a rolled-back claim's is (ADR 0018).
 */
export class DepositAddressReserve {
  readonly #pool: Pool
  readonly #held = new Map<string, HeldAddress[]>()
  /** Take rates of the merchants in #held (same bound). */
  readonly #demand = new Map<string, ReserveDemand>()
  readonly #fetching = new Map<string, Promise<void>>()
  readonly #onError: (error: unknown) => void
  readonly #limits: ReserveLimits
  readonly #nowMs: () => number
  #closed = false

  constructor(
    pool: Pool,
    onError: (error: unknown) => void,
    limits: Partial<ReserveLimits> = {},
    nowMs: () => number = Date.now,
  ) {
    this.#pool = pool
    this.#onError = onError
    this.#limits = { ...reserveLimits, ...limits }
    this.#nowMs = nowMs
  }

  /** A held address of the merchant's, or undefined when none is held right now. */
  take(merchantId: string): HeldAddress | undefined {
    const held = this.#held.get(merchantId)
    const address = held?.pop()
    // Fetched for when fewer than half its size are left: the other half covers the fetch.
    if ((held?.length ?? 0) * 2 < this.#noteTake(merchantId)) this.#fetch(merchantId)
    return address
  }

  /** The merchant's reserve size (addresses) after counting one more take. */
  #noteTake(merchantId: string): number {
    const bounds = { minimum: this.#limits.sizeMin, maximum: this.#limits.sizeMax }
    if (!this.#held.has(merchantId)) return bounds.minimum
    const demand = reserveAfterTake(this.#demand.get(merchantId), this.#nowMs(), bounds)
    this.#demand.set(merchantId, demand)
    return demand.size
  }

  /** The size the merchant's reserve is fetched up to now (tests, metrics). */
  sizeOf(merchantId: string): number {
    return this.#demand.get(merchantId)?.size ?? this.#limits.sizeMin
  }

  /**
   * A held address, or with none held one for this request alone, outside any transaction: the
   * merchant's lowest pooled address, else the next HD index (its counter row locked for that one
   * statement) derived here. Never waits for another request's or a refill's lock.
   */
  async takeOrAllocate(merchantId: string): Promise<HeldAddress> {
    const held = this.take(merchantId)
    if (held !== undefined) return held
    const [pooled] = await takePooledAddresses(this.#pool, merchantId, 1)
    if (pooled !== undefined) return pooled
    return await deriveNextAddress(this.#pool, merchantId)
  }

  /** An address taken but not used (its statement wrote nothing) is held again. */
  giveBack(merchantId: string, address: HeldAddress): void {
    const held = this.#held.get(merchantId)
    // Closed, or a merchant beyond merchantsMax (its address was taken for one request): back to the pool.
    if (this.#closed || held === undefined) {
      void returnPooledAddresses(this.#pool, merchantId, [address]).catch(this.#onError)
      return
    }
    held.push(address)
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
    const wanted = this.sizeOf(merchantId) - held.length
    if (wanted <= 0) return
    // One statement, no transaction: what it took is held before anything else can fail.
    const taken = await takePooledAddresses(this.#pool, merchantId, wanted)
    if (this.#closed) {
      await returnPooledAddresses(this.#pool, merchantId, taken)
      return
    }
    held.push(...taken)
    // Same trigger as a single claim's: crossing every N-th index (or an empty pool) asks for a refill.
    if (
      taken.length < wanted ||
      taken.some((row) => row.hdIndex % depositAddressLimits.refillEveryClaims === 0)
    )
      await requestRefill(this.#pool, merchantId)
  }
}

/**
 * The merchant's next HD index, taken in a statement of its own, derived outside any transaction. An
 * index taken by a request that then fails is a gap (ADR 0018). Asks the worker to fill the pool.
 */
async function deriveNextAddress(pool: Pool, merchantId: string): Promise<HeldAddress> {
  const account = await getAccountXpub(pool, merchantId)
  const hdIndex = await takeHdIndexes(pool, merchantId, 1)
  await requestRefill(pool, merchantId)
  const address = deriveAccountAddress(account.xpub, hdIndex)
  return { address, hdAccount: account.accountIndex, hdIndex }
}

/** Held addresses given to new invoices, as a batched gated write (db/statement.ts `BatchWrite`). */
export function heldInvoiceAddressesWrite(gate: string, rows: readonly HeldInvoiceAddress[]): GatedWrite {
  return invoiceAddressesWrite(gate, rows)
}
