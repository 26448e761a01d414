/**
 * Address encoding families. Matching is by format, never by the list's ticker: an EVM address is the
 * same key on every EVM network, and the SDN files mislabel some entries (a Tron address under XBT).
 */
export const addressFormats = ['evm', 'tron', 'bitcoin', 'other'] as const
export type AddressFormat = (typeof addressFormats)[number]

export type FormatCounts = Record<AddressFormat, number>

/** One list line or JSON item that could not be turned into an address; `line` is 1-based. */
export type InvalidEntry = Readonly<{ line: number; text: string; reason: string }>

/** A parsed list file: distinct normalised addresses, plus what was rejected. */
export type ParsedList = Readonly<{
  entries: ReadonlyMap<string, AddressFormat>
  /** The first few rejected items, quoted; all of them are counted in `invalidCount`. */
  invalidSamples: readonly InvalidEntry[]
  invalidCount: number
  /** Blank and `#` comment lines: expected noise, not errors. */
  ignoredCount: number
}>

/** A list file on disk and the list (source) it is a version of. */
export type ListFile = Readonly<{ path: string; source: string; ticker: string | null; kind: 'txt' | 'json' }>

export type ListImportOutcome =
  | Readonly<{
      status: 'imported'
      listVersion: number
      previousVersion: number | null
      added: number
      removed: number
    }>
  | Readonly<{ status: 'unchanged'; listVersion: number }>
  | Readonly<{ status: 'failed'; code: string; message: string }>

/** What one file of an import did: the outcome plus the parse counts (zero when the file was unreadable). */
export type ListImportReport = Readonly<{
  file: ListFile
  outcome: ListImportOutcome
  entryCount: number
  counts: FormatCounts
  invalidCount: number
  invalidSamples: readonly InvalidEntry[]
}>

/**
 * A file found but not imported: the `.json` twin of a `.txt` list in the same directory, or a list that
 * a later path of the same import supersedes. `insteadOf` is the file imported for that list.
 */
export type SkippedFile = Readonly<{ path: string; reason: 'json-twin' | 'superseded'; insteadOf: string }>

export type ImportBatchReport = Readonly<{
  batchId: number
  startedAt: Date
  lists: readonly ListImportReport[]
  skipped: readonly SkippedFile[]
}>

export type SanctionMatch = Readonly<{ source: string; ticker: string | null; listVersion: number }>

export type ScreeningResult = Readonly<{
  /** The input as looked up: trimmed, EVM and bech32 lower-cased. */
  address: string
  /** `null` when the input is no recognisable address; it is still looked up verbatim. */
  format: AddressFormat | null
  hit: boolean
  matches: readonly SanctionMatch[]
  /** Every list version this result was screened against, to record with the decision it supports. */
  screenedAgainst: readonly number[]
}>

/** The list version each source is screened against right now. */
export type ActiveList = Readonly<{
  source: string
  ticker: string | null
  listVersion: number
  filePath: string
  entryCount: number
  contentHash: string
  importedAt: Date
  batchId: number
}>
