import type { Pool } from '../../db/pool.ts'
import { isAppError } from '../../lib/errors.ts'
import type { Logger } from '../../lib/logger.ts'
import { deriveEvmAddress, evmAccountPath } from '../../modules/keys/key.hd.ts'
import { loadKeyFileMasterKeyProvider } from '../../modules/keys/key.master.ts'
import {
  exportAccountXpub,
  initKeys,
  revealBackupMnemonicOnce,
  rotateMasterKey,
} from '../../modules/keys/key.service.ts'
import type { MasterKeyProvider } from '../../modules/keys/key.types.ts'

/**
 * `sluice keys …`: operator commands for the HD root and the master key. Output goes to `write` (the
 * terminal); the logger gets audit lines with ids only. The backup phrase is printed to `write` once,
 * behind an explicit flag, and never to the logger. Arguments are never echoed back: an operator who
 * pastes a phrase or key in the wrong place should not see it repeated in logs or scrollback.
 */
export type KeysCommandDependencies = Readonly<{
  pool: Pool
  masterKeyProvider: MasterKeyProvider
  write: (line: string) => void
  logger?: Logger
}>

// sysexits.h, as process.ts uses: 64 = usage error. Operating errors (typed AppErrors) exit 1.
const exitUsage = 64
// Merchant ids are `mer_` ULIDs (lib/ids.ts); anything else is refused unechoed (it may be a pasted key).
const merchantIdPattern = /^mer_[0-9A-HJKMNP-TV-Z]{26}$/

const usage = [
  'usage: sluice keys <command>',
  '  init [--show-mnemonic]               create the HD seed (encrypted under the master key);',
  '                                       --show-mnemonic prints the backup phrase, once',
  '  export-xpub <merchantId>             allocate the merchant HD account if needed; print its xpub',
  '  rotate-master --new-key-file <path>  re-wrap every secret under the key in <path>',
]

class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** Runs one keys subcommand; resolves to the process exit code. Unexpected (non-App) errors propagate. */
export async function runKeysCommand(args: string[], deps: KeysCommandDependencies): Promise<number> {
  const [command, ...rest] = args
  try {
    if (command === 'init') await runInit(rest, deps)
    else if (command === 'export-xpub') await runExportXpub(rest, deps)
    else if (command === 'rotate-master') await runRotateMaster(rest, deps)
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
    deps.logger?.error({ err: error, command: `keys ${command ?? ''}` }, 'keys command failed')
    return 1
  }
}

async function runInit(args: readonly string[], deps: KeysCommandDependencies): Promise<void> {
  const showMnemonic = args.includes('--show-mnemonic')
  if (args.some((arg) => arg !== '--show-mnemonic')) throw new UsageError('init takes only --show-mnemonic')
  try {
    const result = await initKeys(deps.pool, deps.masterKeyProvider)
    deps.logger?.info({ secretId: result.secretId, masterKeyId: result.masterKeyId }, 'HD seed created')
    deps.write(
      `HD seed created: a 24-word BIP39 root, stored encrypted in the database (table secrets, id ${result.secretId}).`,
    )
    deps.write(
      `Its data key is wrapped by master key ${result.masterKeyId}: the seed needs this database AND that key.`,
    )
  } catch (error) {
    // With the flag, an existing seed whose phrase was never shown is the expected case, not a failure.
    if (!(showMnemonic && isAppError(error) && error.code === 'keys-already-initialised')) throw error
    deps.write('The HD seed already exists; showing its backup phrase (possible only once).')
  }
  if (!showMnemonic) {
    deps.write(
      'BACKUP REQUIRED: run `sluice keys init --show-mnemonic` once, alone at the terminal, and write',
    )
    deps.write(
      'the words on paper. They are shown once and never logged; whoever holds them controls every address.',
    )
    return
  }
  const mnemonic = await revealBackupMnemonicOnce(deps.pool, deps.masterKeyProvider)
  deps.logger?.warn('HD backup phrase shown on the terminal (once)')
  printMnemonic(mnemonic, deps.write)
}

function printMnemonic(mnemonic: string, write: (line: string) => void): void {
  const words = mnemonic.split(' ')
  write('BACKUP PHRASE (write it on paper; do not photograph, paste or store it digitally):')
  for (let start = 0; start < words.length; start += 4) {
    const row = words
      .slice(start, start + 4)
      .map((word, offset) => `${String(start + offset + 1).padStart(2)}. ${word.padEnd(9)}`)
    write(`  ${row.join(' ').trimEnd()}`)
  }
  write('It will not be shown again. Clear this terminal scrollback when done.')
}

async function runExportXpub(args: readonly string[], deps: KeysCommandDependencies): Promise<void> {
  const [merchantId, ...extra] = args
  if (merchantId === undefined || extra.length > 0 || !merchantIdPattern.test(merchantId)) {
    throw new UsageError('export-xpub takes exactly one merchant id (mer_…)')
  }
  const account = await exportAccountXpub(deps.pool, deps.masterKeyProvider, merchantId)
  deps.logger?.info({ merchantId, accountIndex: account.accountIndex }, 'HD account xpub exported')
  deps.write(
    `merchant ${merchantId}: account ${account.accountIndex} (${evmAccountPath(account.accountIndex)})`,
  )
  deps.write(`xpub: ${account.xpub}`)
  // Lets the operator cross-check the derivation with an independent wallet before taking deposits.
  deps.write(`first deposit address (…/0/0): ${deriveEvmAddress(account.xpub, 0)}`)
}

function readNewKeyFilePath(args: readonly string[]): string {
  const [flag, value, ...extra] = args
  if (flag?.startsWith('--new-key-file=') === true && value === undefined)
    return flag.slice('--new-key-file='.length)
  if (flag === '--new-key-file' && value !== undefined && extra.length === 0) return value
  throw new UsageError('rotate-master takes --new-key-file <path>')
}

async function runRotateMaster(args: readonly string[], deps: KeysCommandDependencies): Promise<void> {
  const path = readNewKeyFilePath(args)
  if (path === '') throw new UsageError('rotate-master takes --new-key-file <path>')
  const newProvider = await loadKeyFileMasterKeyProvider(path)
  const rotation = await rotateMasterKey(deps.pool, deps.masterKeyProvider, newProvider)
  deps.logger?.info(rotation, 'master key rotated')
  deps.write(
    `Re-wrapped ${rotation.rotated} secret(s): ${rotation.fromMasterKeyId} → ${rotation.toMasterKeyId}.`,
  )
  deps.write('Ciphertexts are unchanged; only data keys were re-wrapped, in one transaction.')
  deps.write(
    `Next: point SLUICE_MASTER_KEY_FILE (or secrets.masterKeyFile) at ${path}, unset SLUICE_MASTER_KEY,`,
  )
  deps.write('restart every Sluice process, and destroy the old key only after they all start cleanly.')
}
