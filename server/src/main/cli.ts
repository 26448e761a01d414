import { ConfigError, loadConfig } from '../config/env.ts'
import { MigrationError } from '../db/migrate.ts'
import { readDevnetNetworks } from '../devnet/devnet.ts'
import { createLogger } from '../lib/logger.ts'
import { readStandardInput, runColdCommand } from './commands/cold.ts'
import { runKeysCommand } from './commands/keys.ts'
import { runLedgerVerify } from './commands/ledger-verify.ts'
import { runReconcileCommand } from './commands/reconcile.ts'
import { runSanctionsCommand } from './commands/sanctions.ts'
import { runSignerCommand } from './commands/signer.ts'
import { runTreasuryCommand } from './commands/treasury.ts'
import { readFirstLine, runUsersCommand } from './commands/users.ts'
import { configuredMasterKeyProvider, MasterKeyMissingError } from './master-key.ts'
import { openToolDatabase } from './tool-database.ts'

// `npm run sluice -- <area> <command> …`: operator commands. Each opens the database (shared with a
// running gateway when it is embedded), runs, prints to stdout and exits with the command's code.
const usage = `usage: npm run sluice -- <area> <command>
  ledger verify
  reconcile
  treasury book-inflow --network <name> --tx <hash> [--log-index <n>] --reason "<text>"
  keys init [--show-mnemonic] | export-xpub <merchantId> | rotate-master --new-key-file <path>
  sanctions import [paths…] | check <address…> | status
  cold split --threshold M --shares N | combine [--verify-only]   (phrase or shares on stdin)
  signer serve --secret-file <path> [--journal <path>] [--host h] [--port p]
  users add --store <merchantId> --name <name> --login <login> --roles <role,…>   (password on stdin)`

/** `cold` needs no database (it runs on an offline machine); `signer` runs a service until stopped. */
async function runCustodyArea(area: 'cold' | 'signer', rest: string[]): Promise<number> {
  const config = loadConfig()
  const write = (line: string) => process.stdout.write(`${line}\n`)
  if (area === 'cold') {
    const coldAddresses = config.networks.flatMap((network) =>
      network.treasury === undefined
        ? []
        : [{ network: network.name, address: network.treasury.coldAddress }],
    )
    return await runColdCommand(rest, {
      readInput: () => readStandardInput(process.stdin),
      write,
      coldAddresses,
    })
  }
  const database = await openToolDatabase(config)
  try {
    const masterKeyProvider = await configuredMasterKeyProvider(config)
    const logger = createLogger(config.logLevel)
    return await runSignerCommand(rest, {
      pool: database.pool,
      masterKeyProvider,
      networks: config.networks,
      logger,
      write,
      dataDir: config.dataDir,
    })
  } finally {
    await database.close()
  }
}

async function main(args: string[]): Promise<number> {
  const [area, ...rest] = args
  if (area === 'cold' || area === 'signer') return await runCustodyArea(area, rest)
  if (
    area !== 'keys' &&
    area !== 'sanctions' &&
    area !== 'ledger' &&
    area !== 'users' &&
    area !== 'reconcile' &&
    area !== 'treasury'
  ) {
    process.stderr.write(`${usage}\n`)
    return 64
  }
  const config = loadConfig()
  const database = await openToolDatabase(config)
  try {
    if (area === 'ledger') {
      if (rest[0] !== 'verify') {
        process.stderr.write(`${usage}\n`)
        return 64
      }
      return await runLedgerVerify(database.pool, (line) => process.stdout.write(`${line}\n`))
    }
    if (area === 'reconcile' || area === 'treasury') {
      // Without configured networks, the running devnet's (as the worker resolves them).
      const networks =
        config.networks.length > 0 ? config.networks : (readDevnetNetworks(config.dataDir) ?? [])
      const write = (line: string) => process.stdout.write(`${line}\n`)
      if (area === 'treasury') return await runTreasuryCommand(rest, { pool: database.pool, networks, write })
      return await runReconcileCommand({ pool: database.pool, networks, write })
    }
    if (area === 'keys') {
      const masterKeyProvider = await configuredMasterKeyProvider(config)
      return await runKeysCommand(rest, {
        pool: database.pool,
        masterKeyProvider,
        write: (line) => process.stdout.write(`${line}\n`),
      })
    }
    if (area === 'users') {
      return await runUsersCommand(rest, {
        pool: database.pool,
        write: (line) => process.stdout.write(`${line}\n`),
        readPassword: () => readFirstLine(process.stdin),
      })
    }
    return await runSanctionsCommand(rest, {
      pool: database.pool,
      write: (text) => process.stdout.write(text),
    })
  } finally {
    await database.close()
  }
}

try {
  process.exitCode = await main(process.argv.slice(2))
} catch (error) {
  if (
    error instanceof ConfigError ||
    error instanceof MasterKeyMissingError ||
    error instanceof MigrationError
  ) {
    process.stderr.write(`sluice: ${error.message}\n`)
    process.exitCode = 78
  } else throw error
}
