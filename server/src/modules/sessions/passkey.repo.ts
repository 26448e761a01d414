import type { Queryable } from '../../db/pool.ts'
import type { Passkey, PasskeyChallenge, PasskeyChallengePurpose } from './passkey.types.ts'

type PasskeyRow = {
  id: string
  approver_id: string
  merchant_id: string
  credential_id: string
  public_key: Buffer
  sign_count: string
  transports: string[]
  rp_id: string
  label: string
  created_at: Date
  last_used_at: Date | null
  counter_regressed_at: Date | null
}

const toPasskey = (row: PasskeyRow): Passkey => ({
  id: row.id,
  approverId: row.approver_id,
  merchantId: row.merchant_id,
  credentialId: row.credential_id,
  publicKey: new Uint8Array(row.public_key),
  // uint32 by the column's check: exact as a number
  signCount: Number.parseInt(row.sign_count, 10),
  transports: row.transports,
  rpId: row.rp_id,
  label: row.label,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  counterRegressedAt: row.counter_regressed_at,
})

/** A person's passkeys, oldest first; bounded by passkeysPerPersonMax at insert, and LIMITed here too. */
export async function selectPasskeysOf(db: Queryable, approverId: string, limit: number): Promise<Passkey[]> {
  const result = await db.query<PasskeyRow>(
    'select * from dashboard_passkeys where approver_id = $1 order by created_at, id limit $2',
    [approverId, limit],
  )
  return result.rows.map(toPasskey)
}

export async function countPasskeysOf(db: Queryable, approverId: string): Promise<number> {
  const result = await db.query<{ passkeys: number }>(
    'select count(*)::int as passkeys from dashboard_passkeys where approver_id = $1',
    [approverId],
  )
  return result.rows[0]?.passkeys ?? 0
}

export async function selectPasskeyByCredentialId(
  db: Queryable,
  credentialId: string,
  forUpdate = false,
): Promise<Passkey | undefined> {
  const result = await db.query<PasskeyRow>(
    `select * from dashboard_passkeys where credential_id = $1${forUpdate ? ' for update' : ''}`,
    [credentialId],
  )
  const row = result.rows[0]
  return row === undefined ? undefined : toPasskey(row)
}

/** Inserts a passkey; false when the credential id is registered already (to anyone). */
export async function insertPasskey(
  db: Queryable,
  passkey: Omit<Passkey, 'lastUsedAt' | 'counterRegressedAt'>,
): Promise<boolean> {
  const result = await db.query(
    `insert into dashboard_passkeys
       (id, approver_id, merchant_id, credential_id, public_key, sign_count, transports, rp_id, label, created_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     on conflict (credential_id) do nothing`,
    [
      passkey.id,
      passkey.approverId,
      passkey.merchantId,
      passkey.credentialId,
      Buffer.from(passkey.publicKey),
      passkey.signCount,
      passkey.transports,
      passkey.rpId,
      passkey.label,
      passkey.createdAt,
    ],
  )
  return result.rowCount === 1
}

/** Records a verified use: the new counter and when. */
export async function recordPasskeyUse(db: Queryable, id: string, signCount: number, now: Date) {
  await db.query('update dashboard_passkeys set sign_count = $2, last_used_at = $3 where id = $1', [
    id,
    signCount,
    now,
  ])
}

export async function recordCounterRegression(db: Queryable, id: string, now: Date): Promise<void> {
  await db.query('update dashboard_passkeys set counter_regressed_at = $2 where id = $1', [id, now])
}

export async function deletePasskey(db: Queryable, approverId: string, id: string): Promise<boolean> {
  const result = await db.query('delete from dashboard_passkeys where id = $1 and approver_id = $2', [
    id,
    approverId,
  ])
  return result.rowCount === 1
}

export async function insertChallenge(
  db: Queryable,
  challenge: Omit<PasskeyChallenge, 'consumedAt'> & { challengeHash: string },
): Promise<void> {
  await db.query(
    `insert into dashboard_passkey_challenges
       (challenge_hash, purpose, approver_id, subject, origin, rp_id, created_at, expires_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      challenge.challengeHash,
      challenge.purpose,
      challenge.approverId,
      challenge.subject,
      challenge.origin,
      challenge.rpId,
      challenge.createdAt,
      challenge.expiresAt,
    ],
  )
}

/** Open (unused, unexpired) challenges of a purpose, or of a person when approverId is given. */
export async function countOpenChallenges(
  db: Queryable,
  filter: Readonly<{ purpose: PasskeyChallengePurpose } | { approverId: string }>,
  now: Date,
): Promise<number> {
  const [column, value] =
    'purpose' in filter ? ['purpose', filter.purpose] : ['approver_id', filter.approverId]
  const result = await db.query<{ open: number }>(
    `select count(*)::int as open from dashboard_passkey_challenges
      where ${column} = $1 and consumed_at is null and expires_at > $2`,
    [value, now],
  )
  return result.rows[0]?.open ?? 0
}

/** Deletes up to `limit` challenges that expired before `before`. */
export async function pruneChallenges(db: Queryable, before: Date, limit: number): Promise<void> {
  await db.query(
    `delete from dashboard_passkey_challenges where challenge_hash in (
       select challenge_hash from dashboard_passkey_challenges where expires_at < $1 limit $2)`,
    [before, limit],
  )
}

type ChallengeRow = {
  purpose: PasskeyChallengePurpose
  approver_id: string | null
  subject: string | null
  origin: string
  rp_id: string
  created_at: Date
  expires_at: Date
  consumed_at: Date | null
}

/**
 * Marks a challenge used and returns it as it was before: `consumedAt` set means it had been used
 * already. The row lock makes two concurrent uses see each other: only the first finds it unused.
 */
export async function consumeChallenge(
  db: Queryable,
  challengeHash: string,
  now: Date,
): Promise<PasskeyChallenge | undefined> {
  const result = await db.query<ChallengeRow>(
    `with previous as (
       select * from dashboard_passkey_challenges where challenge_hash = $1 for update
     ), consumed as (
       update dashboard_passkey_challenges c set consumed_at = coalesce(c.consumed_at, $2)
         from previous where c.challenge_hash = previous.challenge_hash
     )
     select purpose, approver_id, subject, origin, rp_id, created_at, expires_at, consumed_at from previous`,
    [challengeHash, now],
  )
  const row = result.rows[0]
  return row === undefined
    ? undefined
    : {
        purpose: row.purpose,
        approverId: row.approver_id,
        subject: row.subject,
        origin: row.origin,
        rpId: row.rp_id,
        createdAt: row.created_at,
        expiresAt: row.expires_at,
        consumedAt: row.consumed_at,
      }
}
