import { join } from 'node:path'
import type { NetworkConfig } from '../../config/config.types.ts'
import type { Queryable } from '../../db/pool.ts'
import { isAppError } from '../../lib/errors.ts'
import type { Logger } from '../../lib/logger.ts'
import type { MasterKeyProvider } from '../../modules/keys/key.types.ts'
import { getPayout } from '../../modules/payouts/payout.service.ts'
import type { Payout } from '../../modules/payouts/payout.types.ts'
import {
  signerItemMismatch,
  signerItemNotApproved,
  signerItemNotFound,
} from '../../modules/signers/signer.errors.ts'
import { createMemoryJournal, openFileJournal } from '../../modules/signers/signer.journal.ts'
import { createKeystoreSigner } from '../../modules/signers/signer.keystore.ts'
import { type ApprovalCheck, buildSigningServer } from '../../modules/signers/signer.server.ts'
import { networkFeeCapWei, readSharedSecretFile } from '../../modules/signers/signer.service.ts'
import type { PaidItem, SigningRequest } from '../../modules/signers/signer.types.ts'
import { getTreasuryProposal } from '../../modules/treasury/treasury.service.ts'
import type { TreasuryProposal } from '../../modules/treasury/treasury.types.ts'

/**
 * `sluice signer serve`: the reference remote signing service (docs/domain/remote-signer.md). It holds the
 * master key (the gateway's workers then need none for payouts), reads the gateway's database to check that
 * every item it is asked to pay is approved and unchanged, and signs with the keystore. In production run
 * it on another host, with a database role that can only read payouts and treasury_proposals.
 */

// A payout may be signed while queued (first signature) or broadcast/confirmed (a fee replacement at the
// same nonce). A treasury sweep while approved, or sent (replacement).
const signablePayoutStatuses: readonly Payout['status'][] = ['queued', 'broadcast', 'confirmed']
const signableTreasuryStatuses: readonly TreasuryProposal['status'][] = ['approved', 'sent']

type Comparable = Readonly<{
  network: string
  revision: number
  tokenAddress: string
  destination: string
  amount: bigint
}>

function compare(item: PaidItem, request: SigningRequest, record: Comparable): void {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()
  if (record.network !== request.network) throw signerItemMismatch(item.kind, item.id, 'network')
  if (record.revision !== item.revision) throw signerItemMismatch(item.kind, item.id, 'revision')
  if (!same(record.tokenAddress, item.tokenAddress)) throw signerItemMismatch(item.kind, item.id, 'token')
  if (!same(record.destination, item.destination)) throw signerItemMismatch(item.kind, item.id, 'destination')
  if (record.amount !== item.amount) throw signerItemMismatch(item.kind, item.id, 'amount')
}

async function readOrNotFound<T>(item: PaidItem, read: () => Promise<T>): Promise<T> {
  try {
    return await read()
  } catch (error) {
    if (isAppError(error) && error.httpStatus === 404) throw signerItemNotFound(item.kind, item.id)
    throw error
  }
}

/** The reference service's check of each item against the database (read-only). */
export function createDatabaseApprovalCheck(db: Queryable): ApprovalCheck {
  return async (item, request) => {
    if (item.kind === 'payout') {
      const merchantId = item.merchantId
      if (merchantId === null) throw signerItemNotFound(item.kind, item.id)
      const payout = await readOrNotFound(item, () => getPayout(db, merchantId, item.id))
      if (!signablePayoutStatuses.includes(payout.status))
        throw signerItemNotApproved(item.kind, item.id, payout.status)
      compare(item, request, payout)
      return
    }
    const proposal = await readOrNotFound(item, () => getTreasuryProposal(db, item.id))
    if (proposal.kind !== 'sweep_to_cold' || !signableTreasuryStatuses.includes(proposal.status))
      throw signerItemNotApproved(item.kind, item.id, proposal.status)
    compare(item, request, { ...proposal, destination: proposal.coldAddress })
  }
}

export type SignerCommandDependencies = Readonly<{
  pool: Queryable
  masterKeyProvider: MasterKeyProvider
  networks: readonly NetworkConfig[]
  logger: Logger
  write: (line: string) => void
  /** Where the signing journal lives by default (`<dataDir>/signer-journal.jsonl`). */
  dataDir: string
}>

function flagValue(args: readonly string[], flag: string): string | undefined {
  const index = args.indexOf(flag)
  return index === -1 ? undefined : args[index + 1]
}

/** Builds the service; the caller listens and closes. */
export async function buildReferenceSigner(
  deps: Omit<SignerCommandDependencies, 'write' | 'dataDir'>,
  files: Readonly<{ secretFile: string; journalFile?: string }>,
) {
  const secret = await readSharedSecretFile(files.secretFile)
  const journal =
    files.journalFile === undefined ? createMemoryJournal() : await openFileJournal(files.journalFile)
  const networks = new Map(
    deps.networks.map((network) => [
      network.name,
      { chainId: network.chainId, maxFeePerGasCapWei: networkFeeCapWei(network) },
    ]),
  )
  return buildSigningServer({
    secret,
    networks,
    // The keystore enforces the fee cap again with the highest configured cap; the per-network one above decides.
    backend: createKeystoreSigner({
      db: deps.pool,
      masterKeyProvider: deps.masterKeyProvider,
      maxFeePerGasCapWei: [...networks.values()].reduce(
        (highest, network) => (network.maxFeePerGasCapWei > highest ? network.maxFeePerGasCapWei : highest),
        0n,
      ),
    }),
    checkApproved: createDatabaseApprovalCheck(deps.pool),
    journal,
    logger: deps.logger,
  })
}

/** `signer serve --secret-file <path> [--host h] [--port p]`: runs until SIGINT/SIGTERM. */
export async function runSignerCommand(args: string[], deps: SignerCommandDependencies): Promise<number> {
  const [command, ...rest] = args
  const secretFile = flagValue(rest, '--secret-file')
  const host = flagValue(rest, '--host') ?? '127.0.0.1'
  const port = flagValue(rest, '--port') ?? '4100'
  if (command !== 'serve' || secretFile === undefined || !/^\d{1,5}$/.test(port)) {
    deps.write(
      'usage: sluice signer serve --secret-file <path> [--journal <path>] [--host 127.0.0.1] [--port 4100]',
    )
    return 64
  }
  if (deps.networks.length === 0) {
    deps.write('error: no networks configured: the signer signs only for configured networks')
    return 78
  }
  const journalFile = flagValue(rest, '--journal') ?? join(deps.dataDir, 'signer-journal.jsonl')
  const app = await buildReferenceSigner(deps, { secretFile, journalFile })
  const address = await app.listen({ host, port: Number.parseInt(port, 10) })
  deps.write(`sluice signer listening on ${address} for ${deps.networks.map((n) => n.name).join(', ')}`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  await app.close()
  return 0
}
