import type { Pool, PoolClient } from './pool.ts'

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable'

/**
 * Runs `work` in one transaction: commit if it resolves, roll back if it throws. A state change and
 * the events and jobs it causes are written through the same client, so they commit together (outbox).
 */
export async function withTransaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
  isolation: IsolationLevel = 'read committed',
): Promise<T> {
  const client = await pool.connect()
  try {
    await client.query(`begin isolation level ${isolation}`)
    const result = await work(client)
    await client.query('commit')
    return result
  } catch (error) {
    await client.query('rollback').catch(() => {})
    throw error
  } finally {
    client.release()
  }
}
