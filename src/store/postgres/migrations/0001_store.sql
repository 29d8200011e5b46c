-- labwatch's PostgreSQL store, version 1: the file store's records as rows.
-- Applied by labwatch at start (src/store/postgres/schema.rs); never edit a
-- migration that has shipped: add the next one.

-- Each workspace's records, one row per table and workspace. `body` holds
-- what the file store keeps in the workspace's file of the same kind: for
-- connections the sealed envelope (workspace and instance in clear, the
-- token only inside the XChaCha20-Poly1305 ciphertext), else plain JSON.
CREATE TABLE labwatch.workspaces (
    workspace  text PRIMARY KEY,
    body       jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE labwatch.connections (
    workspace  text PRIMARY KEY,
    body       jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A rotated connection whose save as the connection failed: GitLab has
-- revoked the old token, so this row is the only copy of the new one.
CREATE TABLE labwatch.rotated_connections (
    workspace  text PRIMARY KEY,
    body       jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A rotation that was started and not finished (see docs/admin-api.md).
CREATE TABLE labwatch.rotation_markers (
    workspace  text PRIMARY KEY,
    body       jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE labwatch.disconnects (
    workspace  text PRIMARY KEY,
    body       jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Connections that could not be read when the workspace was disconnected:
-- kept, never deleted by labwatch but with the workspace.
CREATE TABLE labwatch.set_aside_connections (
    id           bigserial PRIMARY KEY,
    workspace    text NOT NULL,
    body         jsonb NOT NULL,
    set_aside_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX set_aside_connections_workspace ON labwatch.set_aside_connections (workspace);

-- One row per action, never changed: the trigger below refuses UPDATE,
-- DELETE and TRUNCATE, for labwatch and for anyone else without the right
-- to drop the trigger.
CREATE TABLE labwatch.audit_log (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL,
    workspace text NOT NULL,
    actor     text NOT NULL,
    action    text NOT NULL,
    result    text NOT NULL,
    token_id  bigint,
    detail    text
);
CREATE INDEX audit_log_workspace ON labwatch.audit_log (workspace, id);

CREATE FUNCTION labwatch.audit_log_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'labwatch.audit_log is append-only: % is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON labwatch.audit_log
    FOR EACH ROW EXECUTE FUNCTION labwatch.audit_log_is_append_only();

CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON labwatch.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION labwatch.audit_log_is_append_only();
