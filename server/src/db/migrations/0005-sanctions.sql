-- Owned by server/src/modules/sanctions (docs/adr/0008-sanctions-matching.md).

-- One row per `sluice sanctions import` run: when the lists were last checked, even if nothing changed.
create table sanction_import_batches (
  id integer generated always as identity primary key,
  paths text[] not null,
  started_at timestamptz not null default now()
);

-- A list (e.g. `sanctioned_addresses_ETH`) and the version it is screened against now. Only this pointer
-- moves: versions and their entries stay, so any past decision can be explained by the version it cites.
create table sanction_sources (
  source text primary key check (length(source) between 1 and 200),
  active_version_id integer,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table sanction_list_versions (
  id integer generated always as identity primary key,
  source text not null references sanction_sources (source),
  -- The SDN's asset label from the file name. Provenance only: matching ignores it (labels are wrong at times).
  ticker text,
  batch_id integer not null references sanction_import_batches (id),
  file_path text not null,
  file_sha256 text not null check (file_sha256 ~ '^[0-9a-f]{64}$'),
  -- SHA-256 of the sorted normalised addresses: equal hashes mean a re-import changes nothing.
  content_hash text not null check (content_hash ~ '^[0-9a-f]{64}$'),
  entry_count integer not null check (entry_count >= 1),
  invalid_count integer not null check (invalid_count >= 0),
  format_counts jsonb not null,
  imported_at timestamptz not null default now()
);
create index sanction_list_versions_source_idx on sanction_list_versions (source, id);

alter table sanction_sources
  add constraint sanction_sources_active_version_fk foreign key (active_version_id) references sanction_list_versions (id);

-- `address` is normalised by sanction.format.ts: EVM and bech32 lower-case, everything else verbatim.
create table sanction_list_entries (
  version_id integer not null references sanction_list_versions (id),
  address text not null check (length(address) between 1 and 128),
  format text not null check (format in ('evm', 'tron', 'bitcoin', 'other')),
  primary key (version_id, address)
);
-- Screening looks up by address across every version and keeps the active ones; version_id makes it covering.
create index sanction_list_entries_address_idx on sanction_list_entries (address, version_id);

-- Lists are evidence for blocking decisions (records kept >= 5 years, 31 CFR 501.601): append-only.
create trigger sanction_import_batches_immutable before update or delete on sanction_import_batches
  for each row execute function refuse_change();
create trigger sanction_list_versions_immutable before update or delete on sanction_list_versions
  for each row execute function refuse_change();
create trigger sanction_list_entries_immutable before update or delete on sanction_list_entries
  for each row execute function refuse_change();
