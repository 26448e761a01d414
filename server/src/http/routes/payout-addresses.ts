import { pageSizeDefault } from '@sluice/sdk/api/common'
import {
  createPayoutAddress,
  deletePayoutAddress,
  getPayoutAddress,
  getPayoutSettings,
  listPayoutAddresses,
  type PayoutAddressWire,
  updatePayoutAddress,
  updatePayoutSettings,
} from '@sluice/sdk/api/payout-address-book'
import { formatUnits } from '@sluice/sdk/money'
import type { FastifyInstance } from 'fastify'
import { getAddress } from 'viem'
import {
  type AddressBookEntry,
  addAddressBookEntry,
  getAddressBookEntry,
  getPayoutSettings as getSettingsOfStore,
  listAddressBook,
  type PayoutSettings,
  removeAddressBookEntry,
  updateAddressBookEntry,
  updatePayoutSettings as updateSettingsOfStore,
} from '../../modules/payouts/payout.book.ts'
import { type RouteDependencies, registerOperation } from '../route.ts'

function entryToWire(entry: AddressBookEntry): PayoutAddressWire {
  return {
    id: entry.id,
    address: getAddress(entry.address),
    network: entry.network,
    label: entry.label,
    customer_id: entry.customerId,
    whitelisted: entry.whitelisted,
    cooldown_until: entry.cooldownUntil?.toISOString() ?? null,
    created_by: entry.createdBy,
    created_at: entry.createdAt.toISOString(),
    updated_at: entry.updatedAt.toISOString(),
  }
}

function settingsToWire(settings: PayoutSettings) {
  return {
    whitelist_only: settings.whitelistOnly,
    cooldown_seconds: settings.cooldownSeconds,
    canary_threshold:
      settings.canaryThresholdScaled === null ? null : formatUnits(settings.canaryThresholdScaled, 18),
    canary_amount: formatUnits(settings.canaryAmountScaled, 18),
    updated_by: settings.updatedBy,
    updated_at: settings.updatedAt?.toISOString() ?? null,
  }
}

/** The payout address book and the store's payout settings (docs/adr/0015-batch-and-canary-payouts.md). */
export function registerPayoutAddressRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { pool } = dependencies
  const context = { networks: dependencies.networks, now: dependencies.now }

  registerOperation(
    app,
    createPayoutAddress,
    async ({ principal, body }) =>
      entryToWire(
        await addAddressBookEntry(
          pool,
          {
            merchantId: principal.merchantId,
            actor: principal.apiKeyId,
            address: body.address,
            network: body.network,
            label: body.label,
            customerId: body.customer_id,
            whitelisted: body.whitelisted,
          },
          context,
        ),
      ),
    dependencies,
  )

  registerOperation(
    app,
    listPayoutAddresses,
    async ({ principal, query }) => {
      const page = await listAddressBook(pool, principal.merchantId, {
        limit: query.limit ?? pageSizeDefault,
        startingAfter: query.starting_after,
        customerId: query.customer_id,
      })
      return { data: page.rows.map(entryToWire), has_more: page.hasMore }
    },
    dependencies,
  )

  registerOperation(
    app,
    getPayoutAddress,
    async ({ principal, params }) =>
      entryToWire(await getAddressBookEntry(pool, principal.merchantId, params.id)),
    dependencies,
  )

  registerOperation(
    app,
    updatePayoutAddress,
    async ({ principal, params, body }) =>
      entryToWire(
        await updateAddressBookEntry(pool, {
          merchantId: principal.merchantId,
          actor: principal.apiKeyId,
          id: params.id,
          label: body.label,
          whitelisted: body.whitelisted,
          customerId: body.customer_id,
        }),
      ),
    dependencies,
  )

  registerOperation(
    app,
    deletePayoutAddress,
    async ({ principal, params }) => {
      await removeAddressBookEntry(pool, {
        merchantId: principal.merchantId,
        actor: principal.apiKeyId,
        id: params.id,
      })
      return { id: params.id, deleted: true as const }
    },
    dependencies,
  )

  registerPayoutSettingsRoutes(app, dependencies)
}

/** Whitelist-only mode, the cooldown of new entries, the canary threshold. */
function registerPayoutSettingsRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { pool } = dependencies
  registerOperation(
    app,
    getPayoutSettings,
    async ({ principal }) => settingsToWire(await getSettingsOfStore(pool, principal.merchantId)),
    dependencies,
  )

  registerOperation(
    app,
    updatePayoutSettings,
    async ({ principal, body }) =>
      settingsToWire(
        await updateSettingsOfStore(pool, {
          merchantId: principal.merchantId,
          actor: principal.apiKeyId,
          change: {
            whitelistOnly: body.whitelist_only,
            cooldownSeconds: body.cooldown_seconds,
            canaryThreshold: body.canary_threshold,
            canaryAmount: body.canary_amount,
          },
        }),
      ),
    dependencies,
  )
}
