import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Pool } from '../db/pool.ts'
import { createMerchant, getDemoMerchant, issueApiKey } from '../modules/merchants/merchant.service.ts'
import { apiKeyScopes } from '../modules/merchants/merchant.types.ts'

/**
 * On the devnet only: a demo merchant whose API key `npm start` prints. The key is kept in
 * <dataDir>/demo-api-key (mode 0600) so later starts can print it again; production merchants' keys
 * are shown once and exist only as hashes.
 */
export async function ensureDemoMerchant(
  pool: Pool,
  dataDir: string,
): Promise<{ merchantId: string; apiKey: string }> {
  const keyPath = join(dataDir, 'demo-api-key')
  const existing = await getDemoMerchant(pool)
  if (existing !== undefined && existsSync(keyPath)) {
    return { merchantId: existing.id, apiKey: readFileSync(keyPath, 'utf8').trim() }
  }
  let result: { merchantId: string; apiKey: string }
  if (existing === undefined) {
    const created = await createMerchant(pool, { name: 'Demo Store', isDemo: true })
    result = { merchantId: created.merchant.id, apiKey: created.apiKey.key }
  } else {
    const issued = await issueApiKey(pool, {
      merchantId: existing.id,
      label: 'demo key',
      scopes: apiKeyScopes,
    })
    result = { merchantId: existing.id, apiKey: issued.key }
  }
  writeFileSync(keyPath, `${result.apiKey}\n`, { mode: 0o600 })
  return result
}
