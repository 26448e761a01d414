import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertNoSecretsIn, testSecrets } from '../../../test/setup/leak-guard.ts'
import { openSecret, sealSecret } from './key.envelope.ts'
import {
  createEnvironmentMasterKeyProvider,
  createInProcessKmsClientForTests,
  createKmsMasterKeyProvider,
  createPassphraseMasterKeyProvider,
  loadKeyFileMasterKeyProvider,
  parseMasterKey,
  scryptCostDefault,
  writeNewMasterKeyFile,
} from './key.master.ts'

let directory: string
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'sluice-master-key-'))
})
afterAll(async () => {
  await rm(directory, { recursive: true, force: true })
})

async function failureOf(run: () => Promise<unknown> | unknown): Promise<Error & { code?: string }> {
  try {
    await run()
  } catch (error) {
    return error as Error & { code?: string }
  }
  throw new Error('expected a failure')
}

const secretId = 'sec_master_key_tests'
const plaintext = new Uint8Array([1, 2, 3, 4])

describe('raw master keys (file, environment)', () => {
  it('accepts hex, 0x-hex, base64 and base64url spellings of the same key, with one id', async () => {
    const hex = createEnvironmentMasterKeyProvider(testSecrets.masterKeyHex)
    const prefixed = createEnvironmentMasterKeyProvider(`0x${testSecrets.masterKeyHex.toUpperCase()}\n`)
    const base64 = createEnvironmentMasterKeyProvider(testSecrets.masterKeyBase64)
    const base64url = createEnvironmentMasterKeyProvider(
      Buffer.from(testSecrets.masterKeyHex, 'hex').toString('base64url'),
    )
    expect(new Set([hex.id, prefixed.id, base64.id, base64url.id]).size).toBe(1)
    expect(hex.id).toMatch(/^raw:[0-9a-f]{16}$/)
    expect(hex.id).not.toBe(createEnvironmentMasterKeyProvider(testSecrets.secondMasterKeyHex).id)
    const envelope = await sealSecret(plaintext, secretId, hex)
    expect(await openSecret(envelope, secretId, base64)).toEqual(plaintext)
  })

  it('rejects wrong lengths, other alphabets and placeholder keys without quoting them', async () => {
    const inputs = [
      testSecrets.masterKeyHex.slice(0, 62),
      `${testSecrets.masterKeyHex}00`,
      testSecrets.masterKeyBase64.slice(1),
      testSecrets.passphrase,
      '0'.repeat(64),
      '',
    ]
    for (const input of inputs) {
      const error = await failureOf(() => parseMasterKey(input, 'SLUICE_MASTER_KEY'))
      expect(error.code).toBe('master-key-invalid')
      assertNoSecretsIn(inspect(error, { depth: 10 }))
    }
    expect((await failureOf(() => createEnvironmentMasterKeyProvider(undefined))).code).toBe(
      'master-key-invalid',
    )
  })

  it('loads a key file and refuses one that group or others can write', async () => {
    const path = join(directory, 'master.key')
    await writeFile(path, `${testSecrets.masterKeyBase64}\n`, { mode: 0o600 })
    const provider = await loadKeyFileMasterKeyProvider(path)
    expect(provider.id).toBe(createEnvironmentMasterKeyProvider(testSecrets.masterKeyHex).id)
    await chmod(path, 0o444)
    await expect(loadKeyFileMasterKeyProvider(path)).resolves.toMatchObject({ id: provider.id })
    await chmod(path, 0o620)
    expect((await failureOf(() => loadKeyFileMasterKeyProvider(path))).code).toBe('master-key-invalid')
    expect((await failureOf(() => loadKeyFileMasterKeyProvider(join(directory, 'absent.key')))).code).toBe(
      'master-key-invalid',
    )
  })

  it('writes new key files as 0600 and never overwrites one', async () => {
    const path = join(directory, 'new.key')
    await writeNewMasterKeyFile(path)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    const first = await readFile(path, 'utf8')
    expect(first).toMatch(/^[0-9a-f]{64}\n$/)
    await expect(writeNewMasterKeyFile(path)).rejects.toMatchObject({ code: 'EEXIST' })
    expect(await readFile(path, 'utf8')).toBe(first)
  })
})

describe('passphrase master key (scrypt)', () => {
  it('records the default cost (N=2^17, r=8, p=1) and a salt with the wrapped key', async () => {
    const provider = createPassphraseMasterKeyProvider(testSecrets.passphrase, { label: 'default-cost' })
    expect(scryptCostDefault).toEqual({ n: 2 ** 17, r: 8, p: 1 })
    const envelope = await sealSecret(plaintext, secretId, provider)
    expect(envelope.dataKey).toMatchObject({
      scheme: 'scrypt-aes-256-gcm',
      masterKeyId: 'passphrase:default-cost',
      kdf: { name: 'scrypt', n: 2 ** 17, r: 8, p: 1 },
    })
    // A new instance (new process) with the same passphrase derives the key from the stored salt.
    const restarted = createPassphraseMasterKeyProvider(testSecrets.passphrase, { label: 'default-cost' })
    expect(await openSecret(envelope, secretId, restarted)).toEqual(plaintext)
  })

  it('refuses short passphrases, bad labels and costs outside the bounds', async () => {
    const cases = [
      () => createPassphraseMasterKeyProvider('fifteen chars!!', { label: 'x' }),
      () => createPassphraseMasterKeyProvider(testSecrets.passphrase, { label: 'Not A Label' }),
      () =>
        createPassphraseMasterKeyProvider(testSecrets.passphrase, {
          label: 'x',
          cost: { n: 2 ** 14, r: 8, p: 1 },
        }),
      () =>
        createPassphraseMasterKeyProvider(testSecrets.passphrase, {
          label: 'x',
          cost: { n: 2 ** 19, r: 8, p: 1 },
        }),
      () =>
        createPassphraseMasterKeyProvider(testSecrets.passphrase, {
          label: 'x',
          cost: { n: 3 * 2 ** 15, r: 8, p: 1 },
        }),
    ]
    for (const run of cases) {
      const error = await failureOf(run)
      expect(error.code).toBe('master-key-invalid')
      assertNoSecretsIn(inspect(error, { depth: 10 }))
    }
    expect(() =>
      createPassphraseMasterKeyProvider('sixteen chars!!!', { label: 'x', cost: { n: 2 ** 15, r: 8, p: 1 } }),
    ).not.toThrow()
  })
})

describe('KMS master key', () => {
  it('round-trips through the client and fails on another KMS key', async () => {
    const provider = createKmsMasterKeyProvider(
      createInProcessKmsClientForTests('arn:aws:kms:eu-west-1:1:key/test'),
    )
    expect(provider.id).toBe('kms:arn:aws:kms:eu-west-1:1:key/test')
    const envelope = await sealSecret(plaintext, secretId, provider)
    expect(await openSecret(envelope, secretId, provider)).toEqual(plaintext)
    const otherKey = createKmsMasterKeyProvider(
      createInProcessKmsClientForTests('arn:aws:kms:eu-west-1:1:key/test'),
    )
    const error = await failureOf(() => openSecret(envelope, secretId, otherKey))
    expect(error).toMatchObject({
      code: 'secret-decryption-failed',
      details: [{ path: 'reason', message: 'kms-decrypt-failed' }],
    })
  })
})
