import type { Queryable } from '../../db/pool.ts'
import type { DashboardCredential, SignInFailureReason } from './session.types.ts'

type CredentialRow = { approver_id: string; merchant_id: string; login: string; password_hash: string }

const toCredential = (row: CredentialRow): DashboardCredential => ({
  approverId: row.approver_id,
  merchantId: row.merchant_id,
  login: row.login,
  passwordHash: row.password_hash,
})

export async function selectCredentialByLogin(
  db: Queryable,
  login: string,
): Promise<DashboardCredential | undefined> {
  const result = await db.query<CredentialRow>('select * from dashboard_credentials where login = $1', [
    login,
  ])
  const row = result.rows[0]
  return row === undefined ? undefined : toCredential(row)
}

export async function selectCredentialByApprover(
  db: Queryable,
  approverId: string,
): Promise<DashboardCredential | undefined> {
  const result = await db.query<CredentialRow>('select * from dashboard_credentials where approver_id = $1', [
    approverId,
  ])
  const row = result.rows[0]
  return row === undefined ? undefined : toCredential(row)
}

/** Inserts or replaces an approver's credential; false when the login belongs to someone else. */
export async function upsertCredential(db: Queryable, credential: DashboardCredential): Promise<boolean> {
  try {
    await db.query(
      `insert into dashboard_credentials (approver_id, merchant_id, login, password_hash)
       values ($1, $2, $3, $4)
       on conflict (approver_id) do update
         set login = excluded.login, password_hash = excluded.password_hash, updated_at = now()`,
      [credential.approverId, credential.merchantId, credential.login, credential.passwordHash],
    )
    return true
  } catch (error) {
    // unique_violation on login: the only other unique key of the table
    if ((error as { code?: string }).code === '23505') return false
    throw error
  }
}

export async function countSignInFailures(db: Queryable, login: string, since: Date): Promise<number> {
  const result = await db.query<{ failures: number }>(
    'select count(*)::int as failures from dashboard_sign_in_failures where login = $1 and created_at > $2',
    [login, since],
  )
  return result.rows[0]?.failures ?? 0
}

/** The oldest failure still inside the window: the limit lifts when it leaves. */
export async function selectOldestSignInFailure(
  db: Queryable,
  login: string,
  since: Date,
): Promise<Date | undefined> {
  const result = await db.query<{ oldest: Date | null }>(
    'select min(created_at) as oldest from dashboard_sign_in_failures where login = $1 and created_at > $2',
    [login, since],
  )
  return result.rows[0]?.oldest ?? undefined
}

/** Records a failed (or presumed failed) sign-in; returns its id, so the reason can be corrected. */
export async function insertSignInFailure(
  db: Queryable,
  login: string,
  reason: SignInFailureReason,
  now: Date,
): Promise<string> {
  const result = await db.query<{ id: string }>(
    'insert into dashboard_sign_in_failures (login, reason, created_at) values ($1, $2, $3) returning id',
    [login, reason, now],
  )
  return result.rows[0]?.id ?? ''
}

export async function updateSignInFailureReason(
  db: Queryable,
  id: string,
  reason: SignInFailureReason,
): Promise<void> {
  await db.query('update dashboard_sign_in_failures set reason = $2 where id = $1', [id, reason])
}

/** A success forgets the login's failures; entries older than the window are pruned on the way. */
export async function deleteSignInFailures(db: Queryable, login: string, before: Date): Promise<void> {
  await db.query('delete from dashboard_sign_in_failures where login = $1 or created_at <= $2', [
    login,
    before,
  ])
}

export async function insertSession(
  db: Queryable,
  session: Readonly<{
    id: string
    tokenHash: string
    approverId: string
    merchantId: string
    createdAt: Date
    expiresAt: Date
  }>,
): Promise<void> {
  await db.query(
    `insert into dashboard_sessions (id, token_hash, approver_id, merchant_id, created_at, expires_at, last_seen_at)
     values ($1, $2, $3, $4, $5, $6, $5)`,
    [
      session.id,
      session.tokenHash,
      session.approverId,
      session.merchantId,
      session.createdAt,
      session.expiresAt,
    ],
  )
}

export type SessionRow = {
  id: string
  approver_id: string
  merchant_id: string
  created_at: Date
  expires_at: Date
  last_seen_at: Date
  revoked_at: Date | null
  login: string
}

export async function selectSessionByTokenHash(
  db: Queryable,
  tokenHash: string,
): Promise<SessionRow | undefined> {
  const result = await db.query<SessionRow>(
    `select s.id, s.approver_id, s.merchant_id, s.created_at, s.expires_at, s.last_seen_at, s.revoked_at,
            c.login
       from dashboard_sessions s join dashboard_credentials c on c.approver_id = s.approver_id
      where s.token_hash = $1`,
    [tokenHash],
  )
  return result.rows[0]
}

export async function touchSession(db: Queryable, id: string, now: Date): Promise<void> {
  await db.query('update dashboard_sessions set last_seen_at = $2 where id = $1', [id, now])
}

export async function revokeSession(db: Queryable, tokenHash: string, now: Date): Promise<void> {
  await db.query(
    'update dashboard_sessions set revoked_at = $2 where token_hash = $1 and revoked_at is null',
    [tokenHash, now],
  )
}
