import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Pool } from '../db/pool.ts'
import { isAppError } from '../lib/errors.ts'
import { getApprover } from '../modules/payouts/payout.service.ts'
import { addDashboardUser } from './commands/users.ts'

/**
 * On the devnet only: a dashboard user for the demo store (roles admin and approver), whose login,
 * password and TOTP secret `npm start` prints. They are kept in <dataDir>/demo-operator.json (mode 0600)
 * so later starts can print them again; production users are created with `sluice users add`, and
 * their password and TOTP secret are never kept in clear.
 */
export type DemoOperator = Readonly<{
  approverId: string
  login: string
  password: string
  totpSecret: string
}>

const fileName = 'demo-operator.json'
const demoLogin = 'operator'

export function readDemoOperator(dataDir: string): DemoOperator | undefined {
  const path = join(dataDir, fileName)
  if (!existsSync(path)) return undefined
  return JSON.parse(readFileSync(path, 'utf8')) as DemoOperator
}

export async function ensureDemoOperator(
  pool: Pool,
  dataDir: string,
  merchantId: string,
): Promise<DemoOperator> {
  const existing = readDemoOperator(dataDir)
  if (existing !== undefined && (await getApprover(pool, merchantId, existing.approverId)) !== undefined)
    return existing
  const password = randomBytes(18).toString('base64url')
  // `operator`, or a suffixed name when the file was lost but the user exists (logins are unique).
  for (const login of [demoLogin, `${demoLogin}-${randomBytes(3).toString('hex')}`]) {
    try {
      const user = await addDashboardUser(pool, {
        merchantId,
        name: 'Demo Operator',
        login,
        roles: ['admin', 'approver'],
        password,
      })
      const operator: DemoOperator = {
        approverId: user.approverId,
        login,
        password,
        totpSecret: user.totpSecret,
      }
      writeFileSync(join(dataDir, fileName), `${JSON.stringify(operator)}\n`, { mode: 0o600 })
      return operator
    } catch (error) {
      if (!isAppError(error) || error.code !== 'login-taken') throw error
    }
  }
  throw new Error('could not choose a free login for the demo operator')
}
