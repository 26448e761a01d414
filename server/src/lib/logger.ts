import { type Logger, pino } from 'pino'

export type { Logger }

/**
 * Field names whose values are secrets wherever they appear in a logged object. Redaction is by key,
 * so a secret must never be logged under an innocent name: code passes secrets in typed fields only.
 */
export const secretFieldNames = [
  'seed',
  'mnemonic',
  'privateKey',
  'secret',
  'password',
  'apiKey',
  'masterKey',
  'token',
  'totp',
] as const

const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  // PostgreSQL's detail on a failed write quotes the whole row ("Failing row contains (…)"): a buyer's
  // metadata, a stored response. The error's code, table and constraint still say what went wrong.
  'err.detail',
  'err.where',
  'err.internalQuery',
  ...secretFieldNames.flatMap((name) => [name, `*.${name}`, `*.*.${name}`]),
]

/** JSON logs with secrets redacted. `destination` lets tests capture every line the suite logs. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, redact: { paths: redactPaths, censor: '[redacted]' }, base: { service: 'sluice' } }
  return destination === undefined ? pino(options) : pino(options, destination)
}

/**
 * RPC URLs often carry an API key in their path or query (…/v3/<key>). Shown anywhere, only the
 * scheme and host remain.
 */
export function describeUrlWithoutSecrets(url: string): string {
  try {
    const parsed = new URL(url)
    const hidden = parsed.pathname.length > 1 || parsed.search !== '' || parsed.username !== ''
    return `${parsed.protocol}//${parsed.host}${hidden ? '/…' : ''}`
  } catch {
    return '(unparseable url)'
  }
}
