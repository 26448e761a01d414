import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/setup/database.ts'
import { runUsersCommand } from '../../main/commands/users.ts'
import { ensureDemoOperator } from '../../main/demo-operator.ts'
import { createMerchant } from '../merchants/merchant.service.ts'
import { totpAt } from '../payouts/payout.totp.ts'
import { signIn } from './session.service.ts'

// `sluice users add`: the first dashboard user of a store, password from stdin, TOTP secret shown once.
const password = 'first operator passphrase for tests'

let database: TestDatabase
let merchantId = ''
beforeAll(async () => {
  database = await createTestDatabase()
  merchantId = (await createMerchant(database.pool, { name: 'CLI Store' })).merchant.id
})
afterAll(async () => {
  await database?.drop()
})

async function run(args: string[], secret = password) {
  const lines: string[] = []
  const code = await runUsersCommand(args, {
    pool: database.pool,
    write: (line) => lines.push(line),
    readPassword: async () => secret,
  })
  return { code, lines }
}

describe('sluice users add', () => {
  it('creates a user who can sign in with the printed TOTP secret; the password is never echoed', async () => {
    const { code, lines } = await run([
      'add',
      '--store',
      merchantId,
      '--name',
      'Grace',
      '--login',
      'grace',
      '--roles',
      'admin,approver',
    ])
    expect(code).toBe(0)
    const secret = lines.find((line) => /^ {2}[A-Z2-7]{16,}$/.test(line))?.trim() ?? ''
    expect(secret).not.toBe('')
    expect(lines.some((line) => line.includes(`otpauth://totp/Sluice%3Agrace?secret=${secret}`))).toBe(true)
    expect(lines.join('\n')).not.toContain(password)
    const now = new Date()
    const signed = await signIn(
      database.pool,
      { login: 'grace', password, totpCode: totpAt(secret, BigInt(now.getTime()) / 1000n) },
      now,
    )
    expect(signed.session.roles).toEqual(['admin', 'approver'])
  })

  it('refuses bad usage (64), a short password and a taken login (1) and leaves no approver behind', async () => {
    expect((await run(['add', '--store', merchantId, '--name', 'X'])).code).toBe(64)
    expect(
      (await run(['add', '--store', merchantId, '--name', 'X', '--login', 'x', '--roles', 'boss'])).code,
    ).toBe(64)
    const before = await database.pool.query('select count(*)::int as n from payout_approvers')
    const short = await run(
      ['add', '--store', merchantId, '--name', 'X', '--login', 'x', '--roles', 'auditor'],
      'short',
    )
    expect(short).toMatchObject({ code: 1 })
    expect(short.lines.join('\n')).toContain('password-too-short')
    const taken = await run([
      'add',
      '--store',
      merchantId,
      '--name',
      'Y',
      '--login',
      'grace',
      '--roles',
      'auditor',
    ])
    expect(taken.lines.join('\n')).toContain('login-taken')
    const after = await database.pool.query('select count(*)::int as n from payout_approvers')
    expect(after.rows[0]).toEqual(before.rows[0])
  })
})

describe('devnet demo operator', () => {
  it('is created once, kept in a 0600 file, and signs in with what the banner prints', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-demo-operator-'))
    try {
      const first = await ensureDemoOperator(database.pool, dataDir, merchantId)
      const again = await ensureDemoOperator(database.pool, dataDir, merchantId)
      expect(again).toEqual(first)
      expect(first.login).toBe('operator')
      expect(statSync(join(dataDir, 'demo-operator.json')).mode & 0o777).toBe(0o600)
      const now = new Date()
      const code = totpAt(first.totpSecret, BigInt(now.getTime()) / 1000n)
      const signed = await signIn(
        database.pool,
        { login: first.login, password: first.password, totpCode: code },
        now,
      )
      expect(signed.session.roles).toEqual(['admin', 'approver'])
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
