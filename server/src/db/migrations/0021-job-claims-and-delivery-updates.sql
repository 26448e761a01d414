-- Owned by server/src/jobs (jobs) and server/src/modules/webhooks (webhook_deliveries).
-- docs/adr/0010-webhooks-and-event-stream.md, "Cost per event".

-- Claims read each kind's due jobs in run_at order and stop at the batch size. On (run_at) alone the
-- claim could not stop early: it read every due job of every kind (a backlog of another kind) and,
-- through a bitmap, every dead entry left by claimed and deleted jobs.
create index jobs_due_idx on jobs (kind, run_at) where status = 'queued';
drop index jobs_ready_idx;

-- Every delivery is inserted pending and updated once its first attempt is recorded. That update touches
-- no indexed column, but on a full page it cannot stay on the page, so PostgreSQL writes a new entry in
-- each of the table's five indexes: 91 % of those updates did. Room left free on each page keeps about
-- half of them heap-only (HOT). Applies to pages written from now on.
alter table webhook_deliveries set (fillfactor = 70);
