import type { Queryable } from '../../db/pool.ts'
import { joinSqlParts, type SqlPart } from '../../db/statement.ts'
import { assert } from '../../lib/assert.ts'
import type { DepositAddress, DepositOwnerKind, Payment, PaymentStatus } from './payment.types.ts'

type DepositAddressRow = {
  address: string
  merchant_id: string
  owner_kind: DepositOwnerKind
  owner_id: string
  hd_account: number
  hd_index: number
  created_at: Date
}

type PaymentRow = {
  id: string
  network: string
  tx_hash: string
  log_index: number
  block_number: string
  block_hash: string
  token_address: string
  asset_id: string | null
  from_address: string
  to_address: string
  amount: string
  status: PaymentStatus
  final: boolean
  merchant_id: string
  owner_kind: DepositOwnerKind
  owner_id: string
  ledger_transfer_id: string | null
  detected_at: Date
  confirmed_at: Date | null
  finalized_at: Date | null
}

const toDepositAddress = (row: DepositAddressRow): DepositAddress => ({
  address: row.address,
  merchantId: row.merchant_id,
  ownerKind: row.owner_kind,
  ownerId: row.owner_id,
  hdAccount: row.hd_account,
  hdIndex: row.hd_index,
  createdAt: row.created_at,
})

export const toPayment = (row: PaymentRow): Payment => ({
  id: row.id,
  network: row.network,
  txHash: row.tx_hash,
  logIndex: row.log_index,
  blockNumber: BigInt(row.block_number),
  blockHash: row.block_hash,
  tokenAddress: row.token_address,
  assetId: row.asset_id,
  fromAddress: row.from_address,
  toAddress: row.to_address,
  amount: BigInt(row.amount),
  status: row.status,
  final: row.final,
  merchantId: row.merchant_id,
  ownerKind: row.owner_kind,
  ownerId: row.owner_id,
  ledgerTransferId: row.ledger_transfer_id,
  detectedAt: row.detected_at,
  confirmedAt: row.confirmed_at,
  finalizedAt: row.finalized_at,
})

export async function selectDepositAddressByOwner(
  db: Queryable,
  merchantId: string,
  ownerKind: DepositOwnerKind,
  ownerId: string,
): Promise<DepositAddress | undefined> {
  const result = await db.query<DepositAddressRow>(
    'select * from deposit_addresses where merchant_id = $1 and owner_kind = $2 and owner_id = $3',
    [merchantId, ownerKind, ownerId],
  )
  return result.rows[0] === undefined ? undefined : toDepositAddress(result.rows[0])
}

/** Addresses added after `afterSequence`, oldest first: the watcher loads its set incrementally. */
export async function selectAddressesAfter(db: Queryable, afterSequence: bigint, limit: number) {
  const result = await db.query<{ address: string; sequence: string }>(
    'select address, sequence from deposit_addresses where sequence > $1 order by sequence limit $2',
    [afterSequence.toString(), limit],
  )
  return result.rows.map((row) => ({ address: row.address, sequence: BigInt(row.sequence) }))
}

/**
 * The same, packed for large watch sets: the addresses with a sequence in (after, through] (sequences are
 * unique, so at most through − after of them), as one row holding each address's first 8 bytes
 * (big-endian, in no particular order: they fill a set), the highest sequence among them and their
 * count. A million addresses arrive as 16 MB of hex digits instead of a million row objects and strings.
 * No `order by`: the set does not care, and sorting a 100,000-row page spilled to disk (a third of the
 * page's time, and the first load is most of a catch-up's first tick). The digits travel as text and are
 * decoded here: as bytea, PostgreSQL decoded every address's hex and then encoded the page back to hex
 * for the wire, ~10–20 % of the page's time.
 */
export async function selectAddressPrefixesBetween(
  db: Queryable,
  range: { after: bigint; through: bigint },
): Promise<{ count: number; lastSequence: bigint | undefined; prefixes: Buffer }> {
  const result = await db.query<{
    count: number
    last_sequence: string | null
    prefix_digits: string | null
  }>(
    `select count(*)::int as count, max(sequence) as last_sequence,
       string_agg(substr(address, 3, 16), '') as prefix_digits
     from deposit_addresses where sequence > $1 and sequence <= $2`,
    [range.after.toString(), range.through.toString()],
  )
  const row = result.rows[0]
  const count = row?.count ?? 0
  const prefixes = Buffer.from(row?.prefix_digits ?? '', 'hex')
  // The column's check makes every address hex; a decode that stopped early would shift every prefix.
  assert(prefixes.length === count * 8, `address page decoded to ${prefixes.length} bytes for ${count}`)
  return {
    count,
    lastSequence: row?.last_sequence === null || row === undefined ? undefined : BigInt(row.last_sequence),
    prefixes,
  }
}

/** The highest address sequence (0 when there is none): sizes the watcher's address set in one step. */
export async function selectLastAddressSequence(db: Queryable): Promise<bigint> {
  const result = await db.query<{ last: string | null }>(
    'select max(sequence) as last from deposit_addresses',
  )
  return BigInt(result.rows[0]?.last ?? '0')
}

export type PaymentInsert = Omit<
  Payment,
  'final' | 'ledgerTransferId' | 'detectedAt' | 'confirmedAt' | 'finalizedAt'
> & {
  screening: unknown
}

/**
 * The oldest open payments of a network, locked for the caller's transaction. Rows another transaction
 * holds are skipped, not waited for (a range's write beside the crediting: the watcher's recordRange).
 */
export async function selectOpenPayments(db: Queryable, network: string, limit: number): Promise<Payment[]> {
  const result = await db.query<PaymentRow>(
    `select * from payments where network = $1 and not final and status in ('detected', 'confirmed', 'held')
     order by block_number, log_index limit $2
     for no key update skip locked`,
    [network, limit],
  )
  return result.rows.map(toPayment)
}

export async function updatePaymentProgress(
  db: Queryable,
  id: string,
  change: { status: PaymentStatus; final: boolean; ledgerTransferId?: string },
): Promise<void> {
  await db.query(
    `update payments set status = $2, final = $3, ledger_transfer_id = coalesce($4, ledger_transfer_id), updated_at = now(),
       confirmed_at = case when $2 = 'confirmed' then now() else confirmed_at end,
       finalized_at = case when $3 and not final then now() else finalized_at end
     where id = $1`,
    [id, change.status, change.final, change.ledgerTransferId ?? null],
  )
}

/** Marks every non-final payment at or above `fromBlock` orphaned; returns them (for events). */
export async function orphanPaymentsFrom(
  db: Queryable,
  network: string,
  fromBlock: bigint,
): Promise<Payment[]> {
  const result = await db.query<PaymentRow>(
    `update payments set status = 'orphaned', updated_at = now()
     where network = $1 and block_number >= $2 and not final and status <> 'orphaned'
     returning *`,
    [network, fromBlock.toString()],
  )
  return result.rows.map(toPayment)
}

export async function selectPaymentsByOwner(
  db: Queryable,
  filter: { merchantId: string; ownerKind: DepositOwnerKind; ownerId: string },
  page: { limit: number; beforeDetectedAt?: Date; statuses?: readonly PaymentStatus[] },
): Promise<Payment[]> {
  const result = await db.query<PaymentRow>(
    `select * from payments where merchant_id = $1 and owner_kind = $2 and owner_id = $3
       and ($4::timestamptz is null or detected_at < $4) and ($6::text[] is null or status = any($6))
     order by detected_at desc limit $5`,
    [
      filter.merchantId,
      filter.ownerKind,
      filter.ownerId,
      page.beforeDetectedAt ?? null,
      page.limit,
      page.statuses ?? null,
    ],
  )
  return result.rows.map(toPayment)
}

export async function selectPayment(db: Queryable, id: string): Promise<Payment | undefined> {
  const result = await db.query<PaymentRow>('select * from payments where id = $1', [id])
  return result.rows[0] === undefined ? undefined : toPayment(result.rows[0])
}

/** A transfer to store; its owner is the deposit address's, joined in by the insert. */
export type ObservedPaymentInsert = Omit<PaymentInsert, 'merchantId' | 'ownerKind' | 'ownerId'> & {
  /** The event recording it emits, with the id it gets; null for none (dust, unsupported). */
  event: Readonly<{ id: string; type: string }> | null
}

/**
 * upsertObservedPayment for a whole range in one statement (same revival rule for orphaned rows). Only
 * transfers to deposit addresses are stored, with their address's owner: the insert joins
 * `deposit_addresses`, so the owners need no query of their own (one round trip and a 2,000-element
 * array less per catch-up range). The rows travel as one delimited text per column (observedColumns)
 * and only the columns the database decides come back: a catch-up range writes thousands of rows, and
 * per-element array encoding and full-row parsing cost more than the insert. The other fields of a stored row are the
 * input's (same natural key: the same transfer).
 *
 * Each stored row's event is written by the same statement: its payload is built here from the stored
 * row (the shape of paymentEventPayload, payment-recording.service.ts; a test holds the two equal), and
 * `events` — the events module's part (event.service.ts eventsFromSource) — writes it from the CTE
 * `payment_events`. Built in Node, the payloads and their separate statement were a third of a
 * catch-up range's write (docs/adr/0011).
 */
export async function upsertObservedPayments(
  db: Queryable,
  payments: readonly ObservedPaymentInsert[],
  chainId: number,
  events: (source: string) => SqlPart,
): Promise<Payment[]> {
  if (payments.length === 0) return []
  const columns = observedColumns(payments)
  const stored: SqlPart = {
    text: `with observed as (
       select p.id, p.network, p.tx_hash, p.log_index, p.block_number, p.block_hash, p.token_address,
         nullif(p.asset_id, '') as asset_id, p.from_address, p.to_address, p.amount, p.status,
         $2::jsonb -> p.screening_index as screening, nullif(p.event_id, '') as event_id,
         nullif(p.event_type, '') as event_type
       from unnest(string_to_array($3, ','), string_to_array($4, ','), string_to_array($5, ','),
         string_to_array($6, ',')::integer[], string_to_array($7, ',')::bigint[], string_to_array($8, ','),
         string_to_array($9, ','), string_to_array($10, ','), string_to_array($11, ','),
         string_to_array($12, ','), string_to_array($13, ',')::numeric[], string_to_array($14, ','),
         string_to_array($15, ',')::integer[], string_to_array($16, ','), string_to_array($17, ','))
         as p(id, network, tx_hash, log_index, block_number, block_hash, token_address, asset_id,
           from_address, to_address, amount, status, screening_index, event_id, event_type)
     ), stored as (
       insert into payments (id, network, tx_hash, log_index, block_number, block_hash, token_address, asset_id,
         from_address, to_address, amount, status, merchant_id, owner_kind, owner_id, screening)
       select p.id, p.network, p.tx_hash, p.log_index, p.block_number, p.block_hash, p.token_address,
         p.asset_id, p.from_address, p.to_address, p.amount, p.status, d.merchant_id, d.owner_kind,
         d.owner_id, p.screening
       from observed p, deposit_addresses d
       where d.address = p.to_address
       -- A payment orphaned by a reorg and included again keeps its first detected_at: it was seen then
       -- (an invoice judges "late" by it).
       on conflict (network, tx_hash, log_index) do update
         set block_number = excluded.block_number, block_hash = excluded.block_hash, status = excluded.status,
             screening = excluded.screening, confirmed_at = null, updated_at = now()
         where payments.status = 'orphaned'
       returning *
     ), payment_events as (
       select o.event_id as id, o.event_type as type, s.merchant_id, s.id as subject_id,
         jsonb_build_object('payment_id', s.id, 'network', s.network, 'chain_id', $1::integer,
           'asset', s.asset_id, 'amount', s.amount::text, 'tx_hash', s.tx_hash, 'log_index', s.log_index,
           'block_number', s.block_number::text, 'from', s.from_address, 'to', s.to_address,
           'status', s.status, 'owner', jsonb_build_object('kind', s.owner_kind, 'id', s.owner_id)) as payload
       from stored s
       join observed o on o.network = s.network and o.tx_hash = s.tx_hash and o.log_index = s.log_index
       where o.event_id is not null
     ),`,
    values: [chainId, JSON.stringify(columns.screenings), ...columns.delimited],
  }
  const tail: SqlPart = {
    text: `select id, network, tx_hash, log_index, asset_id, status, final, ledger_transfer_id, detected_at,
       confirmed_at, finalized_at, merchant_id, owner_kind, owner_id from stored`,
    values: [],
  }
  const result = await db.query<StoredPaymentColumns>(
    joinSqlParts([stored, events('payment_events'), tail], '\n'),
  )
  const byKey = new Map(payments.map((p) => [`${p.network}:${p.txHash}:${p.logIndex}`, p]))
  return result.rows.map((row) => {
    const input = byKey.get(`${row.network}:${row.tx_hash}:${row.log_index}`) as ObservedPaymentInsert
    return {
      id: row.id,
      network: input.network,
      txHash: input.txHash,
      logIndex: input.logIndex,
      blockNumber: input.blockNumber,
      blockHash: input.blockHash,
      tokenAddress: input.tokenAddress,
      assetId: row.asset_id,
      fromAddress: input.fromAddress,
      toAddress: input.toAddress,
      amount: input.amount,
      status: row.status,
      final: row.final,
      merchantId: row.merchant_id,
      ownerKind: row.owner_kind,
      ownerId: row.owner_id,
      ledgerTransferId: row.ledger_transfer_id,
      detectedAt: row.detected_at,
      confirmedAt: row.confirmed_at,
      finalizedAt: row.finalized_at,
    }
  })
}

/**
 * The observed rows as one comma-separated text per column, split again by `string_to_array`: PostgreSQL
 * splits them ~3× faster than it parses the same rows as JSON (`json_to_recordset`: ~20 of ~100 ms of a
 * 2,000-payment catch-up range), and joining strings costs Node less than building and serialising an
 * object per row. Every value is an id, a hex string, a number, a status or `symbol@network` (config
 * forbids commas in both), so none holds a comma; one that did would shift its column against the
 * others, so it is refused (delimitedColumn). Screening results repeat per sender: each distinct object
 * travels once, in a JSON array, and rows carry its index. Null is the empty string (nullif in SQL).
 */
function observedColumns(payments: readonly ObservedPaymentInsert[]): {
  screenings: unknown[]
  delimited: string[]
} {
  const screenings: unknown[] = []
  const screeningIndex = new Map<unknown, number>()
  const screeningOf = (screening: unknown): string => {
    let index = screeningIndex.get(screening)
    if (index === undefined) {
      index = screenings.push(screening) - 1
      screeningIndex.set(screening, index)
    }
    return String(index)
  }
  const column = (valueIn: (payment: ObservedPaymentInsert) => string) =>
    delimitedColumn(payments.map(valueIn))
  // In the order of the statement's unnest. A column of one empty value splits to an empty array, which
  // unnest pads with null: only the nullable columns (asset, event id and type) can be empty.
  const delimited = [
    column((p) => p.id),
    column((p) => p.network),
    column((p) => p.txHash),
    column((p) => String(p.logIndex)),
    column((p) => p.blockNumber.toString()),
    column((p) => p.blockHash),
    column((p) => p.tokenAddress),
    column((p) => p.assetId ?? ''),
    column((p) => p.fromAddress),
    column((p) => p.toAddress),
    column((p) => p.amount.toString()),
    column((p) => p.status),
    column((p) => screeningOf(p.screening)),
    column((p) => p.event?.id ?? ''),
    column((p) => p.event?.type ?? ''),
  ]
  return { screenings, delimited }
}

/** Values joined by commas for `string_to_array(…, ',')`; a value holding a comma is refused. */
export function delimitedColumn(values: readonly string[]): string {
  const joined = values.join(',')
  // Each value adds exactly one comma after it but the last: any extra comma came from inside a value.
  let commas = 0
  for (let at = joined.indexOf(','); at !== -1; at = joined.indexOf(',', at + 1)) commas += 1
  assert(commas === (values.length === 0 ? 0 : values.length - 1), 'a delimited column value holds a comma')
  return joined
}

type StoredPaymentColumns = Pick<
  PaymentRow,
  | 'id'
  | 'network'
  | 'tx_hash'
  | 'log_index'
  | 'asset_id'
  | 'status'
  | 'final'
  | 'ledger_transfer_id'
  | 'detected_at'
  | 'confirmed_at'
  | 'finalized_at'
  | 'merchant_id'
  | 'owner_kind'
  | 'owner_id'
>

/** Applies many status changes in one statement. */
export async function updatePaymentsProgress(
  db: Queryable,
  changes: readonly { id: string; status: PaymentStatus; final: boolean; ledgerTransferId: string | null }[],
): Promise<void> {
  if (changes.length === 0) return
  await db.query(
    `update payments p set status = c.status, final = c.final, ledger_transfer_id = coalesce(c.ledger_transfer_id, p.ledger_transfer_id),
       updated_at = now(),
       confirmed_at = case when c.status = 'confirmed' then now() else p.confirmed_at end,
       finalized_at = case when c.final and not p.final then now() else p.finalized_at end
     from unnest($1::text[], $2::text[], $3::boolean[], $4::text[]) as c(id, status, final, ledger_transfer_id)
     where p.id = c.id`,
    [
      changes.map((c) => c.id),
      changes.map((c) => c.status),
      changes.map((c) => c.final),
      changes.map((c) => c.ledgerTransferId),
    ],
  )
}
