import { isAppError } from '../../lib/errors.ts'
import {
  assertColdAddress,
  coldAddressOf,
  combineColdShares,
  splitColdMnemonic,
} from '../../modules/treasury/treasury.cold.ts'

/**
 * `sluice cold …`: Shamir shares of the cold wallet's phrase (docs/domain/cold-wallet-ceremony.md). The
 * phrase and the shares come from stdin, never from arguments (shell history, `ps`), and go to `write`
 * (the terminal) only; nothing here has a logger. Errors print their code and message, which never quote
 * input. Needs no database: it runs on an offline machine.
 */
export type ColdCommandDependencies = Readonly<{
  readInput: () => Promise<string>
  write: (line: string) => void
  /** Configured cold addresses (`networks[].treasury.coldAddress`), for verification. */
  coldAddresses: readonly Readonly<{ network: string; address: string }>[]
}>

const exitUsage = 64
const usage = [
  'usage: sluice cold <command>   (input on stdin, never as arguments)',
  '  split --threshold M --shares N   read the phrase, print N shares; any M recover it',
  '  combine [--verify-only]          read ≥ M shares (one per line), check them against the configured',
  '                                   cold address, print the phrase (not with --verify-only)',
]

class UsageError extends Error {
  override readonly name = 'UsageError'
}

function readCount(args: readonly string[], flag: string): number {
  const index = args.indexOf(flag)
  const value = index === -1 ? undefined : args[index + 1]
  if (value === undefined || !/^\d{1,3}$/.test(value)) throw new UsageError(`${flag} takes a number`)
  return Number.parseInt(value, 10)
}

function describeVerification(mnemonic: string, deps: ColdCommandDependencies): string[] {
  const derived = coldAddressOf(mnemonic)
  if (deps.coldAddresses.length === 0)
    return [`No cold address is configured; the phrase controls ${derived} (m/44'/60'/0'/0/0). Check it.`]
  const matching = deps.coldAddresses.filter((entry) => entry.address.toLowerCase() === derived.toLowerCase())
  // Refuses when none matches: shares that recover another wallet must not be trusted with anything.
  if (matching.length === 0) assertColdAddress(mnemonic, deps.coldAddresses[0]?.address ?? derived)
  return [
    `Verified: the phrase controls ${derived}, the cold address of ${matching.map((m) => m.network).join(', ')}.`,
  ]
}

async function runSplit(args: readonly string[], deps: ColdCommandDependencies): Promise<void> {
  const threshold = readCount(args, '--threshold')
  const shares = readCount(args, '--shares')
  if (args.length !== 4) throw new UsageError('split takes --threshold M --shares N only')
  const mnemonic = await deps.readInput()
  const lines = await splitColdMnemonic(mnemonic, { threshold, shares })
  for (const line of describeVerification(mnemonic, deps)) deps.write(line)
  deps.write(
    `${shares} shares; any ${threshold} recover the phrase, ${threshold - 1} reveal nothing about it.`,
  )
  deps.write('Give each custodian one line, on paper; never two to the same person or place.')
  for (const [index, line] of lines.entries()) deps.write(`share ${index + 1}/${shares}: ${line}`)
  deps.write('Clear this terminal scrollback when done.')
}

async function runCombine(args: readonly string[], deps: ColdCommandDependencies): Promise<void> {
  const verifyOnly = args.includes('--verify-only')
  if (args.some((arg) => arg !== '--verify-only')) throw new UsageError('combine takes only --verify-only')
  // A line may carry the "share n/N: " label split prints; only the share itself is kept.
  const input = (await deps.readInput())
    .split('\n')
    .map((line) => line.replace(/^\s*share \d+\/\d+:\s*/, ''))
    .join('\n')
  const mnemonic = await combineColdShares(input)
  for (const line of describeVerification(mnemonic, deps)) deps.write(line)
  if (verifyOnly) return
  deps.write('RECOVERED PHRASE (move the funds or re-split; do not store it digitally):')
  deps.write(`  ${mnemonic}`)
  deps.write('Clear this terminal scrollback when done.')
}

/** Runs one cold subcommand; resolves to the process exit code. */
export async function runColdCommand(args: string[], deps: ColdCommandDependencies): Promise<number> {
  const [command, ...rest] = args
  try {
    if (command === 'split') await runSplit(rest, deps)
    else if (command === 'combine') await runCombine(rest, deps)
    else if (command === 'help' || command === '--help') for (const line of usage) deps.write(line)
    else throw new UsageError(command === undefined ? 'a command is required' : 'unknown command')
    return 0
  } catch (error) {
    if (error instanceof UsageError) {
      deps.write(`error: ${error.message}`)
      for (const line of usage) deps.write(line)
      return exitUsage
    }
    if (!isAppError(error)) throw error
    deps.write(`error: ${error.code}: ${error.message}`)
    return 1
  }
}

/** All of stdin, bounded: the phrase or the shares, typed or piped. */
export async function readStandardInput(stream: NodeJS.ReadableStream, bytesMax = 16_384): Promise<string> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    total += buffer.length
    if (total > bytesMax) throw new UsageError(`stdin is larger than ${bytesMax} bytes`)
    chunks.push(buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}
