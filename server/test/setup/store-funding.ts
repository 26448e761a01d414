import { randomBytes } from 'node:crypto'
import type { Queryable } from '../../src/db/pool.ts'
import {
  createTransfer,
  getOrCreateAccount,
  getOrCreateSystemAccount,
} from '../../src/modules/ledger/ledger.service.ts'

/**
 * Credits a store's available balance of `assetId` from the hot wallet, in the ledger only (a test's
 * stand-in for paid invoices); tests that send on chain mint the same tokens into the hot wallet too.
 */
export async function creditStoreBalance(
  db: Queryable,
  merchantId: string,
  assetId: string,
  amount: bigint,
): Promise<void> {
  const available = await getOrCreateAccount(db, {
    ownerType: 'merchant',
    ownerId: merchantId,
    purpose: 'available',
    assetId,
    normalSide: 'credit',
    flags: { debitsMustNotExceedCredits: true },
  })
  const hot = await getOrCreateSystemAccount(db, 'hot-wallet', assetId)
  await createTransfer(db, {
    kind: 'single',
    id: `fund:${randomBytes(8).toString('hex')}`,
    debitAccountId: hot.id,
    creditAccountId: available.id,
    assetId,
    amount,
    code: 'test-funding',
  })
}
