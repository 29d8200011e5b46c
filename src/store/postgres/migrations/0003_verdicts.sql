-- labwatch's PostgreSQL store, version 3: each workspace's latest verdict,
-- written by the replica that owns it, so that any replica answers
-- /status and /health for any workspace (src/store/postgres/verdicts.rs).

-- body: the workspace's entry of the /status document. replica and epoch:
-- who wrote it, under which lease; a write whose lease no longer holds at
-- that epoch writes nothing (the fence is in the statement).
CREATE TABLE labwatch.verdicts (
    workspace text PRIMARY KEY,
    replica   text NOT NULL,
    epoch     bigint NOT NULL,
    at        timestamptz NOT NULL,
    body      jsonb NOT NULL
);
