import { parseArgs } from 'node:util'
import { formatUnits } from '@sluice/sdk/money'
import type { Hex } from 'viem'
import type { NetworkConfig } from '../../config/config.types.ts'
import type { Pool } from '../../db/pool.ts'
import { createInflowChain } from '../../jobs/treasury.ts'
import { AssertionFailure } from '../../lib/assert.ts'
import { findGatewayHotWalletAddress } from '../../modules/sweeps/sweep.service.ts'
import { bookVerifiedInflow } from '../../modules/treasury/treasury.inflow.ts'
import { inflowReasonProblem } from '../../modules/treasury/treasury.inflow-rules.ts'
import type { BookedInflow, InflowChain } from '../../modules/treasury/treasury.types.ts'

/**
 * `sluice treasury book-inflow --network <name> --tx <hash> [--log-index <n>] --reason "<text>"`: books an
 * inflow to the hot wallet that an operator has verified (docs/adr/0016 decision 9, docs/adr/0027): a
 * token Transfer log (`--log-index`) or the transaction's native value, final and successful. Exit codes:
 * 0 booked or already booked, 1 refused (the chain does not show a final inflow to the hot wallet; nothing
 * written), 2 not checked (no hot wallet recorded, RPC down, another chain), 64 usage (a reason is required).
 */
export const bookInflowExitCodes = { booked: 0, refused: 1, unchecked: 2, usage: 64 } as const

export type TreasuryCommandContext = Readonly<{
  pool: Pool
  networks: readonly NetworkConfig[]
  write: (line: string) => void
  /** Tests inject failures; default: the network's RPC URLs (createInflowChain). */
  chainFor?: (network: NetworkConfig) => InflowChain
}>

const usage = [
  'usage: sluice treasury book-inflow --network <name> --tx <hash> [--log-index <n>] --reason "<text>"',
  '  books what a final transaction brought to the hot wallet: the token Transfer log <n>, or without',
  '  --log-index the native coin it sent; from the cold address to the cold wallet account, from anyone',
  '  else to operator capital. The reason (one line, at most 500 characters) is kept for the audit.',
]

type BookInflowArgs = Readonly<{ network: string; txHash: Hex; logIndex: number | undefined; reason: string }>

function parseBookInflow(args: string[]): BookInflowArgs | string {
  let values: Record<string, string | boolean | undefined>
  try {
    ;({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        network: { type: 'string' },
        tx: { type: 'string' },
        'log-index': { type: 'string' },
        reason: { type: 'string' },
      },
    }))
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
  const { network, tx, reason } = values
  const logIndex = values['log-index']
  if (typeof network !== 'string') return '--network is required'
  if (typeof tx !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(tx))
    return '--tx must be a 0x-prefixed 32-byte hash'
  if (logIndex !== undefined && (typeof logIndex !== 'string' || !/^(0|[1-9][0-9]{0,8})$/.test(logIndex)))
    return '--log-index must be a log index (a non-negative integer)'
  const reasonProblem = inflowReasonProblem(typeof reason === 'string' ? reason : undefined)
  if (reasonProblem !== undefined) return reasonProblem
  return {
    network,
    txHash: tx.toLowerCase() as Hex,
    logIndex: logIndex === undefined ? undefined : Number.parseInt(logIndex, 10),
    reason: (reason as string).trim(),
  }
}

function amountText(network: NetworkConfig, inflow: BookedInflow): string {
  const token = network.tokens.find(
    (candidate) => candidate.contractAddress.toLowerCase() === inflow.tokenAddress,
  )
  const decimals = inflow.tokenAddress === undefined ? 18 : (token?.decimals ?? 0)
  return `${formatUnits(inflow.amount, decimals)} ${inflow.assetId} (${inflow.amount} minor units)`
}

function describeInflow(network: NetworkConfig, inflow: BookedInflow): string[] {
  const source = inflow.source === 'cold-wallet' ? 'the cold wallet' : 'operator capital'
  const fact = inflow.logIndex === undefined ? 'native value' : `log ${inflow.logIndex}`
  return [
    `  ${amountText(network, inflow)} from ${inflow.from}, booked as ${source}`,
    `  tx ${inflow.txHash} (${fact}), block ${inflow.blockNumber}; ledger transfer ${inflow.id}`,
    ...(inflow.openingAmount === null
      ? []
      : [
          `  of which ${inflow.openingAmount} minor units first entered the cold wallet account as operator capital`,
        ]),
    ...(inflow.proposalId === null ? [] : [`  answers the top-up proposal ${inflow.proposalId}`]),
    `  booked by the ${inflow.bookedBy} at ${inflow.bookedAt.toISOString()}${inflow.reason === null ? '' : `: ${inflow.reason}`}`,
  ]
}

async function bookInflow(args: string[], context: TreasuryCommandContext): Promise<number> {
  const parsed = parseBookInflow(args)
  if (typeof parsed === 'string') {
    for (const line of [`book-inflow: ${parsed}`, ...usage]) context.write(line)
    return bookInflowExitCodes.usage
  }
  const network = context.networks.find((candidate) => candidate.name === parsed.network)
  if (network === undefined) {
    const known = context.networks.map((candidate) => candidate.name).join(', ') || 'none'
    context.write(`book-inflow: no network named ${parsed.network} (configured: ${known})`)
    return bookInflowExitCodes.usage
  }
  const hotWalletAddress = await findGatewayHotWalletAddress(context.pool, network.name)
  if (hotWalletAddress === undefined) {
    context.write(
      `book-inflow: no hot wallet recorded on ${network.name} yet (no signing worker has started)`,
    )
    return bookInflowExitCodes.unchecked
  }
  try {
    const chain = (context.chainFor ?? createInflowChain)(network)
    const result = await bookVerifiedInflow({ pool: context.pool, chain, hotWalletAddress }, parsed)
    if (result.outcome === 'refused') {
      context.write(`book-inflow: refused (${result.code}): ${result.message}; nothing was booked`)
      return bookInflowExitCodes.refused
    }
    context.write(result.outcome === 'booked' ? 'booked:' : 'already booked (nothing new written):')
    for (const line of describeInflow(network, result.inflow)) context.write(line)
    return bookInflowExitCodes.booked
  } catch (error) {
    if (error instanceof AssertionFailure) throw error
    // RPC errors name hosts only (EvmRpc strips URLs of their secrets).
    context.write(
      `book-inflow: could not check ${network.name}: ${error instanceof Error ? error.message : String(error)}`,
    )
    return bookInflowExitCodes.unchecked
  }
}

/** `sluice treasury <command>`; returns the exit code. */
export async function runTreasuryCommand(args: string[], context: TreasuryCommandContext): Promise<number> {
  const [command, ...rest] = args
  if (command === 'book-inflow') return await bookInflow(rest, context)
  for (const line of usage) context.write(line)
  return bookInflowExitCodes.usage
}
