/**
 * Style rules a linter cannot express (TigerBeetle's tidy.zig, in our terms). Pure: given a path relative
 * to the repository root and the file's text, return what breaks a rule. scripts/tidy.ts runs it on
 * every source file; scripts/tidy-rules.test.ts shows each rule firing.
 */
export type Violation = { path: string; line: number; rule: string; text: string }

const moneyPaths = [
  /^sdk\/src\/money\.ts$/,
  /^server\/src\/lib\/money\.ts$/,
  /^server\/src\/modules\/(ledger|payments|deposits|invoices|payouts|refunds|sweeps|reconciliation)\//,
]

function isTest(path: string): boolean {
  return /\.(test|int\.test|e2e\.test)\.ts$/.test(path)
}

type LineRule = { rule: string; applies: (path: string) => boolean; pattern: RegExp }

const lineRules: LineRule[] = [
  {
    rule: 'process-env-outside-config',
    applies: (path) => path !== 'server/src/config/env.ts',
    pattern: /\bprocess\.env\b/,
  },
  { rule: 'ts-ignore', applies: () => true, pattern: /@ts-ignore/ },
  { rule: 'ts-expect-error-without-reason', applies: () => true, pattern: /@ts-expect-error\s*$/ },
  { rule: 'fixme', applies: () => true, pattern: /\bFIXME\b/ },
  {
    rule: 'float-in-money-code',
    applies: (path) => !isTest(path) && moneyPaths.some((pattern) => pattern.test(path)),
    pattern: /\bparseFloat\s*\(|\bNumber\s*\(|\bMath\.|\bNumber\.parseFloat\b|\btoFixed\s*\(/,
  },
]

const importPattern = /^\s*(?:import|export)\s[^'"]*from\s+['"]([^'"]+)['"]/

/** Which top-level area of server/src a path or resolved import belongs to. */
function serverArea(path: string): { area: string; module?: string; file: string } | undefined {
  const match = /^server\/src\/([^/]+)\/(?:([^/]+)\/)?/.exec(path)
  if (match === null || match[1] === undefined) return undefined
  const file = path.split('/').pop() ?? ''
  return match[1] === 'modules' && match[2] !== undefined
    ? { area: 'modules', module: match[2], file }
    : { area: match[1], file }
}

function resolveImport(fromPath: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined
  const parts = fromPath.split('/').slice(0, -1)
  for (const segment of specifier.split('/')) {
    if (segment === '..') parts.pop()
    else if (segment !== '.') parts.push(segment)
  }
  return parts.join('/')
}

/** The layer rules of docs/STYLE.md (style anchors §8.1). Returns a reason when the import is forbidden. */
export function forbiddenImport(fromPath: string, specifier: string): string | undefined {
  const from = serverArea(fromPath)
  const target = resolveImport(fromPath, specifier)
  if (from === undefined || target === undefined || isTest(fromPath)) return undefined
  const to = serverArea(target)
  if (to === undefined) return undefined
  if (from.area === 'lib' && to.area !== 'lib') return 'lib/ imports nothing from the project'
  if (['http', 'jobs', 'bot', 'main'].includes(to.area) && !['main', to.area].includes(from.area)) {
    return `nothing but main/ imports ${to.area}/`
  }
  if (from.area === 'modules' && to.area === 'modules' && from.module !== to.module) {
    if (!/\.(service|types)\.ts$/.test(to.file))
      return `modules import another module's *.service.ts or *.types.ts only, not ${to.file}`
  }
  return undefined
}

export function checkFile(path: string, text: string): Violation[] {
  const violations: Violation[] = []
  if (/(^|\/)index\.ts$/.test(path))
    violations.push({ path, line: 1, rule: 'barrel-file', text: 'no index.ts barrel files' })
  text.split('\n').forEach((line, index) => {
    for (const rule of lineRules) {
      if (rule.applies(path) && rule.pattern.test(line))
        violations.push({ path, line: index + 1, rule: rule.rule, text: line.trim() })
    }
    const imported = importPattern.exec(line)?.[1]
    const reason = imported === undefined ? undefined : forbiddenImport(path, imported)
    if (reason !== undefined)
      violations.push({ path, line: index + 1, rule: 'layer-import', text: `${line.trim()} (${reason})` })
  })
  return violations
}
