import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { resolve } from 'node:path'
import { z } from 'zod'
import type { Config } from './config.types.ts'
import { limits } from './limits.ts'

/**
 * The only reader of process.env. Configuration = an optional JSON file (SLUICE_CONFIG) overlaid by
 * environment variables; the merged object is validated by one strict schema. Any problem stops the
 * start with every offending field named: there is no partial start.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`)
  }
}

const evmAddress = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address')
const rpcUrl = z
  .string()
  .refine((value) => /^(https?|wss?):\/\/[^\s]+$/.test(value), 'must be an http(s):// or ws(s):// URL')

const tokenSchema = z.strictObject({
  symbol: z.string().regex(/^[A-Za-z0-9.-]{1,16}$/, 'must be 1-16 letters, digits, "." or "-"'),
  contractAddress: evmAddress,
  decimals: z.number().int().min(0).max(limits.tokenDecimalsMax),
})

const finalitySchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('tag') }),
  z.strictObject({ kind: z.literal('confirmations'), confirmations: z.number().int().min(1).max(10_000) }),
])

// Custody settings of a network (docs/adr/0016-signers-and-cold-wallet.md). Wei and minor units are
// decimal strings (bigint after parsing), never JSON numbers.
const weiOrMinor = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,77})$/, 'must be a non-negative integer as a decimal string')
  .transform((text) => BigInt(text))
const signerSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('keystore') }),
  z.strictObject({
    kind: z.literal('remote'),
    url: z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http(s):// URL'),
    secretFile: z.string().min(1),
  }),
])
const treasurySchema = z.strictObject({
  coldAddress: evmAddress.transform((text) => text as `0x${string}`),
  hotWallet: z
    .record(
      z.string().regex(/^[A-Za-z0-9.-]{1,16}$/),
      z
        .strictObject({ floorMinor: weiOrMinor, ceilingMinor: weiOrMinor })
        .refine((band) => band.floorMinor < band.ceilingMinor, 'floorMinor must be below ceilingMinor'),
    )
    .default({}),
})

const networkSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be lower-case letters, digits or "-"'),
  kind: z.literal('evm'),
  chainId: z.number().int().min(1),
  rpcUrls: z.array(rpcUrl).min(1).max(limits.rpcUrlsPerNetworkMax),
  blockTimeMs: z.number().int().min(100).max(600_000),
  finality: finalitySchema,
  tokens: z.array(tokenSchema).max(limits.tokensPerNetworkMax),
  batchTransferAddress: evmAddress.optional(),
  signer: signerSchema.optional(),
  maxFeePerGasCapWei: weiOrMinor.refine((wei) => wei > 0n, 'must be above 0').optional(),
  treasury: treasurySchema.optional(),
  // A block explorer for people (the checkout links each payment's transaction); never called by us.
  explorerUrl: z
    .string()
    .max(200)
    .regex(/^https:\/\/[^\s?#]+$/, 'must be an https:// URL without query or fragment')
    .optional(),
  // The native coin's symbol, to price gas through `rates` (rates[nativeSymbol][token]); default ETH.
  nativeSymbol: z
    .string()
    .regex(/^[A-Z][A-Z0-9-]{0,15}$/, 'must be upper-case letters, digits or "-"')
    .optional(),
})

function isAddressOrRange(text: string): boolean {
  const [address = '', prefix, ...rest] = text.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return false
  if (prefix === undefined) return true
  return /^\d{1,3}$/.test(prefix) && Number.parseInt(prefix, 10) <= (family === 4 ? 32 : 128)
}

const configSchema = z
  .strictObject({
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional(),
    httpHost: z.string().min(1).default('127.0.0.1'),
    httpPort: z.number().int().min(0).max(65_535).default(4000),
    trustedProxies: z
      .array(z.string().refine(isAddressOrRange, 'an IP address or a CIDR range (10.0.0.0/8, fd00::/8)'))
      .max(limits.trustedProxiesMax)
      .default([]),
    // The stores whose keys and users act for the gateway's operator: only they see and decide the
    // treasury (docs/adr/0026-operator-store.md). Absent: no store does, except the devnet's demo store.
    operatorStores: z
      .array(z.string().regex(/^mer_[0-9A-HJKMNP-TV-Z]{26}$/, 'must be a store id (mer_ and 26 characters)'))
      .min(1, 'list at least one store id, or leave operatorStores out (then no store sees the treasury)')
      .max(limits.operatorStoresMax)
      .optional(),
    dataDir: z.string().min(1).default('.sluice'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    networks: z.array(networkSchema).max(limits.networksMax).default([]),
    devnet: z
      .strictObject({
        blockTimeMs: z.record(z.string(), z.number().int().min(100).max(60_000)).default({}),
        persistState: z.boolean().default(true),
      })
      .default({ blockTimeMs: {}, persistState: true }),
    secrets: z
      .strictObject({
        masterKeyFile: z.string().min(1).optional(),
        keystoreDir: z.string().min(1).optional(),
      })
      .default({}),
    natsUrl: z
      .string()
      .regex(/^nats:\/\//, 'must be a nats:// URL')
      .optional(),
    webhooks: z.strictObject({ allowLocalEndpoints: z.boolean().optional() }).default({}),
    // Static exchange rates for fiat-priced invoices: tokens per one unit of currency, as decimal strings.
    // A currency or token missing here cannot price an invoice (creation fails; nothing is guessed).
    rates: z
      .record(
        z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like USD'),
        z.record(
          z.string().regex(/^[A-Z0-9.-]{1,16}$/),
          z.string().regex(/^(0|[1-9][0-9]{0,11})(\.[0-9]{1,18})?$/, 'must be a decimal string'),
        ),
      )
      .default({ USD: { USDT: '1', USDC: '1' } }),
  })
  .superRefine((config, context) => {
    checkOperatorStores(config, context)
    for (const [field, key] of [
      ['chainId', 'chainId'],
      ['name', 'name'],
    ] as const) {
      const seen = new Map<unknown, number>()
      config.networks.forEach((network, index) => {
        const first = seen.get(network[key])
        if (first !== undefined) {
          context.addIssue({
            code: 'custom',
            path: ['networks', index, field],
            message: `duplicates networks[${first}].${field} (${String(network[key])})`,
          })
        } else seen.set(network[key], index)
      })
    }
  })

/**
 * Operator stores: each listed once, and named whenever a network has a treasury, since without one no
 * store could decide its sweeps to cold and the hot wallet would only grow (docs/adr/0026).
 */
function checkOperatorStores(
  config: Readonly<{
    operatorStores?: readonly string[] | undefined
    networks: readonly { treasury?: unknown }[]
  }>,
  context: z.RefinementCtx,
): void {
  config.operatorStores?.forEach((id, index, all) => {
    const first = all.indexOf(id)
    if (first !== index)
      context.addIssue({
        code: 'custom',
        path: ['operatorStores', index],
        message: `duplicates operatorStores[${first}] (${id})`,
      })
  })
  const withTreasury = config.networks.findIndex((network) => network.treasury !== undefined)
  if (withTreasury >= 0 && config.operatorStores === undefined)
    context.addIssue({
      code: 'custom',
      path: ['operatorStores'],
      message:
        `required when a network has a treasury (networks[${withTreasury}].treasury): list the stores ` +
        '(mer_…) whose keys and dashboard users see and decide it',
    })
}

type Environment = Readonly<Record<string, string | undefined>>

/** Environment variables Sluice reads, and where each lands in the config object. */
const environmentFields = {
  DATABASE_URL: 'databaseUrl',
  SLUICE_HTTP_HOST: 'httpHost',
  SLUICE_HTTP_PORT: 'httpPort',
  SLUICE_DATA_DIR: 'dataDir',
  SLUICE_LOG_LEVEL: 'logLevel',
  SLUICE_MASTER_KEY_FILE: 'secrets.masterKeyFile',
  NATS_URL: 'natsUrl',
} as const

const environmentOnly = new Set(['SLUICE_CONFIG', 'SLUICE_MASTER_KEY', 'SLUICE_ROLE', 'TEST_DATABASE_URL'])

function readConfigFile(path: string | undefined, problems: string[]): Record<string, unknown> {
  if (path === undefined) return {}
  try {
    const parsed: unknown = JSON.parse(readFileSync(resolve(path), 'utf8'))
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>
    }
    problems.push(`SLUICE_CONFIG (${path}): must hold a JSON object`)
  } catch (error) {
    problems.push(`SLUICE_CONFIG (${path}): ${error instanceof Error ? error.message : String(error)}`)
  }
  return {}
}

function overlayEnvironment(base: Record<string, unknown>, environment: Environment, problems: string[]) {
  const merged: Record<string, unknown> = { ...base }
  for (const [variable, field] of Object.entries(environmentFields)) {
    const value = environment[variable]
    if (value === undefined || value === '') continue
    const typed =
      field === 'httpPort' ? (/^\d{1,5}$/.test(value) ? Number.parseInt(value, 10) : value) : value
    if (field === 'secrets.masterKeyFile') {
      merged.secrets = { ...(merged.secrets as Record<string, unknown> | undefined), masterKeyFile: typed }
    } else merged[field] = typed
  }
  for (const variable of Object.keys(environment)) {
    if (!variable.startsWith('SLUICE_')) continue
    if (!(variable in environmentFields) && !environmentOnly.has(variable)) {
      problems.push(
        `${variable}: unknown environment variable (known: ${Object.keys(environmentFields).join(', ')})`,
      )
    }
  }
  return merged
}

function describeIssuePath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, part) => {
    if (typeof part === 'number') return `${text}[${part}]`
    return text === '' ? String(part) : `${text}.${String(part)}`
  }, '')
}

/** Reads, merges and validates the configuration; throws ConfigError naming every bad field. */
export function loadConfig(environment: Environment = process.env): Config {
  const problems: string[] = []
  // npm runs workspace scripts inside server/; paths are meant relative to where the user typed the command.
  const baseDirectory = environment.INIT_CWD ?? process.cwd()
  const configPath =
    environment.SLUICE_CONFIG === undefined ? undefined : resolve(baseDirectory, environment.SLUICE_CONFIG)
  const fromFile = readConfigFile(configPath, problems)
  const merged = overlayEnvironment(fromFile, environment, problems)
  const result = configSchema.safeParse(merged)
  if (!result.success) {
    for (const issue of result.error.issues) {
      problems.push(`${describeIssuePath(issue.path) || '(root)'}: ${issue.message}`)
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems)
  const parsed = result.data
  return {
    databaseUrl: parsed.databaseUrl,
    httpHost: parsed.httpHost,
    httpPort: parsed.httpPort,
    trustedProxies: parsed.trustedProxies,
    operatorStores: parsed.operatorStores,
    dataDir: resolve(baseDirectory, parsed.dataDir),
    logLevel: parsed.logLevel,
    networks: parsed.networks.map(({ batchTransferAddress, ...network }) => ({
      ...network,
      ...(batchTransferAddress === undefined
        ? {}
        : { batchTransferAddress: batchTransferAddress as `0x${string}` }),
      tokens: network.tokens.map((token) => ({
        ...token,
        contractAddress: token.contractAddress as `0x${string}`,
      })),
    })),
    devnet: parsed.devnet,
    secrets: {
      masterKeyFile: parsed.secrets.masterKeyFile,
      keystoreDir: resolve(baseDirectory, parsed.secrets.keystoreDir ?? `${parsed.dataDir}/keystore`),
    },
    natsUrl: parsed.natsUrl,
    webhooks: { allowLocalEndpoints: parsed.webhooks.allowLocalEndpoints },
    rates: parsed.rates,
  }
}

/** Secret material passed by environment (never logged). */
export function readMasterKeyFromEnvironment(environment: Environment = process.env): string | undefined {
  return environment.SLUICE_MASTER_KEY
}

/** The test database server, when tests should use an existing PostgreSQL instead of an embedded one. */
export function readTestDatabaseUrl(environment: Environment = process.env): string | undefined {
  const value = environment.TEST_DATABASE_URL
  return value === undefined || value === '' ? undefined : value
}

/** The minimal environment handed to child processes we spawn (tests, tools): no Sluice settings leak in. */
export function baseChildEnvironment(environment: Environment = process.env): Record<string, string> {
  return { PATH: environment.PATH ?? '', HOME: environment.HOME ?? '' }
}
