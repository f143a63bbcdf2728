/**
 * The ledger schema, versioned in code. Migration N (1-based) takes a ledger
 * from `PRAGMA user_version = N-1` to N; openLedger applies the missing ones
 * in one IMMEDIATE transaction, so two processes opening a fresh ledger at
 * once cannot both apply a migration, and a crash mid-migration leaves the
 * previous version intact.
 *
 * Never edit a migration that has shipped: append a new one.
 *
 * The triggers make the audit trail append-only (DESIGN §5): they guard
 * against a bug or a careless edit rewriting history through custody or the
 * sqlite3 shell. They are no defence against someone who can write the file
 * (they can drop a trigger); the signed records inside the bundle are the
 * proof, the ledger is the examiner's convenience and audit trail.
 */

/** SQL check that a column holds exactly 64 lowercase hex digits (a SHA-256). */
const hex64 = (col: string): string => `length(${col}) = 64 AND ${col} NOT GLOB '*[^0-9a-f]*'`;

const V1 = `
CREATE TABLE cases (
  id         TEXT PRIMARY KEY,
  title      TEXT,            -- NULL when the case was created by seal or receive, not by 'case new'
  authority  TEXT,
  created_at TEXT NOT NULL
) STRICT;

CREATE TABLE bundles (
  digest     TEXT PRIMARY KEY CHECK (${hex64('digest')}),
  name       TEXT NOT NULL,
  path       TEXT,            -- last known location on this machine
  state      TEXT NOT NULL CHECK (state IN ('sealed', 'in transit', 'received')),
  case_id    TEXT NOT NULL REFERENCES cases(id),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX bundles_by_case ON bundles(case_id);

-- An item is sealed into exactly one bundle; its id is unique within that bundle.
CREATE TABLE items (
  bundle_digest TEXT NOT NULL REFERENCES bundles(digest),
  item_id       TEXT NOT NULL,
  description   TEXT,
  details       TEXT,         -- JSON object (source device, acquisition, --meta), as in custody/manifest.json
  PRIMARY KEY (bundle_digest, item_id)
) STRICT;

CREATE TABLE files (
  id            INTEGER PRIMARY KEY,
  bundle_digest TEXT NOT NULL,
  item_id       TEXT NOT NULL,
  path          TEXT NOT NULL,  -- the bag path, data/<item-id>/<path>
  size          INTEGER NOT NULL CHECK (size >= 0),
  piece_count   INTEGER,
  merkle_root   TEXT,
  UNIQUE (bundle_digest, path),
  FOREIGN KEY (bundle_digest, item_id) REFERENCES items(bundle_digest, item_id)
) STRICT;

-- One row per file and algorithm (not a JSON column) so that "which bundle
-- holds the image whose SHA-256 is X?" is an indexed lookup.
CREATE TABLE file_hashes (
  file_id INTEGER NOT NULL REFERENCES files(id),
  algo    TEXT NOT NULL,
  hex     TEXT NOT NULL CHECK (hex NOT GLOB '*[^0-9a-f]*' AND length(hex) > 0),
  PRIMARY KEY (file_id, algo)
) STRICT;
CREATE INDEX file_hashes_by_digest ON file_hashes(hex);

CREATE TABLE records (
  bundle_digest  TEXT NOT NULL REFERENCES bundles(digest),
  seq            INTEGER NOT NULL CHECK (seq >= 0),
  action         TEXT NOT NULL CHECK (action IN ('seal', 'transfer', 'receive')),
  signer_keyid   TEXT NOT NULL,
  at             TEXT NOT NULL,
  payload        BLOB NOT NULL,   -- the in-toto statement exactly as signed
  envelope       BLOB NOT NULL,   -- the DSSE envelope exactly as stored in the bundle
  payload_sha256 TEXT NOT NULL CHECK (${hex64('payload_sha256')}),
  stored_at      TEXT NOT NULL,
  PRIMARY KEY (bundle_digest, seq)
) STRICT;

CREATE TRIGGER records_no_update BEFORE UPDATE ON records
BEGIN SELECT RAISE(ABORT, 'custody records are append-only: UPDATE refused'); END;
CREATE TRIGGER records_no_delete BEFORE DELETE ON records
BEGIN SELECT RAISE(ABORT, 'custody records are append-only: DELETE refused'); END;
-- INSERT OR REPLACE deletes the old row WITHOUT firing delete triggers (unless
-- recursive_triggers is on), so an insert over an existing row is refused too.
CREATE TRIGGER records_no_replace BEFORE INSERT ON records
WHEN EXISTS (SELECT 1 FROM records WHERE bundle_digest = NEW.bundle_digest AND seq = NEW.seq)
BEGIN SELECT RAISE(ABORT, 'custody records are append-only: REPLACE refused'); END;

-- The current trust set is a plain table, so "is this key trusted?" is one
-- lookup with no tombstones a query could forget to filter (forgetting would
-- silently re-trust a removed key). Its history lives in trust_events, which
-- triggers fill on every insert and delete, so no code path can change trust
-- without leaving a trace, and which is itself append-only.
CREATE TABLE trusted_keys (
  fingerprint TEXT PRIMARY KEY CHECK (${hex64('fingerprint')}),
  keyid       TEXT NOT NULL CHECK (keyid = substr(fingerprint, 1, 16)),
  public_key  BLOB NOT NULL CHECK (length(public_key) = 32),
  name        TEXT NOT NULL,
  org         TEXT,
  role        TEXT,
  label       TEXT,
  added_at    TEXT NOT NULL
) STRICT;

CREATE TABLE trust_events (
  id          INTEGER PRIMARY KEY,
  event       TEXT NOT NULL CHECK (event IN ('add', 'remove')),
  fingerprint TEXT NOT NULL,
  public_key  BLOB NOT NULL,
  name        TEXT NOT NULL,
  label       TEXT,
  at          TEXT NOT NULL
) STRICT;

CREATE TRIGGER trusted_keys_no_update BEFORE UPDATE ON trusted_keys
BEGIN SELECT RAISE(ABORT, 'trusted keys are not edited in place: remove and add again'); END;
CREATE TRIGGER trusted_keys_no_replace BEFORE INSERT ON trusted_keys
WHEN EXISTS (SELECT 1 FROM trusted_keys WHERE fingerprint = NEW.fingerprint)
BEGIN SELECT RAISE(ABORT, 'trusted keys are not edited in place: remove and add again'); END;
CREATE TRIGGER trusted_keys_log_add AFTER INSERT ON trusted_keys
BEGIN
  INSERT INTO trust_events (event, fingerprint, public_key, name, label, at)
  VALUES ('add', NEW.fingerprint, NEW.public_key, NEW.name, NEW.label, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;
CREATE TRIGGER trusted_keys_log_remove AFTER DELETE ON trusted_keys
BEGIN
  INSERT INTO trust_events (event, fingerprint, public_key, name, label, at)
  VALUES ('remove', OLD.fingerprint, OLD.public_key, OLD.name, OLD.label, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
END;
CREATE TRIGGER trust_events_no_update BEFORE UPDATE ON trust_events
BEGIN SELECT RAISE(ABORT, 'the trust history is append-only: UPDATE refused'); END;
CREATE TRIGGER trust_events_no_delete BEFORE DELETE ON trust_events
BEGIN SELECT RAISE(ABORT, 'the trust history is append-only: DELETE refused'); END;
CREATE TRIGGER trust_events_no_replace BEFORE INSERT ON trust_events
WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM trust_events WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'the trust history is append-only: REPLACE refused'); END;
`;

/** Index i holds the SQL that takes the schema from version i to i+1. */
export const MIGRATIONS: readonly string[] = [V1];

export const SCHEMA_VERSION = MIGRATIONS.length;
