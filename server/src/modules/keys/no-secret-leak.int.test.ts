import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { HDKey } from '@scure/bip32'
import { mnemonicToSeedSync } from '@scure/bip39'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import {
  assertNoSecretsIn,
  findSecretsIn,
  type KnownSecret,
  secretsOfMnemonic,
  testSecrets,
} from '../../../test/setup/leak-guard.ts'
import { createLogger } from '../../lib/logger.ts'
import { runKeysCommand } from '../../main/commands/keys.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import { fromBase64, toBase64 } from './key.envelope.ts'
import { deriveEvmAddress } from './key.hd.ts'
import {
  createEnvironmentMasterKeyProvider,
  createInProcessKmsClientForTests,
  createKmsMasterKeyProvider,
  createPassphraseMasterKeyProvider,
} from './key.master.ts'
import { deriveEvmPrivateKey, exportAccountXpub, initKeys, rotateMasterKey } from './key.service.ts'
import type { MasterKeyProvider } from './key.types.ts'

/**
 * Runs every keys path that touches secret material (init, export-xpub, rotation, decryption failures,
 * wrong master keys, bad inputs) and checks that no known test secret appears in log lines, CLI output,
 * or any error's message, stack, details or `cause` chain. The one intended exception is the backup
 * phrase printed by `init --show-mnemonic`, which is checked to go to the terminal only.
 */

const keyA = createEnvironmentMasterKeyProvider(testSecrets.masterKeyHex)
const keyB = createEnvironmentMasterKeyProvider(testSecrets.secondMasterKeyHex)
const cheapScrypt = { n: 2 ** 15, r: 8, p: 1 }
const signerPath = "m/44'/60'/0'/0/0"

const logLines: string[] = []
const logger = createLogger('trace', { write: (line: string) => void logLines.push(line) })
const exposed: string[] = []

function describeError(error: unknown): string {
  const parts = [inspect(error, { depth: 20, showHidden: true }), JSON.stringify(error) ?? '']
  let current: unknown = error
  for (let depth = 0; current instanceof Error && depth < 20; depth += 1) {
    parts.push(current.message, current.stack ?? '', JSON.stringify(current) ?? '')
    current = current.cause
  }
  return parts.join('\n')
}

/** Runs `work`, expects the typed error `code`, and records everything the error could show anyone. */
async function expectFailure(code: string, work: () => unknown): Promise<void> {
  let caught: unknown
  try {
    await work()
  } catch (error) {
    caught = error
  }
  expect(caught, `expected ${code}`).toMatchObject({ code })
  exposed.push(describeError(caught))
  // As the HTTP error mapper and the process handler would.
  logger.error({ err: caught }, 'operation failed')
}

async function cli(database: TestDatabase, args: string[], provider: MasterKeyProvider = keyA) {
  const lines: string[] = []
  const exitCode = await runKeysCommand(args, {
    pool: database.pool,
    masterKeyProvider: provider,
    write: (line) => lines.push(line),
    logger,
  })
  return { exitCode, lines }
}

/** CLI output that must be clean goes to `exposed`. */
async function cliExposed(
  database: TestDatabase,
  args: string[],
  provider: MasterKeyProvider = keyA,
): Promise<number> {
  const { exitCode, lines } = await cli(database, args, provider)
  exposed.push(lines.join('\n'))
  return exitCode
}

async function tamperEnvelope(database: TestDatabase, path: string[]): Promise<() => Promise<void>> {
  const row = (
    await database.pool.query<{ id: string; envelope: Record<string, unknown> }>(
      "select id, envelope from secrets where kind = 'bip39-entropy'",
    )
  ).rows[0]
  if (row === undefined) throw new Error('no seed row')
  const changed = structuredClone(row.envelope)
  let target: Record<string, unknown> = changed
  for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>
  const field = path.at(-1) ?? ''
  const bytes = fromBase64(target[field] as string)
  bytes[0] = (bytes[0] ?? 0) ^ 0x80
  target[field] = toBase64(bytes)
  await database.pool.query('update secrets set envelope = $2 where id = $1', [
    row.id,
    JSON.stringify(changed),
  ])
  return async () => {
    await database.pool.query('update secrets set envelope = $2 where id = $1', [
      row.id,
      JSON.stringify(row.envelope),
    ])
  }
}

let directory: string
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'sluice-leak-'))
})
afterAll(async () => {
  await rm(directory, { recursive: true, force: true })
})

describe('the leak guard', () => {
  it('finds secrets in disguise and names them without repeating them', () => {
    expect(findSecretsIn(JSON.stringify(testSecrets.mnemonic.split(' ')))).toContain('test mnemonic')
    expect(findSecretsIn(testSecrets.mnemonic.replaceAll(' ', '\n  '))).toContain('test mnemonic')
    expect(findSecretsIn(testSecrets.privateKey0.toUpperCase())).toContain('test private key 0 (hex)')
    expect(findSecretsIn(`key=${testSecrets.masterKeyHex.slice(10, 30)}…`)).toContain('test master key (hex)')
    expect(findSecretsIn(testSecrets.secondMasterKeyBase64)).toContain('second test master key (base64)')
    expect(findSecretsIn(`pass: ${testSecrets.passphrase}`)).toContain('test passphrase')
    let message = ''
    try {
      assertNoSecretsIn(testSecrets.masterKeyHex)
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toContain('test master key (hex)')
    expect(findSecretsIn(message)).toEqual([])
    expect(
      findSecretsIn('test mnemonic, private key 0, master key raw:0123456789abcdef: labels only'),
    ).toEqual([])
  })
})

describe('keys paths with the well-known test mnemonic', () => {
  let database: TestDatabase
  beforeAll(async () => {
    database = await createTestDatabase()
  })
  afterAll(async () => {
    await database.drop()
  })

  const newMerchant = async () =>
    (await createMerchant(database.pool, { name: 'Leak test shop' })).merchant.id

  it('init, export-xpub and signer derivation show no secret', async () => {
    await initKeys(database.pool, keyA, { mnemonic: testSecrets.mnemonic })
    await expectFailure('keys-already-initialised', () =>
      initKeys(database.pool, keyA, { mnemonic: testSecrets.mnemonic }),
    )
    expect(await cliExposed(database, ['init'])).toBe(1)
    expect(await cliExposed(database, ['init', '--show-mnemonic'])).toBe(1)
    expect(await cliExposed(database, ['init', testSecrets.mnemonic])).toBe(64)
    expect(await cliExposed(database, ['export-xpub', testSecrets.masterKeyHex])).toBe(64)
    expect(await cliExposed(database, ['export-xpub', await newMerchant()])).toBe(0)
    const signingKey = await deriveEvmPrivateKey(database.pool, keyA, signerPath)
    expect(signingKey.privateKey).toBe(testSecrets.privateKey0)
    // Logged by field name only: the logger's redaction must hide it.
    logger.info({ signingKey }, 'signer derived a key')
    await expectFailure('key-path-invalid', () =>
      deriveEvmPrivateKey(database.pool, keyA, testSecrets.privateKey0),
    )
    await expectFailure('key-path-invalid', () =>
      deriveEvmPrivateKey(database.pool, keyA, testSecrets.mnemonic),
    )
    const accountXprv = HDKey.fromMasterSeed(mnemonicToSeedSync(testSecrets.mnemonic)).derive(
      "m/44'/60'/0'",
    ).privateExtendedKey
    await expectFailure('xpub-invalid', () => deriveEvmAddress(accountXprv, 0))
    await expectFailure('xpub-invalid', () => deriveEvmAddress(`${accountXprv}x`, 0))
  })

  it('wrong master keys and wrong passphrases show no secret', async () => {
    expect(await cliExposed(database, ['export-xpub', await newMerchant()], keyB)).toBe(1)
    await expectFailure('secret-decryption-failed', () =>
      deriveEvmPrivateKey(database.pool, keyB, signerPath),
    )
    await expectFailure('secret-decryption-failed', () => exportAccountXpub(database.pool, keyB, 'mer_x'))
    const passphrase = createPassphraseMasterKeyProvider(testSecrets.passphrase, {
      label: 'leak',
      cost: cheapScrypt,
    })
    const wrongPassphrase = createPassphraseMasterKeyProvider(testSecrets.secondPassphrase, {
      label: 'leak',
      cost: cheapScrypt,
    })
    await expectFailure('secret-decryption-failed', () => rotateMasterKey(database.pool, keyB, passphrase))
    await rotateMasterKey(database.pool, keyA, passphrase)
    await expectFailure('secret-decryption-failed', () =>
      deriveEvmPrivateKey(database.pool, wrongPassphrase, signerPath),
    )
    const kms = createKmsMasterKeyProvider(createInProcessKmsClientForTests())
    await rotateMasterKey(database.pool, passphrase, kms)
    const otherKms = createKmsMasterKeyProvider(createInProcessKmsClientForTests())
    await expectFailure('secret-decryption-failed', () =>
      deriveEvmPrivateKey(database.pool, otherKms, signerPath),
    )
    await rotateMasterKey(database.pool, kms, keyA)
    await expectFailure('master-key-invalid', () =>
      createPassphraseMasterKeyProvider(testSecrets.passphrase.slice(0, 15), { label: 'x' }),
    )
  })

  it('tampered envelopes show no secret', async () => {
    for (const path of [['ciphertext'], ['tag'], ['iv'], ['dataKey', 'ciphertext'], ['dataKey', 'tag']]) {
      const restore = await tamperEnvelope(database, path)
      expect(await cliExposed(database, ['export-xpub', await newMerchant()])).toBe(1)
      await expectFailure('secret-decryption-failed', () =>
        deriveEvmPrivateKey(database.pool, keyA, signerPath),
      )
      await expectFailure('secret-decryption-failed', () => rotateMasterKey(database.pool, keyA, keyB))
      await restore()
    }
    expect((await deriveEvmPrivateKey(database.pool, keyA, signerPath)).privateKey).toBe(
      testSecrets.privateKey0,
    )
  })

  it('bad master key inputs and CLI rotation show no secret', async () => {
    await expectFailure('master-key-invalid', () =>
      createEnvironmentMasterKeyProvider(testSecrets.masterKeyHex.slice(1)),
    )
    await expectFailure('master-key-invalid', () =>
      createEnvironmentMasterKeyProvider(`${testSecrets.masterKeyBase64}x`),
    )
    await expectFailure('master-key-invalid', () => createEnvironmentMasterKeyProvider(testSecrets.mnemonic))
    const truncated = join(directory, 'truncated.key')
    await writeFile(truncated, testSecrets.secondMasterKeyHex.slice(0, 63), { mode: 0o600 })
    expect(await cliExposed(database, ['rotate-master', '--new-key-file', truncated])).toBe(1)
    // Operators paste keys where paths belong; the error must not repeat them.
    for (const pasted of [
      testSecrets.secondMasterKeyHex,
      testSecrets.secondMasterKeyBase64,
      testSecrets.mnemonic,
    ]) {
      expect(await cliExposed(database, ['rotate-master', '--new-key-file', pasted])).toBe(1)
      expect(await cliExposed(database, ['rotate-master', `--new-key-file=${pasted}`])).toBe(1)
    }
    const next = join(directory, 'next.key')
    await writeFile(next, `${testSecrets.secondMasterKeyBase64}\n`, { mode: 0o600 })
    expect(await cliExposed(database, ['rotate-master', '--new-key-file', next])).toBe(0)
    expect(await cliExposed(database, ['export-xpub', await newMerchant()], keyA)).toBe(1)
    expect(await cliExposed(database, ['export-xpub', await newMerchant()], keyB)).toBe(0)
    await expectFailure('secret-decryption-failed', () =>
      deriveEvmPrivateKey(database.pool, keyA, signerPath),
    )
  })

  it('nothing recorded contains a known secret', () => {
    expect(logLines.some((line) => line.includes('HD account xpub exported'))).toBe(true)
    expect(logLines.some((line) => line.includes('[redacted]'))).toBe(true)
    expect(exposed.length).toBeGreaterThan(40)
    assertNoSecretsIn([...exposed, ...logLines].join('\n'))
  })
})

describe('keys paths with a generated seed', () => {
  let database: TestDatabase
  beforeAll(async () => {
    database = await createTestDatabase()
  })
  afterAll(async () => {
    await database.drop()
  })

  it('invalid imported phrases are refused without being repeated', async () => {
    const words = testSecrets.mnemonic.split(' ')
    for (const phrase of [
      `${words.slice(0, 11).join(' ')} test`,
      `${words.slice(0, 11).join(' ')} junkk`,
      [...words].reverse().join(' '),
      `${testSecrets.mnemonic} extra`,
    ]) {
      await expectFailure('mnemonic-invalid', () => initKeys(database.pool, keyA, { mnemonic: phrase }))
    }
  })

  it('shows the generated phrase on the terminal once and nowhere else', async () => {
    expect(await cliExposed(database, ['init'])).toBe(0)
    const reveal = await cli(database, ['init', '--show-mnemonic'])
    expect(reveal.exitCode).toBe(0)
    const start = reveal.lines.findIndex((line) => line.startsWith('BACKUP PHRASE'))
    const mnemonic = reveal.lines
      .slice(start + 1, start + 7)
      .flatMap((line) => line.trim().split(/\s+/))
      .filter((token) => !/^\d+\.$/.test(token))
      .join(' ')
    const generated: KnownSecret[] = secretsOfMnemonic('generated mnemonic', mnemonic)
    // The guard does see the phrase in its printed (numbered, wrapped) form.
    expect(findSecretsIn(reveal.lines.join('\n'), generated)).toContain('generated mnemonic')
    expect(await cliExposed(database, ['init', '--show-mnemonic'])).toBe(1)
    const merchantId = (await createMerchant(database.pool, { name: 'Generated' })).merchant.id
    expect(await cliExposed(database, ['export-xpub', merchantId])).toBe(0)
    expect(await cliExposed(database, ['export-xpub', merchantId], keyB)).toBe(0) // already allocated: no decryption
    expect(
      await cliExposed(
        database,
        ['export-xpub', (await createMerchant(database.pool, { name: 'G2' })).merchant.id],
        keyB,
      ),
    ).toBe(1)
    await expectFailure('secret-decryption-failed', () =>
      deriveEvmPrivateKey(database.pool, keyB, signerPath),
    )
    const signingKey = await deriveEvmPrivateKey(database.pool, keyA, signerPath)
    generated.push({ label: 'generated private key', value: signingKey.privateKey })
    logger.info({ signingKey }, 'signer derived a key')
    assertNoSecretsIn([...exposed, ...logLines].join('\n'), generated)
  })
})
