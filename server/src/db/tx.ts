import type { Pool, PoolClient } from './pool.ts'
import { deferWakeUps, settleWakeUps } from './wake.ts'

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable'

/**
 * Runs `work` in one transaction: commit if it resolves, roll back if it throws. A state change and
 * the events and jobs it causes are written through the same client, so they commit together (outbox);
 * workers are woken for those jobs after the commit (db/wake.ts).
 */
export async function withTransaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  isolation: IsolationLevel = 'read committed',
): Promise<T> {
  const client = await pool.connect()
  let committed = false
  try {
    await client.query(`begin isolation level ${isolation}`)
    deferWakeUps(client, pool)
    const result = await work(client)
    await client.query('commit')
    committed = true
    return result
  } catch (error) {
    await client.query('rollback').catch(() => {})
    throw error
  } finally {
    // Workers are woken only for work that committed (db/wake.ts).
    settleWakeUps(client, committed)
    client.release()
  }
}
