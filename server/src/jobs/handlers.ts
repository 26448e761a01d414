import type { NetworkConfig } from '../config/config.types.ts'
import type { Pool } from '../db/pool.ts'
import type { Logger } from '../lib/logger.ts'
import { dispatchEventJobKind } from '../modules/events/event.service.ts'
import type { MasterKeyProvider } from '../modules/keys/key.types.ts'
import { deliverWebhookJobKind } from '../modules/webhooks/webhook-dispatch.service.ts'
import { createDeliverWebhookHandler } from './deliver-webhook.ts'
import { depositAddressPoolHandlers } from './deposit-address-pool.ts'
import { createDispatchEventHandler } from './dispatch-event.ts'
import { createEvaluateInvoiceHandler, createExpireInvoicesHandler, invoiceContext } from './invoices.ts'
import { reconciliationHandlers } from './reconcile-hot-wallet.ts'
import { createPayOutRefundHandler, createRefundPayoutEndedHandler } from './refunds.ts'
import type { JobHandler } from './runner.ts'
import { ledgerHousekeepingHandlers } from './scheduler.ts'
import { createSendPayoutsHandler, sendPayoutsJobKind } from './send-payouts.ts'
import { createSweepDepositsHandler, sweepDepositsJobKind } from './sweep-deposits.ts'
import { treasuryHandlers } from './treasury.ts'

export type JobContext = {
  pool: Pool
  logger: Logger
  networks: readonly NetworkConfig[]
  /** NATS server for the event stream (config `natsUrl`); absent: events go to webhooks only. */
  natsUrl?: string | undefined
  /** Static rate table for fiat-priced invoices (config `rates`). */
  rates?: Readonly<Record<string, Readonly<Record<string, string>>>> | undefined
  /** Handlers defined by the process (main/) for jobs that need other layers, e.g. HTTP's idempotency store. */
  extraHandlers?: readonly [string, JobHandler][] | undefined
  /** Signer workers only: without it no job that signs (sweeping) is registered. */
  masterKeyProvider?: MasterKeyProvider | undefined
}

/** Every job kind the worker runs, mapped to its handler (one file per kind under jobs/). */
export function jobHandlers(context: JobContext): ReadonlyMap<string, JobHandler> {
  return new Map<string, JobHandler>([
    [
      dispatchEventJobKind,
      createDispatchEventHandler({
        pool: context.pool,
        logger: context.logger,
        natsUrl: context.natsUrl,
        inlineDelivery: { pool: context.pool, logger: context.logger },
      }),
    ],
    [deliverWebhookJobKind, createDeliverWebhookHandler({ pool: context.pool, logger: context.logger })],
    createEvaluateInvoiceHandler(context.pool, invoiceContext(context.networks, context.rates ?? {})),
    createExpireInvoicesHandler(context.pool, invoiceContext(context.networks, context.rates ?? {})),
    ...ledgerHousekeepingHandlers(context.pool),
    ...depositAddressPoolHandlers(context.pool),
    createPayOutRefundHandler(context.pool, context.networks),
    createRefundPayoutEndedHandler(context.pool),
    // Needs no key: the hot wallet's address is read from the database (docs/adr/0027).
    ...reconciliationHandlers({ pool: context.pool, logger: context.logger, networks: context.networks }),
    ...(context.extraHandlers ?? []),
    ...signerHandlers(context),
  ])
}

function signerHandlers(context: JobContext): [string, JobHandler][] {
  const masterKeyProvider = context.masterKeyProvider
  if (masterKeyProvider === undefined) return []
  const { pool, logger, networks } = context
  return [
    [sweepDepositsJobKind, createSweepDepositsHandler({ pool, logger, networks, masterKeyProvider })],
    [
      sendPayoutsJobKind,
      createSendPayoutsHandler({ pool, logger, networks, masterKeyProvider, rates: context.rates ?? {} }),
    ],
    ...treasuryHandlers({ pool, logger, networks, masterKeyProvider }),
  ]
}
