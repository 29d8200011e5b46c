-- labwatch's PostgreSQL store, version 2: replicas and the leases by which
-- each workspace is owned by one live replica at a time
-- (src/store/postgres/lease.rs, docs/store.md "Replicas").

-- One row per replica that has run: it is live while expires_at is in the
-- future (it renews it with its leases).
CREATE TABLE labwatch.replicas (
    id           text PRIMARY KEY,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);

-- One row per workspace ever leased. owner is NULL when nobody holds it;
-- epoch grows by one at every claim, so a replica that lost a lease while
-- it was paused can tell (fencing: a write names the epoch it holds).
CREATE TABLE labwatch.leases (
    workspace  text PRIMARY KEY,
    owner      text,
    epoch      bigint NOT NULL DEFAULT 0,
    expires_at timestamptz NOT NULL DEFAULT '-infinity'
);
CREATE INDEX leases_owner ON labwatch.leases (owner);
