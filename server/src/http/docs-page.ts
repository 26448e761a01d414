import type { JsonSchema, OpenApiDocument } from './openapi.ts'

/**
 * GET /docs: the OpenAPI document rendered as one self-contained HTML page. No scripts, fonts or styles
 * from anywhere else (a payment gateway's operator pages must not call third-party hosts), and the route
 * sends a Content-Security-Policy that forbids them, so a later edit cannot add one by accident.
 */

export const docsContentSecurityPolicy =
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`)

/** `code` spans for backticked words, everything else escaped. */
const prose = (text: string) =>
  escapeHtml(text).replace(/`([^`]+)`/g, (_match, code: string) => `<code>${code}</code>`)

const anchor = (kind: string, name: string) => `${kind}-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`

const schemaName = (ref: string) => ref.slice(ref.lastIndexOf('/') + 1)

/** A one-line type: `string`, `ApiKey` (linked), `array of Scope`, `"a" | "b"`, `string | null`. */
function typeLabel(schema: JsonSchema): string {
  if (typeof schema.$ref === 'string') {
    const name = schemaName(schema.$ref)
    return `<a href="#${anchor('schema', name)}">${escapeHtml(name)}</a>`
  }
  if (Array.isArray(schema.enum))
    return schema.enum.map((value) => `<code>${escapeHtml(JSON.stringify(value))}</code>`).join(' | ')
  const variants = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined
  if (variants !== undefined) return variants.map(typeLabel).join(' | ')
  if (Array.isArray(schema.allOf)) return (schema.allOf as JsonSchema[]).map(typeLabel).join(' &amp; ')
  if (schema.type === 'array') return `array of ${typeLabel((schema.items ?? {}) as JsonSchema)}`
  if (Array.isArray(schema.type)) return schema.type.map((type) => escapeHtml(String(type))).join(' | ')
  if (typeof schema.type === 'string')
    return escapeHtml(schema.format === undefined ? schema.type : `${schema.type} (${String(schema.format)})`)
  return 'any'
}

const constraintKeywords = [
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'minItems',
  'maxItems',
  'pattern',
  'default',
]

function constraints(schema: JsonSchema): string {
  const items = constraintKeywords
    .filter((keyword) => schema[keyword] !== undefined)
    .map((keyword) => `${keyword}: <code>${escapeHtml(JSON.stringify(schema[keyword]))}</code>`)
  return items.length === 0 ? '' : `<div class="constraints">${items.join(', ')}</div>`
}

/** An object as a table of its fields; anything else as its type line. */
function renderSchema(schema: JsonSchema): string {
  const properties = schema.properties as Record<string, JsonSchema> | undefined
  if (properties === undefined)
    return `<p>${typeLabel(schema)}</p>${constraints(schema)}${schema.description === undefined ? '' : `<p>${prose(String(schema.description))}</p>`}`
  const required = new Set((schema.required ?? []) as string[])
  const rows = Object.entries(properties).map(
    ([name, property]) =>
      `<tr><td><code>${escapeHtml(name)}</code>${required.has(name) ? '' : ' <span class="optional">optional</span>'}</td>` +
      `<td>${typeLabel(property)}${constraints(property)}</td>` +
      `<td>${property.description === undefined ? '' : prose(String(property.description))}</td></tr>`,
  )
  const closed =
    schema.additionalProperties === false ? '<p class="note">No other fields are accepted.</p>' : ''
  return `<table><thead><tr><th>Field</th><th>Type</th><th>Description</th></tr></thead><tbody>${rows.join('')}</tbody></table>${closed}`
}

function renderParameters(parameters: JsonSchema[]): string {
  if (parameters.length === 0) return ''
  const rows = parameters.map(
    (parameter) =>
      `<tr><td><code>${escapeHtml(String(parameter.name))}</code>${parameter.required === true ? '' : ' <span class="optional">optional</span>'}</td>` +
      `<td>${escapeHtml(String(parameter.in))}</td><td>${typeLabel(parameter.schema as JsonSchema)}${constraints(parameter.schema as JsonSchema)}</td>` +
      `<td>${parameter.description === undefined ? '' : prose(String(parameter.description))}</td></tr>`,
  )
  return `<h4>Parameters</h4><table><thead><tr><th>Name</th><th>In</th><th>Type</th><th>Description</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
}

type ErrorRow = { status: string; code: string; description: string }

function errorRows(responses: Record<string, JsonSchema>): ErrorRow[] {
  return Object.entries(responses).flatMap(([status, response]) =>
    ((response['x-sluice-errors'] ?? []) as { code: string; description: string }[]).map((error) => ({
      status,
      ...error,
    })),
  )
}

function scopeText(scope: unknown): string {
  if (scope === null) return 'any valid API key of the store'
  if (scope === 'admin') return 'an <strong>admin key</strong> (one holding every scope)'
  return `scope <code>${escapeHtml(String(scope))}</code>`
}

function idempotencyText(mode: unknown): string {
  if (mode === 'required')
    return '<strong>Money-moving:</strong> the <code>Idempotency-Key</code> header is required.'
  if (mode === 'optional') return 'An <code>Idempotency-Key</code> header is honoured when sent.'
  return ''
}

function renderOperation(method: string, path: string, operation: JsonSchema): string {
  const id = String(operation.operationId)
  const responses = operation.responses as Record<string, JsonSchema>
  const success = Object.entries(responses).find(([status]) => status.startsWith('2'))
  const successSchema = (success?.[1].content as Record<string, { schema: JsonSchema }> | undefined)?.[
    'application/json'
  ]?.schema
  const body = (operation.requestBody as { content: Record<string, { schema: JsonSchema }> } | undefined)
    ?.content['application/json']?.schema
  const errors = errorRows(responses)
    .map(
      (row) =>
        `<tr><td>${escapeHtml(row.status)}</td><td><code>${escapeHtml(row.code)}</code></td><td>${prose(row.description)}</td></tr>`,
    )
    .join('')
  return `<section class="operation" id="${anchor('op', id)}">
<h3><span class="method method-${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(path)}</code></h3>
<p class="summary">${prose(String(operation.summary))} <span class="op-id">${escapeHtml(id)}</span></p>
<p>${prose(String(operation.description ?? ''))}</p>
<p>Needs ${scopeText(operation['x-sluice-scope'])}. ${idempotencyText(operation['x-sluice-idempotency'])}</p>
${renderParameters((operation.parameters ?? []) as JsonSchema[])}
${body === undefined ? '' : `<h4>Request body</h4>${renderSchema(body)}`}
${success === undefined || successSchema === undefined ? '' : `<h4>Response ${escapeHtml(success[0])}</h4>${renderSchema(successSchema)}`}
<h4>Errors</h4><table><thead><tr><th>Status</th><th>Code</th><th>When</th></tr></thead><tbody>${errors}</tbody></table>
</section>`
}

type OperationEntry = { method: string; path: string; operation: JsonSchema }

function operationsOf(document: OpenApiDocument): OperationEntry[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ method, path, operation })),
  )
}

function renderNavigation(document: OpenApiDocument, operations: OperationEntry[]): string {
  const groups = document.tags.map((tag) => {
    const links = operations
      .filter(({ operation }) => (operation.tags as string[]).includes(tag.name))
      .map(
        ({ method, path, operation }) =>
          `<li><a href="#${anchor('op', String(operation.operationId))}"><span class="method method-${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</span> ${escapeHtml(path)}</a></li>`,
      )
    return `<h2>${escapeHtml(tag.name)}</h2><ul>${links.join('')}</ul>`
  })
  const schemas = Object.keys(document.components.schemas).map(
    (name) => `<li><a href="#${anchor('schema', name)}">${escapeHtml(name)}</a></li>`,
  )
  return `<nav><h1>${escapeHtml(document.info.title)}</h1><p><a href="#overview">Overview</a> · <a href="/openapi.json">openapi.json</a></p>${groups.join('')}<h2>Schemas</h2><ul>${schemas.join('')}</ul></nav>`
}

const overview = `<section id="overview"><h2>Overview</h2>
<p><strong>Authentication.</strong> Send an API key as <code>Authorization: Bearer sk_…</code>. Each operation names the scope it needs; an <em>admin key</em> holds every scope.</p>
<p><strong>Amounts</strong> are decimal strings such as <code>"12.5"</code>, never JSON numbers. <strong>Timestamps</strong> are RFC 3339 UTC.</p>
<p><strong>Errors</strong> have the body <code>{"code", "message", "errors"?}</code>. Branch on <code>code</code>; <code>validation-failed</code> (422) lists each offending input as <code>{"path": "body.amount", "message"}</code>. Every response carries <code>X-Request-Id</code>.</p>
<p><strong>Idempotency.</strong> Money-moving operations require an <code>Idempotency-Key</code> header (1-255 characters of <code>[A-Za-z0-9_-:.]</code>). A repeat with the same key and body returns the stored response with <code>Idempotent-Replayed: true</code>; the same key with another body is <code>idempotency-key-reused</code> (422); while the first request runs, a repeat gets <code>idempotency-key-in-progress</code> (409): retry. 4xx answers are replayed too; after a 5xx the key is free to retry. Keys are kept 24 hours.</p>
<p><strong>Rate limits</strong> apply per API key: <code>rate-limited</code> (429) with <code>Retry-After</code> seconds.</p>
<p><strong>Lists</strong> are newest first: pass <code>limit</code> and, for the next page, <code>starting_after</code> = the last id you received, while <code>has_more</code> is true.</p>
<p><strong>Compatibility.</strong> Responses may gain fields; ignore the ones you do not know.</p></section>`

const styles = `body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;display:flex}
nav{width:260px;flex:none;height:100vh;position:sticky;top:0;overflow:auto;background:#f3f5f8;padding:16px;box-sizing:border-box;border-right:1px solid #dde2ea}
nav h1{font-size:20px;margin:0 0 8px}nav h2{font-size:13px;text-transform:uppercase;color:#5b6475;margin:16px 0 4px}
nav ul{list-style:none;padding:0;margin:0}nav li{margin:2px 0;font-size:13px}a{color:#1f5fbf;text-decoration:none}
main{flex:1;max-width:1000px;padding:24px 40px}section{border-bottom:1px solid #e4e8ee;padding:12px 0 20px}
code{font:13px ui-monospace,Menlo,Consolas,monospace;background:#f0f2f5;padding:1px 4px;border-radius:3px}
table{border-collapse:collapse;width:100%;margin:6px 0;font-size:14px}th,td{text-align:left;vertical-align:top;border-bottom:1px solid #e4e8ee;padding:5px 8px}
th{background:#f7f8fa;font-weight:600}.method{display:inline-block;min-width:52px;text-align:center;font:600 11px ui-monospace,monospace;border-radius:3px;padding:2px 4px;color:#fff;background:#5b6475}
.method-get{background:#2b7a4b}.method-post{background:#1f5fbf}.method-delete{background:#b3362f}.method-patch{background:#a86a00}
.optional{color:#7a8293;font-size:12px}.constraints{color:#5b6475;font-size:12px}.note{color:#5b6475;font-size:13px}.op-id{color:#7a8293;font:12px ui-monospace,monospace;margin-left:8px}.summary{font-weight:600}`

export function renderDocsPage(document: OpenApiDocument): string {
  const operations = operationsOf(document)
  const sections = operations.map(({ method, path, operation }) => renderOperation(method, path, operation))
  const schemas = Object.entries(document.components.schemas).map(
    ([name, schema]) =>
      `<section id="${anchor('schema', name)}"><h3>${escapeHtml(name)}</h3>${schema.description === undefined ? '' : `<p>${prose(String(schema.description))}</p>`}${renderSchema({ ...schema, description: undefined })}</section>`,
  )
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(document.info.title)} v${escapeHtml(document.info.version)}</title><style>${styles}</style></head>
<body>${renderNavigation(document, operations)}<main>${overview}<h2>Operations</h2>${sections.join('\n')}<h2>Schemas</h2>${schemas.join('\n')}</main></body></html>`
}
