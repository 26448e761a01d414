import { MoneyError, parseUnits } from '@sluice/sdk/money'
import type { NetworkConfig } from '../../config/config.types.ts'
import type { Pool, Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { newId } from '../../lib/ids.ts'
import { checkEvmDestination } from './payout.address.ts'
import type { AddressBookEntry } from './payout.book.repo.ts'
import * as book from './payout.book.repo.ts'
import * as errors from './payout.errors.ts'
import { payoutLimits } from './payout.limits.ts'
import { scaledAmount } from './payout.policy.ts'
import * as repo from './payout.repo.ts'

/**
 * The address book (saved destinations per store and per customer, with labels, a network, a cooldown) and
 * the store's payout settings (whitelist-only mode, cooldown length, canary threshold and amount).
 * docs/adr/0015-batch-and-canary-payouts.md. Every change is written to payout_audit.
 */

export type { AddressBookEntry } from './payout.book.repo.ts'

export type PayoutSettings = Readonly<{
  whitelistOnly: boolean
  cooldownSeconds: number
  /** 18-decimal scale; null: no canaries. */
  canaryThresholdScaled: bigint | null
  canaryAmountScaled: bigint
  updatedBy: string | null
  updatedAt: Date | null
}>

const defaultSettings: PayoutSettings = {
  whitelistOnly: false,
  cooldownSeconds: payoutLimits.cooldownSecondsDefault,
  canaryThresholdScaled: payoutLimits.canaryThresholdScaledDefault,
  canaryAmountScaled: payoutLimits.canaryAmountScaledDefault,
  updatedBy: null,
  updatedAt: null,
}

export async function getPayoutSettings(db: Queryable, merchantId: string): Promise<PayoutSettings> {
  return (await book.selectSettings(db, merchantId)) ?? defaultSettings
}

function parseScaled(text: string, path: string): bigint {
  try {
    const value = parseUnits(text, 18)
    if (value <= 0n) throw errors.settingsInvalid(path, 'must be positive')
    return value
  } catch (error) {
    if (error instanceof MoneyError) throw errors.settingsInvalid(path, error.message)
    throw error
  }
}

export type SettingsChange = Readonly<{
  whitelistOnly?: boolean | undefined
  cooldownSeconds?: number | undefined
  /** Decimal token units; null turns canaries off. */
  canaryThreshold?: string | null | undefined
  canaryAmount?: string | undefined
}>

export async function updatePayoutSettings(
  pool: Pool,
  input: Readonly<{ merchantId: string; actor: string; change: SettingsChange }>,
): Promise<PayoutSettings> {
  const { change } = input
  if (
    change.cooldownSeconds !== undefined &&
    (change.cooldownSeconds < 0 || change.cooldownSeconds > payoutLimits.cooldownSecondsMax)
  )
    throw errors.settingsInvalid(
      'body.cooldown_seconds',
      `between 0 and ${payoutLimits.cooldownSecondsMax} seconds (30 days)`,
    )
  return await withTransaction(pool, async (client) => {
    await client.query('select pg_advisory_xact_lock(hashtext($1))', [`payout-settings:${input.merchantId}`])
    const current = await getPayoutSettings(client, input.merchantId)
    const next = {
      whitelistOnly: change.whitelistOnly ?? current.whitelistOnly,
      cooldownSeconds: change.cooldownSeconds ?? current.cooldownSeconds,
      canaryThresholdScaled:
        change.canaryThreshold === undefined
          ? current.canaryThresholdScaled
          : change.canaryThreshold === null
            ? null
            : parseScaled(change.canaryThreshold, 'body.canary_threshold'),
      canaryAmountScaled:
        change.canaryAmount === undefined
          ? current.canaryAmountScaled
          : parseScaled(change.canaryAmount, 'body.canary_amount'),
    }
    if (next.canaryThresholdScaled !== null && next.canaryAmountScaled >= next.canaryThresholdScaled)
      throw errors.settingsInvalid('body.canary_amount', 'the canary must be smaller than the threshold')
    await book.upsertSettings(client, input.merchantId, { ...next, updatedBy: input.actor })
    await repo.insertAudit(client, {
      merchantId: input.merchantId,
      subjectId: `payout-settings:${input.merchantId}`,
      action: 'payout-settings.changed',
      actor: input.actor,
      detail: {
        whitelist_only: String(next.whitelistOnly),
        cooldown_seconds: next.cooldownSeconds,
        canary_threshold_scaled: next.canaryThresholdScaled?.toString() ?? null,
        canary_amount_scaled: next.canaryAmountScaled.toString(),
      },
    })
    return await getPayoutSettings(client, input.merchantId)
  })
}

/** Address-book ids: `pab_` + a ULID (lib/ids.ts owns the prefixes). */
function newEntryId(): string {
  return `pab_${newId('po').slice('po_'.length)}`
}

export type AddEntryInput = Readonly<{
  merchantId: string
  actor: string
  address: string
  network?: string | undefined
  label?: string | undefined
  customerId?: string | undefined
  whitelisted?: boolean | undefined
}>

/** Adds an address; it can receive after the store's cooldown (default 24 h) from now. */
export async function addAddressBookEntry(
  pool: Pool,
  input: AddEntryInput,
  context: Readonly<{ networks: readonly NetworkConfig[]; now: () => Date }>,
): Promise<AddressBookEntry> {
  const check = checkEvmDestination(input.address)
  if (!check.ok) throw errors.addressInvalid(check.reason)
  if (input.network !== undefined && !context.networks.some((network) => network.name === input.network))
    throw errors.payoutNetworkUnknown(input.network)
  return await withTransaction(pool, async (client) => {
    if (
      input.customerId !== undefined &&
      !(await book.customerBelongsTo(client, input.merchantId, input.customerId))
    )
      throw errors.customerNotFound()
    if ((await book.selectEntryByAddress(client, input.merchantId, input.address)) !== undefined)
      throw errors.addressBookEntryExists()
    const settings = await getPayoutSettings(client, input.merchantId)
    const cooldownUntil =
      settings.cooldownSeconds === 0
        ? null
        : new Date(context.now().getTime() + settings.cooldownSeconds * 1000)
    const entry = await book.insertEntry(client, {
      id: newEntryId(),
      merchantId: input.merchantId,
      address: input.address,
      label: input.label ?? null,
      customerId: input.customerId ?? null,
      network: input.network ?? null,
      whitelisted: input.whitelisted ?? false,
      cooldownUntil,
      createdBy: input.actor,
    })
    await repo.insertAudit(client, {
      merchantId: input.merchantId,
      subjectId: entry.id,
      action: 'address-book.added',
      actor: input.actor,
      detail: {
        address: input.address,
        network: entry.network,
        customer_id: entry.customerId,
        whitelisted: String(entry.whitelisted),
        cooldown_until: cooldownUntil?.toISOString() ?? null,
      },
    })
    return entry
  })
}

export async function updateAddressBookEntry(
  pool: Pool,
  input: Readonly<{
    merchantId: string
    actor: string
    id: string
    label?: string | null | undefined
    whitelisted?: boolean | undefined
    customerId?: string | null | undefined
  }>,
): Promise<AddressBookEntry> {
  return await withTransaction(pool, async (client) => {
    const entry = await book.selectEntry(client, input.merchantId, input.id, true)
    if (entry === undefined) throw errors.addressBookEntryNotFound()
    if (
      input.customerId !== undefined &&
      input.customerId !== null &&
      !(await book.customerBelongsTo(client, input.merchantId, input.customerId))
    )
      throw errors.customerNotFound()
    const updated = await book.updateEntry(client, entry.id, {
      ...(input.label === undefined ? {} : { label: input.label }),
      ...(input.whitelisted === undefined ? {} : { whitelisted: input.whitelisted }),
      ...(input.customerId === undefined ? {} : { customerId: input.customerId }),
    })
    await repo.insertAudit(client, {
      merchantId: input.merchantId,
      subjectId: entry.id,
      action: 'address-book.updated',
      actor: input.actor,
      detail: {
        label: updated.label,
        whitelisted: String(updated.whitelisted),
        customer_id: updated.customerId,
      },
    })
    return updated
  })
}

export async function removeAddressBookEntry(
  pool: Pool,
  input: Readonly<{ merchantId: string; actor: string; id: string }>,
): Promise<void> {
  await withTransaction(pool, async (client) => {
    const entry = await book.selectEntry(client, input.merchantId, input.id, true)
    if (entry === undefined) throw errors.addressBookEntryNotFound()
    await book.deleteEntry(client, entry.id)
    await repo.insertAudit(client, {
      merchantId: input.merchantId,
      subjectId: entry.id,
      action: 'address-book.removed',
      actor: input.actor,
      detail: { address: entry.address },
    })
  })
}

export async function getAddressBookEntry(
  db: Queryable,
  merchantId: string,
  id: string,
): Promise<AddressBookEntry> {
  const entry = await book.selectEntry(db, merchantId, id)
  if (entry === undefined) throw errors.addressBookEntryNotFound()
  return entry
}

export async function listAddressBook(
  db: Queryable,
  merchantId: string,
  page: Readonly<{ limit: number; startingAfter?: string | undefined; customerId?: string | undefined }>,
): Promise<{ rows: AddressBookEntry[]; hasMore: boolean }> {
  const rows = await book.selectEntries(
    db,
    {
      merchantId,
      ...(page.customerId === undefined ? {} : { customerId: page.customerId }),
      ...(page.startingAfter === undefined ? {} : { startingAfter: page.startingAfter }),
    },
    page.limit + 1,
  )
  return { rows: rows.slice(0, page.limit), hasMore: rows.length > page.limit }
}

/**
 * The address-book gate of a payout request: in whitelist-only mode the destination must have an entry
 * for this network (or for every network); an entry still cooling down receives nothing yet.
 */
export async function checkDestinationAllowed(
  db: Queryable,
  input: Readonly<{ merchantId: string; network: string; destination: string; now: Date }>,
  settings: PayoutSettings,
): Promise<void> {
  const entry = await book.selectEntryByAddress(db, input.merchantId, input.destination)
  const applies = entry !== undefined && (entry.network === null || entry.network === input.network)
  if (!applies) {
    if (settings.whitelistOnly) throw errors.destinationNotInAddressBook()
    return
  }
  if (entry.cooldownUntil !== null && entry.cooldownUntil > input.now)
    throw errors.destinationCoolingDown(entry.cooldownUntil)
}

/**
 * The canary of a first payout to a never-paid address above the store's threshold, in the token's minor
 * units; 0n when none is due. The canary amount is scaled down from 18 decimals (at least one minor unit)
 * and always smaller than the payout.
 */
export async function canaryAmountFor(
  db: Queryable,
  input: Readonly<{ merchantId: string; destination: string; amount: bigint; decimals: number }>,
  settings: PayoutSettings,
): Promise<bigint> {
  if (settings.canaryThresholdScaled === null) return 0n
  if (scaledAmount(input.amount, input.decimals) <= settings.canaryThresholdScaled) return 0n
  if (await book.hasFinalizedPayoutTo(db, input.merchantId, input.destination)) return 0n
  const minor =
    input.decimals >= 18
      ? settings.canaryAmountScaled * 10n ** BigInt(input.decimals - 18)
      : settings.canaryAmountScaled / 10n ** BigInt(18 - input.decimals)
  const canary = minor > 0n ? minor : 1n
  return canary < input.amount ? canary : 0n
}
