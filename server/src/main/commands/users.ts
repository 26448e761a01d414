import type { Pool } from '../../db/pool.ts'
import { withTransaction } from '../../db/tx.ts'
import { isAppError } from '../../lib/errors.ts'
import { getMerchant } from '../../modules/merchants/merchant.service.ts'
import { enrolApprover } from '../../modules/payouts/payout.service.ts'
import { type PayoutRole, payoutRoles } from '../../modules/payouts/payout.types.ts'
import { setDashboardCredential } from '../../modules/sessions/session.service.ts'

/**
 * `sluice users add --store <merchantId> --name <name> --login <login> --roles <role,role>`: creates a
 * dashboard user (a payout approver with a login). The password is read from stdin (first line), never
 * from the command line, where shell history and `ps` would keep it. The TOTP secret is printed once,
 * with its otpauth:// URI for an authenticator app; it is not stored anywhere the operator can read it
 * again.
 */
export type UsersCommandDependencies = Readonly<{
  pool: Pool
  write: (line: string) => void
  readPassword: () => Promise<string>
}>

const exitUsage = 64
const merchantIdPattern = /^mer_[0-9A-HJKMNP-TV-Z]{26}$/

const usage = [
  'usage: sluice users add --store <merchantId> --name <name> --login <login> --roles <role,…>',
  `  roles: ${payoutRoles.join(', ')}`,
  '  the password is read from stdin (first line); at least 12 characters',
  '  e.g. printf "%s\\n" "$PASSWORD" | npm run sluice -- users add --store mer_… --name Ada --login ada --roles approver,admin',
]

function option(args: readonly string[], name: string): string | undefined {
  const index = args.indexOf(`--${name}`)
  return index === -1 ? undefined : args[index + 1]
}

function parseRoles(text: string | undefined): PayoutRole[] | undefined {
  if (text === undefined) return undefined
  const roles = text.split(',').map((role) => role.trim())
  if (roles.length === 0 || !roles.every((role) => (payoutRoles as readonly string[]).includes(role)))
    return undefined
  return [...new Set(roles)] as PayoutRole[]
}

/** The otpauth:// URI authenticator apps read (as a QR code or pasted). */
export function otpauthUri(issuer: string, login: string, secret: string): string {
  const label = encodeURIComponent(`${issuer}:${login}`)
  return `otpauth://totp/${label}?secret=${secret}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=6&period=30`
}

/** Creates a dashboard user: approver (roles + TOTP secret) and login (scrypt password hash). */
export async function addDashboardUser(
  pool: Pool,
  input: Readonly<{
    merchantId: string
    name: string
    login: string
    roles: readonly PayoutRole[]
    password: string
  }>,
): Promise<{ approverId: string; totpSecret: string }> {
  // One transaction: a refused login (taken, invalid) leaves no approver behind.
  return await withTransaction(pool, async (client) => {
    const enrolled = await enrolApprover(client, {
      merchantId: input.merchantId,
      name: input.name,
      roles: input.roles,
    })
    await setDashboardCredential(client, {
      merchantId: input.merchantId,
      approverId: enrolled.approver.id,
      login: input.login,
      password: input.password,
    })
    return { approverId: enrolled.approver.id, totpSecret: enrolled.totpSecret }
  })
}

export async function runUsersCommand(args: string[], deps: UsersCommandDependencies): Promise<number> {
  const [command, ...rest] = args
  const merchantId = option(rest, 'store')
  const name = option(rest, 'name')
  const login = option(rest, 'login')
  const roles = parseRoles(option(rest, 'roles'))
  if (
    command !== 'add' ||
    merchantId === undefined ||
    !merchantIdPattern.test(merchantId) ||
    name === undefined ||
    login === undefined ||
    roles === undefined
  ) {
    for (const line of usage) deps.write(line)
    return exitUsage
  }
  const store = await getMerchant(deps.pool, merchantId)
  if (store === undefined) {
    deps.write('sluice users: no such store')
    return 1
  }
  const password = await deps.readPassword()
  try {
    const user = await addDashboardUser(deps.pool, { merchantId, name, login, roles, password })
    deps.write(`dashboard user ${user.approverId} (${login}) added to ${store.name}`)
    deps.write('TOTP secret (shown once; add it to an authenticator app now):')
    deps.write(`  ${user.totpSecret}`)
    deps.write(`  ${otpauthUri('Sluice', login, user.totpSecret)}`)
    return 0
  } catch (error) {
    if (!isAppError(error)) throw error
    deps.write(`sluice users: ${error.code}: ${error.message}`)
    return 1
  }
}

/** The first line of stdin (the password), without its line ending. */
export async function readFirstLine(stream: NodeJS.ReadableStream): Promise<string> {
  let text = ''
  for await (const chunk of stream) {
    text += String(chunk)
    if (text.includes('\n')) break
    // The password is at most 1,024 characters (session.limits); stop reading a runaway stream.
    if (text.length > 4096) break
  }
  return text.split(/\r?\n/)[0] ?? ''
}
