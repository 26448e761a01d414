import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mnemonicToSeedSync, validateMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { assertNoSecretsIn, secretsOfMnemonic, testSecrets } from '../../../test/setup/leak-guard.ts'
import { runKeysCommand } from '../../main/commands/keys.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import { deriveAccountXpub, deriveEvmAddress } from './key.hd.ts'
import { createEnvironmentMasterKeyProvider } from './key.master.ts'
import type { MasterKeyProvider } from './key.types.ts'

const firstKey = createEnvironmentMasterKeyProvider(testSecrets.masterKeyHex)
const secondKey = createEnvironmentMasterKeyProvider(testSecrets.secondMasterKeyHex)

let database: TestDatabase
let directory: string
beforeAll(async () => {
  database = await createTestDatabase()
  directory = await mkdtemp(join(tmpdir(), 'sluice-keys-cli-'))
})
afterAll(async () => {
  await database.drop()
  await rm(directory, { recursive: true, force: true })
})

async function run(args: string[], masterKeyProvider: MasterKeyProvider = firstKey) {
  const lines: string[] = []
  const exitCode = await runKeysCommand(args, {
    pool: database.pool,
    masterKeyProvider,
    write: (line) => lines.push(line),
  })
  return { exitCode, output: lines.join('\n'), lines }
}

describe('sluice keys', () => {
  it('prints usage (exit 64) for missing or unknown commands and never echoes arguments', async () => {
    expect((await run([])).exitCode).toBe(64)
    for (const args of [
      ['frobnicate-secret-arg'],
      ['init', 'secret-arg'],
      ['export-xpub', 'secret-arg'],
      ['rotate-master', 'secret-arg'],
    ]) {
      const result = await run(args)
      expect(result.exitCode).toBe(64)
      expect(result.output).toContain('usage: sluice keys')
      expect(result.output).not.toContain('secret-arg')
    }
    expect((await run(['help'])).exitCode).toBe(0)
  })

  let mnemonic = ''
  it('init creates the seed, says where it is and asks for a backup, without showing the phrase', async () => {
    const result = await run(['init'])
    expect(result.exitCode).toBe(0)
    expect(result.output).toMatch(/table secrets, id sec_[0-9A-Z]{26}/)
    expect(result.output).toContain(firstKey.id)
    expect(result.output).toContain('sluice keys init --show-mnemonic')
    const again = await run(['init'])
    expect(again).toMatchObject({ exitCode: 1 })
    expect(again.output).toContain('keys-already-initialised')
  })

  it('init --show-mnemonic shows the phrase of the existing seed once', async () => {
    const result = await run(['init', '--show-mnemonic'])
    expect(result.exitCode).toBe(0)
    const start = result.lines.findIndex((line) => line.startsWith('BACKUP PHRASE'))
    const words = result.lines
      .slice(start + 1, start + 7)
      .flatMap((line) => line.trim().split(/\s+/))
      .filter((token) => !/^\d+\.$/.test(token))
    expect(words).toHaveLength(24)
    mnemonic = words.join(' ')
    expect(validateMnemonic(mnemonic, wordlist)).toBe(true)
    const again = await run(['init', '--show-mnemonic'])
    expect(again.exitCode).toBe(1)
    expect(again.output).toContain('mnemonic-already-revealed')
    assertNoSecretsIn(again.output, secretsOfMnemonic('generated mnemonic', mnemonic))
  })

  it('export-xpub allocates the account and prints an address the backup phrase reproduces', async () => {
    const { merchant } = await createMerchant(database.pool, { name: 'CLI shop' })
    const result = await run(['export-xpub', merchant.id])
    expect(result.exitCode).toBe(0)
    const xpub = deriveAccountXpub(mnemonicToSeedSync(mnemonic), 0)
    expect(result.lines).toEqual([
      `merchant ${merchant.id}: account 0 (m/44'/60'/0')`,
      `xpub: ${xpub}`,
      `first deposit address (…/0/0): ${deriveEvmAddress(xpub, 0)}`,
    ])
    const unknown = await run(['export-xpub', 'mer_00000000000000000000000000'])
    expect(unknown.exitCode).toBe(1)
    expect(unknown.output).toContain('merchant-not-found')
  })

  it('rotate-master re-wraps under the key file and the old key stops working', async () => {
    const path = join(directory, 'next.key')
    await writeFile(path, testSecrets.secondMasterKeyBase64, { mode: 0o600 })
    const result = await run(['rotate-master', '--new-key-file', path])
    expect(result.exitCode).toBe(0)
    expect(result.output).toContain(`Re-wrapped 1 secret(s): ${firstKey.id} → ${secondKey.id}`)
    expect(result.output).toContain(path)
    const { merchant } = await createMerchant(database.pool, { name: 'After rotation' })
    const withOldKey = await run(['export-xpub', merchant.id])
    expect(withOldKey.exitCode).toBe(1)
    expect(withOldKey.output).toContain('secret-decryption-failed')
    expect((await run(['export-xpub', merchant.id], secondKey)).exitCode).toBe(0)
  })

  it('rotate-master refuses unusable key files with exit 1', async () => {
    const loose = join(directory, 'loose.key')
    await writeFile(loose, testSecrets.masterKeyHex)
    await chmod(loose, 0o666)
    const same = join(directory, 'same.key')
    await writeFile(same, testSecrets.secondMasterKeyHex, { mode: 0o600 })
    for (const [args, code] of [
      [['rotate-master', `--new-key-file=${loose}`], 'master-key-invalid'],
      [['rotate-master', '--new-key-file', join(directory, 'absent.key')], 'master-key-invalid'],
      [['rotate-master', '--new-key-file', same], 'master-key-unchanged'],
    ] as const) {
      const result = await run([...args], secondKey)
      expect(result.exitCode).toBe(1)
      expect(result.output).toContain(code)
    }
  })

  it('lets unexpected (non-operating) errors propagate so the process handler exits', async () => {
    const broken: MasterKeyProvider = {
      id: firstKey.id,
      wrap: () => Promise.reject(new TypeError('bug')),
      unwrap: () => Promise.reject(new TypeError('bug')),
    }
    const fresh = await createTestDatabase()
    try {
      await expect(
        runKeysCommand(['init'], { pool: fresh.pool, masterKeyProvider: broken, write: () => {} }),
      ).rejects.toThrow(TypeError)
    } finally {
      await fresh.drop()
    }
  })
})
