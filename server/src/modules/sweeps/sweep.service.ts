import type { Address } from 'viem'
import type { Pool, Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { deriveEvmPrivateKey } from '../keys/key.service.ts'
import type { MasterKeyProvider } from '../keys/key.types.ts'
import { gasStationFundingInvalid, sweepChainIdMismatch } from './sweep.errors.ts'
import { bookGasStationFunding } from './sweep.ledger.ts'
import { sweepLimits } from './sweep.limits.ts'
import { planSweeps } from './sweep.plan.ts'
import {
  registerHotWallet,
  selectHotWalletAddress,
  selectHotWalletNextNonce,
  selectSweepPaymentIds,
  selectSweeps,
  selectSweepsByStatus,
} from './sweep.repo.ts'
import { resolveFundingSweep, resolveSentSweep } from './sweep.resolve.ts'
import { fundPlannedSweep, sendReadySweep } from './sweep.send.ts'
import { feePaid, replacementFees } from './sweep.state.ts'
import {
  type FeeCaps,
  type FeeMarket,
  type Fees,
  gatewayHotWalletPath,
  type ReplacementFeeDecision,
  type Sweep,
  type SweepDeps,
  type SweepObservation,
  type SweepStatus,
  type SweepTickReport,
} from './sweep.types.ts'

/**
 * Sweeping: moves credited deposits from deposit addresses to the gateway's hot wallet, paying their gas
 * from the same hot wallet (the gas station). docs/adr/0012-sweeping.md explains the model, the ledger
 * postings and each crash window. Signer side only: the API process never calls `advanceSweeps`.
 */

/**
 * The hot wallet's address (lower-case), derived from the HD root on the reserved account. Needs the
 * master key; the key itself is dropped at once.
 */
export async function getGatewayHotWalletAddress(
  db: Queryable,
  provider: MasterKeyProvider,
): Promise<Address> {
  const key = await deriveEvmPrivateKey(db, provider, gatewayHotWalletPath)
  return key.address.toLowerCase() as Address
}

/** A signing worker at start: records the hot wallet on every network for readers that hold no key. */
export async function recordGatewayHotWallet(
  pool: Pool,
  provider: MasterKeyProvider,
  networks: readonly Readonly<{ name: string }>[],
): Promise<Address> {
  const address = await getGatewayHotWalletAddress(pool, provider)
  for (const network of networks) await registerHotWallet(pool, network.name, address)
  return address
}

/** The gateway's hot wallet on `network`, as a signing worker recorded it; undefined before any did. */
export async function findGatewayHotWalletAddress(
  db: Queryable,
  network: string,
): Promise<Address | undefined> {
  return (await selectHotWalletAddress(db, network)) as Address | undefined
}

// Becomes part of a ledger transfer id: a funding tx hash, or a word such as `devnet-initial`.
const fundingReferencePattern = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,67}$/

/**
 * Books native coin the operator put into the gas station on `network` (`anvil_setBalance` on a devnet,
 * a transfer in production): debit hot-wallet / credit operator-capital in `ETH@network`, code
 * `gas-station-funding`. Idempotent by (network, reference). Returns the ledger transfer id.
 */
export async function recordGasStationFunding(
  pool: Pool,
  network: string,
  amount: bigint,
  reference: string,
): Promise<string> {
  if (amount <= 0n) throw gasStationFundingInvalid('amount must be positive')
  if (!fundingReferencePattern.test(reference))
    throw gasStationFundingInvalid('reference must be 1-68 of [A-Za-z0-9_.@-]')
  return await withTransaction(pool, (client) =>
    bookGasStationFunding(client, { network, amount, reference }),
  )
}

async function openSweeps<S extends SweepStatus>(
  deps: SweepDeps,
  status: S,
): Promise<Extract<Sweep, { status: S }>[]> {
  const rows = await selectSweepsByStatus(
    deps.pool,
    deps.chain.network.name,
    status,
    sweepLimits.openSweepsPerTickMax,
  )
  return rows.filter((sweep): sweep is Extract<Sweep, { status: S }> => sweep.status === status)
}

type Tally = { -readonly [K in keyof SweepTickReport]: number }

/**
 * One tick on one network: resolve what was broadcast (receipts; rebroadcast what has none), plan new
 * sweeps, fund planned ones, send ready ones. Each step re-reads persisted state, so a tick may die
 * anywhere and the next one carries on. Refuses to sign when the RPC serves another chain.
 */
export async function advanceSweeps(
  deps: SweepDeps,
  observation: SweepObservation,
): Promise<SweepTickReport> {
  const network = deps.chain.network
  const served = await deps.chain.chainId()
  if (served !== network.chainId) throw sweepChainIdMismatch(network.name, network.chainId, served)
  const tally: Tally = {
    planned: 0,
    funded: 0,
    ready: 0,
    sent: 0,
    replaced: 0,
    finalized: 0,
    failed: 0,
    waiting: 0,
  }
  for (const sweep of await openSweeps(deps, 'gas-funding'))
    tally[await resolveFundingSweep(deps, sweep)] += 1
  for (const sweep of await openSweeps(deps, 'sent'))
    tally[await resolveSentSweep(deps, sweep, observation)] += 1
  tally.planned = await planSweeps(deps)
  const planned = await openSweeps(deps, 'planned')
  const ready = await openSweeps(deps, 'ready')
  if (planned.length + ready.length === 0) return tally
  // One fee reading per tick: every transaction signed in it is priced alike.
  const market: FeeMarket = await deps.chain.feeMarket()
  const budget = { remaining: sweepLimits.topUpsInFlightMax - (await openSweeps(deps, 'gas-funding')).length }
  for (const sweep of planned) tally[await fundPlannedSweep(deps, sweep, market, budget)] += 1
  for (const sweep of ready) tally[await sendReadySweep(deps, sweep, market)] += 1
  return tally
}

/** Sweeps, oldest first (operators and tests). */
export async function listSweeps(
  db: Queryable,
  filter: { network?: string; depositAddress?: string } = {},
  limit: number = sweepLimits.openSweepsPerTickMax,
): Promise<Sweep[]> {
  return await selectSweeps(db, filter, limit)
}

/** The payments a sweep moves (or moved). */
export async function listSweepPaymentIds(db: Queryable, sweepId: string): Promise<string[]> {
  return await selectSweepPaymentIds(db, sweepId, sweepLimits.paymentsPerSweepMax)
}

/**
 * Gas top-ups the ledger has booked whose sweep is still open (`ready` or `sent`), each with its hot-wallet
 * nonce and what was booked for it (value + gas, `sweep-top-up:<id>` and `sweep-top-up-fee:<id>`). A
 * top-up is booked at its receipt, before it is final (the sweep is signed once it is mined), so a reader
 * comparing the ledger with the chain at a finalized block (reconciliation, docs/adr/0027) adds back those
 * whose nonce the wallet had not used by that block. Once a sweep is final or failed at finality, so is its
 * top-up. Not listed: a top-up that reverted (its sweep failed at the receipt; a plain value transfer to
 * an address without code does not revert).
 */
export async function listOpenSweepTopUps(
  db: Queryable,
  network: string,
  limit: number,
): Promise<{ sweepId: string; nonce: number; bookedWei: bigint }[]> {
  const open: Sweep[] = [
    ...(await selectSweepsByStatus(db, network, 'ready', limit)),
    ...(await selectSweepsByStatus(db, network, 'sent', limit)),
  ]
  const booked: { sweepId: string; nonce: number; bookedWei: bigint }[] = []
  for (const sweep of open) {
    if (sweep.status !== 'ready' && sweep.status !== 'sent') continue
    const { transaction, spent, amount } = sweep.topUp
    if (transaction === null || spent === null) continue
    booked.push({ sweepId: sweep.id, nonce: transaction.nonce, bookedWei: amount + feePaid(spent) })
  }
  return booked
}

/** The gas station's next nonce on `network` as the database holds it; undefined before its first use. */
export async function getHotWalletNextNonce(
  db: Queryable,
  network: string,
  address: Address,
): Promise<number | undefined> {
  return await selectHotWalletNextNonce(db, network, address)
}

/**
 * Fees of a replacement at the same nonce for any hot-wallet transaction: ≥ +12.5 % + 1 wei on both fields
 * of `previous` (sweepLimits.replacementBumpPerMille), at least today's market, under `caps`, or `over-cap`.
 * Gas top-ups use it, and sweeps to cold (treasury.send.ts), which share the hot wallet's nonce counter.
 */
export function hotWalletReplacementFees(
  previous: Fees,
  market: FeeMarket,
  caps: FeeCaps,
): ReplacementFeeDecision {
  return replacementFees(previous, market, caps)
}
