import type { PayoutRole } from './payout.types.ts'

/**
 * The payout policy engine, pure (reference: custody-policy-txmanager.md §1.8, Fireblocks TAP). Rules are
 * tried in order and the first whose every condition holds decides; when none holds, the policy's
 * explicit default decides. Amounts are compared in 18-decimal "scaled" units, so one limit covers
 * USDT (6 dp) and BSC-USD (18 dp) alike; stablecoins count 1:1.
 */

/** `all`: every store of the installation together (an operator-wide limit). */
export type WindowGroup = 'initiator' | 'destination' | 'store' | 'all'

/** The wallet a payout is paid from: the hot wallet today (the cold wallet is watch-only, ADR 0016). */
export type SourceWallet = 'hot' | 'cold'

export type PolicyMatch = Readonly<{
  /** API key ids or roles of the initiator; absent = any initiator. */
  initiator?: Readonly<{ apiKeyIds?: readonly string[]; roles?: readonly PayoutRole[] }>
  /** absent or `any` = every destination. */
  destination?:
    | Readonly<{ kind: 'any' }>
    | Readonly<{ kind: 'address_book' }>
    | Readonly<{ kind: 'whitelisted' }>
    | Readonly<{ kind: 'not_whitelisted' }>
    | Readonly<{ kind: 'addresses'; addresses: readonly string[] }>
  /** absent = any source wallet. */
  sourceWallets?: readonly SourceWallet[]
  networks?: readonly string[]
  /** Asset ids (`USDT@ethereum`). */
  assets?: readonly string[]
  /** Per payout, scaled units, both bounds inclusive. */
  amount?: Readonly<{ min?: bigint; max?: bigint }>
  /**
   * Rolling window: holds when this payout would take the group's total above `maxAmount` or its count
   * above `maxCount` (payouts not cancelled, blocked or failed in the last `seconds`).
   */
  window?: Readonly<{ seconds: number; maxAmount?: bigint; maxCount?: number; groupBy: WindowGroup }>
  /** UTC minutes of the day, [from, to); from > to wraps midnight. */
  timeOfDay?: Readonly<{ fromMinute: number; toMinute: number }>
}>

export type PolicyAction =
  | Readonly<{ kind: 'allow' }>
  | Readonly<{ kind: 'block'; reason: string }>
  /** N distinct approvers holding `role`; the initiator never counts. */
  | Readonly<{ kind: 'require_approval'; approvals: number; role: PayoutRole }>
  /** Executes `seconds` after approval; cancellable until then. */
  | Readonly<{ kind: 'delay'; seconds: number }>

export type PolicyRule = Readonly<{ id: string; match: PolicyMatch; action: PolicyAction }>
export type Policy = Readonly<{ rules: readonly PolicyRule[]; defaultAction: PolicyAction }>

/** Without a stored policy: one approval by an approver. Nothing leaves unattended by omission. */
export const builtInPolicy: Policy = {
  rules: [],
  defaultAction: { kind: 'require_approval', approvals: 1, role: 'approver' },
}

export type WindowUsage = Readonly<{ amount: bigint; count: number }>

export type PolicyRequest = Readonly<{
  initiatorApiKeyId: string
  initiatorRoles: readonly PayoutRole[]
  /** Lower-case. */
  destination: string
  destinationInAddressBook: boolean
  destinationWhitelisted: boolean
  sourceWallet: SourceWallet
  network: string
  assetId: string
  amountScaled: bigint
  /** What already went out in each rule's window, by rule id (computed by the service). */
  windowUsage: ReadonlyMap<string, WindowUsage>
  now: Date
}>

export type PolicyDecision = Readonly<{ ruleId: string | null; action: PolicyAction }>

function initiatorMatches(match: PolicyMatch['initiator'], request: PolicyRequest): boolean {
  if (match === undefined) return true
  const byKey = match.apiKeyIds?.includes(request.initiatorApiKeyId) ?? false
  const byRole = match.roles?.some((role) => request.initiatorRoles.includes(role)) ?? false
  return byKey || byRole
}

function destinationMatches(match: PolicyMatch['destination'], request: PolicyRequest): boolean {
  if (match === undefined) return true
  switch (match.kind) {
    case 'any':
      return true
    case 'address_book':
      return request.destinationInAddressBook
    case 'whitelisted':
      return request.destinationWhitelisted
    case 'not_whitelisted':
      return !request.destinationWhitelisted
    case 'addresses':
      return match.addresses.some((address) => address.toLowerCase() === request.destination)
  }
}

function amountMatches(match: PolicyMatch['amount'], amount: bigint): boolean {
  if (match === undefined) return true
  if (match.min !== undefined && amount < match.min) return false
  return match.max === undefined || amount <= match.max
}

function windowMatches(rule: PolicyRule, request: PolicyRequest): boolean {
  const window = rule.match.window
  if (window === undefined) return true
  const usage = request.windowUsage.get(rule.id) ?? { amount: 0n, count: 0 }
  const overAmount = window.maxAmount !== undefined && usage.amount + request.amountScaled > window.maxAmount
  const overCount = window.maxCount !== undefined && usage.count + 1 > window.maxCount
  return overAmount || overCount
}

function timeMatches(match: PolicyMatch['timeOfDay'], now: Date): boolean {
  if (match === undefined) return true
  const minute = now.getUTCHours() * 60 + now.getUTCMinutes()
  if (match.fromMinute <= match.toMinute) return minute >= match.fromMinute && minute < match.toMinute
  return minute >= match.fromMinute || minute < match.toMinute
}

export function ruleMatches(rule: PolicyRule, request: PolicyRequest): boolean {
  const { match } = rule
  return (
    initiatorMatches(match.initiator, request) &&
    destinationMatches(match.destination, request) &&
    (match.sourceWallets?.includes(request.sourceWallet) ?? true) &&
    (match.networks?.includes(request.network) ?? true) &&
    (match.assets?.includes(request.assetId) ?? true) &&
    amountMatches(match.amount, request.amountScaled) &&
    timeMatches(match.timeOfDay, request.now) &&
    windowMatches(rule, request)
  )
}

/** First matching rule wins; otherwise the explicit default. */
export function evaluatePolicy(policy: Policy, request: PolicyRequest): PolicyDecision {
  for (const rule of policy.rules) {
    if (ruleMatches(rule, request)) return { ruleId: rule.id, action: rule.action }
  }
  return { ruleId: null, action: policy.defaultAction }
}

/** 10^(18 − decimals) × minor: one unit scale for every token (decimals ≤ 18 on our networks). */
export function scaledAmount(minor: bigint, decimals: number): bigint {
  if (decimals >= 18) return minor / 10n ** BigInt(decimals - 18)
  return minor * 10n ** BigInt(18 - decimals)
}

/**
 * Whether an approver may count for `action` on a payout requested by `initiatorId`. The initiator is an
 * API key id, or an approver id when a person requested it in the dashboard: either way the person who
 * asked never approves (separation of duties), whatever key they decide through.
 */
export function approverCounts(
  action: Extract<PolicyAction, { kind: 'require_approval' }>,
  approver: Readonly<{ id: string; roles: readonly PayoutRole[]; apiKeyId: string | null }>,
  initiatorId: string,
  decidingApiKeyId: string,
): boolean {
  if (approver.id === initiatorId || approver.apiKeyId === initiatorId || decidingApiKeyId === initiatorId)
    return false
  return approver.roles.includes(action.role)
}
