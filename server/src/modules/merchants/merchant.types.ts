/** What an API key may do; routes name the scope they need. */
export const apiKeyScopes = [
  'invoices:read',
  'invoices:write',
  'customers:read',
  'customers:write',
  'payouts:read',
  'payouts:write',
  'payouts:approve',
  'webhooks:read',
  'webhooks:write',
  'ledger:read',
] as const

export type ApiKeyScope = (typeof apiKeyScopes)[number]

export type Merchant = Readonly<{ id: string; name: string; isDemo: boolean; createdAt: Date }>

/** The caller behind a request: a store's API key and what it may do. */
export type Principal = Readonly<{ merchantId: string; apiKeyId: string; scopes: readonly ApiKeyScope[] }>

/**
 * The stores whose keys and dashboard users act for the gateway's operator (config `operatorStores`):
 * only they see and decide the treasury (docs/adr/0026-operator-store.md).
 */
export type OperatorStores = ReadonlySet<string>
