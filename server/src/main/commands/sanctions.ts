import type { Pool } from '../../db/pool.ts'
import { isAppError } from '../../lib/errors.ts'
import { defaultSanctionsPaths } from '../../modules/sanctions/sanction.files.ts'
import {
  importSanctionLists,
  listActiveSanctionLists,
  screenAddresses,
} from '../../modules/sanctions/sanction.service.ts'
import type {
  ImportBatchReport,
  ListImportReport,
  ScreeningResult,
} from '../../modules/sanctions/sanction.types.ts'

export type SanctionsCommandContext = Readonly<{ pool: Pool; write: (text: string) => void }>

const usage = `usage:
  sluice sanctions import [path …]   load OFAC address lists (files or directories); default: the shipped lists
  sluice sanctions check <address …> screen addresses against the active lists (exit 1 if any is listed)
  sluice sanctions status            show the active version of every list`

function describeList(report: ListImportReport): string {
  const { outcome } = report
  const name = `${report.file.source}${report.file.ticker === null ? '' : ` [${report.file.ticker}]`}`
  const formats = Object.entries(report.counts)
    .filter(([, count]) => count > 0)
    .map(([format, count]) => `${format} ${count}`)
    .join(', ')
  const parsed = `${report.entryCount} addresses (${formats}), ${report.invalidCount} invalid lines`
  switch (outcome.status) {
    case 'imported': {
      const from = outcome.previousVersion === null ? 'first version' : `replaces v${outcome.previousVersion}`
      return `${name}: imported v${outcome.listVersion} (${from}, +${outcome.added} −${outcome.removed}); ${parsed}`
    }
    case 'unchanged':
      return `${name}: unchanged, same content as active v${outcome.listVersion}; ${parsed}`
    case 'failed':
      return `${name}: FAILED ${outcome.code}: ${outcome.message}`
  }
}

function writeImportReport(report: ImportBatchReport, write: (text: string) => void): void {
  write(`sanctions import batch ${report.batchId} at ${report.startedAt.toISOString()}\n`)
  for (const list of report.lists) {
    write(`  ${describeList(list)}\n    from ${list.file.path}\n`)
    for (const sample of list.invalidSamples)
      write(`    line ${sample.line}: ${JSON.stringify(sample.text)} (${sample.reason})\n`)
    if (list.invalidCount > list.invalidSamples.length) {
      write(`    … and ${list.invalidCount - list.invalidSamples.length} more invalid lines\n`)
    }
  }
  const twins = report.skipped.filter((skipped) => skipped.reason === 'json-twin')
  if (twins.length > 0) write(`  skipped ${twins.length} .json files: same lists as their .txt twins\n`)
  for (const skipped of report.skipped.filter((file) => file.reason === 'superseded')) {
    write(`  skipped ${skipped.path}: superseded by ${skipped.insteadOf}, given later\n`)
  }
  const count = (status: string) => report.lists.filter((list) => list.outcome.status === status).length
  const invalid = report.lists.reduce((sum, list) => sum + list.invalidCount, 0)
  write(
    `summary: ${count('imported')} imported, ${count('unchanged')} unchanged, ${count('failed')} failed, ` +
      `${report.skipped.length} skipped; ${invalid} invalid lines\n`,
  )
}

function writeScreening(result: ScreeningResult, write: (text: string) => void): void {
  const format = result.format ?? 'unrecognised format'
  if (!result.hit) {
    write(
      `${result.address} (${format}): not listed (screened against ${result.screenedAgainst.length} lists)\n`,
    )
    return
  }
  write(`${result.address} (${format}): LISTED\n`)
  for (const match of result.matches) {
    write(
      `  ${match.source}${match.ticker === null ? '' : ` [${match.ticker}]`} list version ${match.listVersion}\n`,
    )
  }
}

async function runSubcommand(
  command: string | undefined,
  rest: readonly string[],
  context: SanctionsCommandContext,
): Promise<number> {
  const { pool, write } = context
  if (command === 'import') {
    const report = await importSanctionLists(pool, rest.length > 0 ? rest : defaultSanctionsPaths())
    writeImportReport(report, write)
    return report.lists.some((list) => list.outcome.status === 'failed') ? 1 : 0
  }
  if (command === 'check' && rest.length > 0) {
    const results = await screenAddresses(pool, rest)
    for (const result of results) writeScreening(result, write)
    return results.some((result) => result.hit) ? 1 : 0
  }
  if (command === 'status' && rest.length === 0) {
    const lists = await listActiveSanctionLists(pool)
    if (lists.length === 0) write('no sanctions list imported: run `sluice sanctions import`\n')
    for (const list of lists) {
      write(
        `${list.source.padEnd(28)} v${list.listVersion} ${String(list.entryCount).padStart(6)} addresses, ` +
          `imported ${list.importedAt.toISOString()} (batch ${list.batchId}) from ${list.filePath}\n`,
      )
    }
    return 0
  }
  write(`${usage}\n`)
  return 2
}

/**
 * `sluice sanctions …` (args after `sanctions`). Exit codes: 0 ok / nothing listed, 1 a list failed to
 * import or an address is listed, 2 usage. Operating errors (missing path, no lists yet) print one line.
 */
export async function runSanctionsCommand(
  args: readonly string[],
  context: SanctionsCommandContext,
): Promise<number> {
  const [command, ...rest] = args
  try {
    return await runSubcommand(command, rest, context)
  } catch (error) {
    if (!isAppError(error)) throw error
    context.write(`sanctions: ${error.message}\n`)
    return 1
  }
}
