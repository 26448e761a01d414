import type { Balance, StatementLine } from '@sluice/sdk/api/balances'
import { getBalanceStatement, listBalances } from '@sluice/sdk/api/balances'
import { pageSizeDefault } from '@sluice/sdk/api/common'
import { formatUnits } from '@sluice/sdk/money'
import type { FastifyInstance } from 'fastify'
import type { NetworkConfig } from '../../config/config.types.ts'
import type { Queryable } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { AppError } from '../../lib/errors.ts'
import { type Asset, assetId } from '../../lib/money.ts'
import {
  getAccountStatement,
  getBalanceAsOf,
  getTransfer,
  listOwnerBalances,
} from '../../modules/ledger/ledger.service.ts'
import {
  addBalances,
  availableBalance,
  postedBalance,
  zeroBalances,
} from '../../modules/ledger/ledger.state.ts'
import type {
  Account,
  AccountBalance,
  Balances,
  StatementLine as LedgerLine,
} from '../../modules/ledger/ledger.types.ts'
import { validationFailed } from '../errors.ts'
import { type RouteDependencies, registerOperation } from '../route.ts'

/** Routes of the ledger module, read-only: a store's spendable balances and their statements. */

/** The ledger account purpose holding an owner's spendable balance (payments credit it). */
const availablePurpose = 'available'

/** Every asset the gateway is configured for, in configuration order. */
export function configuredAssets(networks: readonly NetworkConfig[]): Asset[] {
  return networks.flatMap((network) =>
    network.tokens.map((token) => ({
      id: assetId(token.symbol, network.name),
      network: network.name,
      symbol: token.symbol,
      contractAddress: token.contractAddress,
      decimals: token.decimals,
    })),
  )
}

/** formatUnits takes no sign; the ledger forbids negative spendable balances, but the wire can say one. */
export function formatSigned(minor: bigint, decimals: number): string {
  return minor < 0n ? `-${formatUnits(-minor, decimals)}` : formatUnits(minor, decimals)
}

/** Balances of a credit- or debit-normal account, as the owner sees them: incoming is the normal side. */
export function balanceToWire(asset: Asset, account: AccountBalance | undefined): Balance {
  const balances = account?.balances ?? zeroBalances
  const credit = (account?.account.normalSide ?? 'credit') === 'credit'
  const format = (minor: bigint) => formatSigned(minor, asset.decimals)
  return {
    asset: asset.id,
    network: asset.network,
    symbol: asset.symbol,
    decimals: asset.decimals,
    available: format(account?.available ?? 0n),
    posted: format(account?.posted ?? 0n),
    pending_incoming: format(credit ? balances.creditsPending : balances.debitsPending),
    pending_outgoing: format(credit ? balances.debitsPending : balances.creditsPending),
  }
}

function assetNotFound(id: string): AppError {
  return new AppError('asset-not-found', 404, `the gateway is not configured for asset ${id}`)
}

async function availableAccounts(db: Queryable, merchantId: string): Promise<Map<string, AccountBalance>> {
  const accounts = await listOwnerBalances(db, 'merchant', merchantId)
  return new Map(
    accounts
      .filter((balance) => balance.account.purpose === availablePurpose)
      .map((balance) => [balance.account.assetId, balance]),
  )
}

/** The seq of the transfer a cursor names, refused (as bad input) unless it is a line of this account. */
async function cursorSeq(db: Queryable, account: Account | undefined, transferId: string): Promise<bigint> {
  const transfer = await getTransfer(db, transferId)
  const sides = [transfer?.debitAccountId, transfer?.creditAccountId]
  // Same answer for a missing transfer and another account's: a cursor reveals nothing about others.
  if (transfer === undefined || account === undefined || !sides.includes(account.id))
    throw validationFailed([{ path: 'query.starting_after', message: 'not a line of this statement' }])
  return transfer.seq
}

function lineToWire(account: Account, asset: Asset, line: LedgerLine, after: Balances): StatementLine {
  const format = (minor: bigint) => formatSigned(minor, asset.decimals)
  return {
    transfer_id: line.transferId,
    kind: line.kind,
    direction: line.side === account.normalSide ? 'in' : 'out',
    amount: format(line.amount),
    code: line.code,
    metadata: { ...line.metadata },
    created_at: line.createdAt.toISOString(),
    balance_after: format(postedBalance(account.normalSide, after)),
    available_after: format(availableBalance(account.normalSide, after)),
  }
}

type StatementRequest = Readonly<{ merchantId: string; asset: Asset; limit: number; startingAfter?: string }>

/**
 * One statement page with running balances: the balance before the page is recomputed once (as of the
 * cursor's transfer), then each line's change is added. One repeatable-read snapshot keeps the opening
 * balance and the lines consistent with each other.
 */
async function readStatement(db: Queryable, request: StatementRequest) {
  const account = (await availableAccounts(db, request.merchantId)).get(request.asset.id)?.account
  const afterSeq =
    request.startingAfter === undefined ? 0n : await cursorSeq(db, account, request.startingAfter)
  if (account === undefined) return { data: [], has_more: false }
  const page = await getAccountStatement(db, account.id, { afterSeq, pageSize: request.limit })
  let running =
    afterSeq === 0n ? zeroBalances : (await getBalanceAsOf(db, account.id, { seq: afterSeq })).balances
  const data = page.lines.map((line) => {
    running = addBalances(running, line.delta)
    return lineToWire(account, request.asset, line, running)
  })
  return { data, has_more: page.nextAfterSeq !== null }
}

export function registerBalanceRoutes(app: FastifyInstance, dependencies: RouteDependencies): void {
  const { pool, networks } = dependencies

  registerOperation(
    app,
    listBalances,
    async ({ principal, request }) => {
      const accounts = await availableAccounts(pool, principal.merchantId)
      const assets = configuredAssets(networks)
      const unconfigured = [...accounts.keys()].filter((id) => !assets.some((asset) => asset.id === id))
      // Without its configuration an asset's decimals are unknown, so its amounts cannot be written; the
      // operator removed it, and the balance is still in the ledger (ledger-verify sees it).
      if (unconfigured.length > 0)
        request.log.warn({ assets: unconfigured }, 'balances of unconfigured assets left out')
      return { data: assets.map((asset) => balanceToWire(asset, accounts.get(asset.id))) }
    },
    dependencies,
  )

  registerOperation(
    app,
    getBalanceStatement,
    async ({ principal, params, query }) => {
      const asset = configuredAssets(networks).find((candidate) => candidate.id === params.asset)
      if (asset === undefined) throw assetNotFound(params.asset)
      const request: StatementRequest = {
        merchantId: principal.merchantId,
        asset,
        limit: query.limit ?? pageSizeDefault,
        ...(query.starting_after === undefined ? {} : { startingAfter: query.starting_after }),
      }
      return await withTransaction(pool, (client) => readStatement(client, request), 'repeatable read')
    },
    dependencies,
  )
}
