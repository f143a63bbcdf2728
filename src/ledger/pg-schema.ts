/**
 * The shared ledger's schema on PostgreSQL: the same tables, columns and
 * rules as the SQLite ledger (schema.ts), versioned the same way. Migration N
 * (1-based) takes the database from version N-1 to N; `custody ledger init`
 * applies the missing ones in one transaction under a transaction-level
 * advisory lock, so two inits at once cannot both apply one, and a failure
 * mid-way leaves the previous version intact. Never edit a migration that has
 * shipped: append a new one.
 *
 * Threat: an examiner (or a bug, or a script with the lab's credentials)
 * rewriting the shared audit trail. The rules live in the database, not only
 * in custody: triggers refuse UPDATE, DELETE and TRUNCATE of custody records
 * and of the trust history, the primary key (bundle digest, seq) refuses a
 * second, different record at one place in a chain (a fork), and the writer
 * role custody runs as may only INSERT and SELECT. Only the owner of the
 * tables can drop a trigger; that role is kept away from the examiners.
 *
 * Two differences from SQLite, both forced by an INSERT-only writer: a
 * bundle's state and last update are read from its last record instead of
 * being updated in place, and its path is where it was first seen.
 */

const hex64 = (col: string): string => `${col} ~ '^[0-9a-f]{64}$'`;

const V1 = `
CREATE TABLE cases (
  id         TEXT PRIMARY KEY,
  title      TEXT,
  authority  TEXT,
  created_at TEXT NOT NULL
);

CREATE TABLE bundles (
  digest     TEXT PRIMARY KEY CHECK (${hex64('digest')}),
  name       TEXT NOT NULL,
  path       TEXT,
  state      TEXT NOT NULL CHECK (state IN ('sealed', 'in transit', 'received')),
  case_id    TEXT NOT NULL REFERENCES cases(id),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX bundles_by_case ON bundles(case_id);

CREATE TABLE items (
  bundle_digest TEXT NOT NULL REFERENCES bundles(digest),
  item_id       TEXT NOT NULL,
  description   TEXT,
  details       TEXT,
  PRIMARY KEY (bundle_digest, item_id)
);

CREATE TABLE files (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  bundle_digest TEXT NOT NULL,
  item_id       TEXT NOT NULL,
  path          TEXT NOT NULL,
  size          BIGINT NOT NULL CHECK (size >= 0),
  piece_count   BIGINT,
  merkle_root   TEXT,
  UNIQUE (bundle_digest, path),
  FOREIGN KEY (bundle_digest, item_id) REFERENCES items(bundle_digest, item_id)
);

CREATE TABLE file_hashes (
  file_id BIGINT NOT NULL REFERENCES files(id),
  algo    TEXT NOT NULL,
  hex     TEXT NOT NULL CHECK (hex ~ '^[0-9a-f]+$'),
  PRIMARY KEY (file_id, algo)
);
CREATE INDEX file_hashes_by_digest ON file_hashes(hex);

CREATE TABLE records (
  bundle_digest  TEXT NOT NULL REFERENCES bundles(digest),
  seq            INTEGER NOT NULL CHECK (seq >= 0),
  action         TEXT NOT NULL CHECK (action IN ('seal', 'transfer', 'receive')),
  signer_keyid   TEXT NOT NULL,
  at             TEXT NOT NULL,
  payload        BYTEA NOT NULL,
  envelope       BYTEA NOT NULL,
  payload_sha256 TEXT NOT NULL CHECK (${hex64('payload_sha256')}),
  stored_at      TEXT NOT NULL,
  PRIMARY KEY (bundle_digest, seq)
);

CREATE FUNCTION custody_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'custody %: % refused (append-only)', TG_ARGV[0], TG_OP USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON records
  FOR EACH ROW EXECUTE FUNCTION custody_append_only('records are append-only');
CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON records
  FOR EACH STATEMENT EXECUTE FUNCTION custody_append_only('records are append-only');

CREATE TABLE trusted_keys (
  fingerprint TEXT PRIMARY KEY CHECK (${hex64('fingerprint')}),
  keyid       TEXT NOT NULL CHECK (keyid = substr(fingerprint, 1, 16)),
  public_key  BYTEA NOT NULL CHECK (length(public_key) = 32),
  name        TEXT NOT NULL,
  org         TEXT,
  role        TEXT,
  label       TEXT,
  added_at    TEXT NOT NULL
);

CREATE TABLE trust_events (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event       TEXT NOT NULL CHECK (event IN ('add', 'remove')),
  fingerprint TEXT NOT NULL,
  public_key  BYTEA NOT NULL,
  name        TEXT NOT NULL,
  label       TEXT,
  at          TEXT NOT NULL
);

CREATE TRIGGER trusted_keys_no_update BEFORE UPDATE ON trusted_keys
  FOR EACH ROW EXECUTE FUNCTION custody_append_only('trusted keys are not edited in place: remove and add again;');
CREATE TRIGGER trusted_keys_no_truncate BEFORE TRUNCATE ON trusted_keys
  FOR EACH STATEMENT EXECUTE FUNCTION custody_append_only('trusted keys are removed one by one, into the trust history;');
CREATE TRIGGER trust_events_append_only BEFORE UPDATE OR DELETE ON trust_events
  FOR EACH ROW EXECUTE FUNCTION custody_append_only('the trust history is append-only;');
CREATE TRIGGER trust_events_no_truncate BEFORE TRUNCATE ON trust_events
  FOR EACH STATEMENT EXECUTE FUNCTION custody_append_only('the trust history is append-only;');

-- Every add and remove of a trusted key leaves a row in the history. ledger copy brings the
-- source's own history along and sets custody.copying for its transaction so it is not logged twice.
CREATE FUNCTION custody_log_trust() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF coalesce(current_setting('custody.copying', true), '') = 'on' THEN RETURN NULL; END IF;
  IF TG_OP = 'INSERT' THEN
    INSERT INTO trust_events (event, fingerprint, public_key, name, label, at)
    VALUES ('add', NEW.fingerprint, NEW.public_key, NEW.name, NEW.label, to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
  ELSE
    INSERT INTO trust_events (event, fingerprint, public_key, name, label, at)
    VALUES ('remove', OLD.fingerprint, OLD.public_key, OLD.name, OLD.label, to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER trusted_keys_log AFTER INSERT OR DELETE ON trusted_keys
  FOR EACH ROW EXECUTE FUNCTION custody_log_trust();
`;

/** Index i holds the SQL that takes the schema from version i to i+1. */
export const PG_MIGRATIONS: readonly string[] = [V1];
export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

/** The tables custody writes (what the writer role is granted INSERT and SELECT on). */
export const PG_TABLES = ['cases', 'bundles', 'items', 'files', 'file_hashes', 'records', 'trusted_keys', 'trust_events', 'custody_schema'] as const;

/** The identity sequences behind files.id and trust_events.id (the writer needs USAGE on them). */
export const PG_SEQUENCES = ['files_id_seq', 'trust_events_id_seq'] as const;

/** Keys the advisory lock that serialises migrations (any fixed number; this one spells "custody"). */
export const PG_MIGRATION_LOCK = 0x637573746f6479;
