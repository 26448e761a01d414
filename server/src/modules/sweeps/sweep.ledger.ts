import type { Queryable } from '../../db/pool.ts'
import { assert } from '../../lib/assert.ts'
import { createTransfers, getOrCreateSystemAccount } from '../ledger/ledger.service.ts'
import type { Metadata, SingleTransferRequest, SystemAccountKind } from '../ledger/ledger.types.ts'
import { feePaid, nativeAssetId } from './sweep.state.ts'
import type { GasSpent, Sweep } from './sweep.types.ts'

/**
 * Every ledger posting a sweep makes (docs/adr/0012-sweeping.md has the table with signs). The sign
 * convention is the deposit's: `deposit-clearing` (credit-normal) is debited when value arrives at a
 * deposit address, so its posted balance is minus what deposit addresses hold, per asset; `hot-wallet`
 * (debit-normal) is plus what the hot wallet holds. Ids are derived from the sweep id, so a replay is a
 * no-op, and each posting commits with the status change that causes it.
 */

async function account(db: Queryable, kind: SystemAccountKind, assetId: string): Promise<string> {
  return (await getOrCreateSystemAccount(db, kind, assetId)).id
}

function metadataOf(sweep: Sweep, hash: string | undefined): Metadata {
  return {
    sweep_id: sweep.id,
    network: sweep.network,
    deposit_address: sweep.depositAddress,
    ...(hash === undefined ? {} : { tx_hash: hash }),
  }
}

/** Gas burned by a transaction, from whichever account paid it: debit network-fee-expense / credit payer. */
async function feeTransfer(
  db: Queryable,
  input: { id: string; payer: SystemAccountKind; network: string; spent: GasSpent; metadata: Metadata },
): Promise<SingleTransferRequest[]> {
  const amount = feePaid(input.spent)
  // A zero fee (a devnet with a zero base fee and tip) moves nothing, and the ledger refuses zero amounts.
  if (amount === 0n) return []
  const native = nativeAssetId(input.network)
  return [
    {
      kind: 'single',
      id: input.id,
      debitAccountId: await account(db, 'network-fee-expense', native),
      creditAccountId: await account(db, input.payer, native),
      assetId: native,
      amount,
      code: 'network-fee',
      metadata: input.metadata,
    },
  ]
}

/** The top-up is included: hot wallet → deposit address (deposit-clearing), plus the top-up's own gas. */
export async function bookTopUp(db: Queryable, sweep: Sweep, hash: string, spent: GasSpent): Promise<void> {
  assert(sweep.status === 'gas-funding', `sweep ${sweep.id}: top-up booked in status ${sweep.status}`)
  const native = nativeAssetId(sweep.network)
  const metadata = metadataOf(sweep, hash)
  await createTransfers(db, [
    {
      kind: 'single',
      id: `sweep-top-up:${sweep.id}`,
      debitAccountId: await account(db, 'deposit-clearing', native),
      creditAccountId: await account(db, 'hot-wallet', native),
      assetId: native,
      amount: sweep.topUp.amount,
      code: 'sweep-gas-top-up',
      metadata,
    },
    ...(await feeTransfer(db, {
      id: `sweep-top-up-fee:${sweep.id}`,
      payer: 'hot-wallet',
      network: sweep.network,
      spent,
      metadata,
    })),
  ])
}

/** The top-up reverted: no coin moved, but the gas station paid its gas. */
export async function bookTopUpReverted(
  db: Queryable,
  sweep: Sweep,
  hash: string,
  spent: GasSpent,
): Promise<void> {
  const transfers = await feeTransfer(db, {
    id: `sweep-top-up-fee:${sweep.id}`,
    payer: 'hot-wallet',
    network: sweep.network,
    spent,
    metadata: metadataOf(sweep, hash),
  })
  if (transfers.length > 0) await createTransfers(db, transfers)
}

/** The token transfer is signed and will be broadcast until it resolves: the tokens are in transit. */
export async function bookSweepSent(db: Queryable, sweep: Sweep, hash: string): Promise<void> {
  await createTransfers(db, [
    {
      kind: 'single',
      id: `sweep-send:${sweep.id}`,
      debitAccountId: await account(db, 'sweep-in-transit', sweep.assetId),
      creditAccountId: await account(db, 'deposit-clearing', sweep.assetId),
      assetId: sweep.assetId,
      amount: sweep.amount,
      code: 'sweep-send',
      metadata: metadataOf(sweep, hash),
    },
  ])
}

/** Final on chain: in transit → hot wallet, and the deposit address's gas to expense. */
export async function bookSweepFinal(
  db: Queryable,
  sweep: Sweep,
  hash: string,
  spent: GasSpent,
): Promise<void> {
  const metadata = metadataOf(sweep, hash)
  await createTransfers(db, [
    {
      kind: 'single',
      id: `sweep-final:${sweep.id}`,
      debitAccountId: await account(db, 'hot-wallet', sweep.assetId),
      creditAccountId: await account(db, 'sweep-in-transit', sweep.assetId),
      assetId: sweep.assetId,
      amount: sweep.amount,
      code: 'sweep-final',
      metadata,
    },
    ...(await feeTransfer(db, {
      id: `sweep-fee:${sweep.id}`,
      payer: 'deposit-clearing',
      network: sweep.network,
      spent,
      metadata,
    })),
  ])
}

/** Final on chain, and nothing moved: the tokens are back at the address (reverses sweep-send); gas is spent. */
export async function bookSweepFailed(
  db: Queryable,
  sweep: Sweep,
  hash: string,
  spent: GasSpent,
): Promise<void> {
  const metadata = metadataOf(sweep, hash)
  await createTransfers(db, [
    {
      kind: 'single',
      id: `sweep-revert:${sweep.id}`,
      debitAccountId: await account(db, 'deposit-clearing', sweep.assetId),
      creditAccountId: await account(db, 'sweep-in-transit', sweep.assetId),
      assetId: sweep.assetId,
      amount: sweep.amount,
      code: 'sweep-revert',
      metadata,
    },
    ...(await feeTransfer(db, {
      id: `sweep-fee:${sweep.id}`,
      payer: 'deposit-clearing',
      network: sweep.network,
      spent,
      metadata,
    })),
  ])
}

/**
 * Native coin put into the gas station by the operator: debit hot-wallet / credit the operator's capital
 * account, code `gas-station-funding`. Idempotent by (network, reference).
 */
export async function bookGasStationFunding(
  db: Queryable,
  input: { network: string; amount: bigint; reference: string },
): Promise<string> {
  const native = nativeAssetId(input.network)
  // Who paid in the gas station's native coin: the operator. Not `suspense` (that is the queue of money
  // nobody can explain yet, e.g. held deposits): this money is explained, it is the operator's capital.
  const capital = await account(db, 'operator-capital', native)
  const [result] = await createTransfers(db, [
    {
      kind: 'single',
      id: `gas-funding:${input.network}:${input.reference}`,
      debitAccountId: await account(db, 'hot-wallet', native),
      creditAccountId: capital,
      assetId: native,
      amount: input.amount,
      code: 'gas-station-funding',
      metadata: { network: input.network, reference: input.reference },
    },
  ])
  assert(result !== undefined, 'a one-transfer batch returns one result')
  return result.transfer.id
}
