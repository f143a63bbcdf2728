/**
 * The shared ledger on PostgreSQL through `pg` (node-postgres): the only
 * module that imports it. A lab or a central authority points every examiner's
 * custody at one database (`--ledger postgres://…` or CUSTODY_LEDGER_URL), so
 * that "where is every bundle of case X, and who has held it" has one answer
 * and the stale-copy and fork checks see every hand-over of the lab.
 *
 * Each command uses one connection; each writing call is one transaction
 * (retried on a deadlock or a serialisation failure, which PostgreSQL rolls
 * back whole). The rules hold in the database (pg-schema.ts): records are
 * append-only, one record per (bundle digest, seq) — a different one is a
 * fork, refused in the same words as the SQLite ledger uses — and the same
 * record twice is one row, so imports are idempotent under any concurrency.
 *
 * Threat: a server that is down, or goes away mid-command. Every failure is
 * one CustodyError naming the ledger by server and database, never by its
 * password; a transaction cut short leaves none of its rows.
 */
import { createRequire } from 'node:module';
import type net from 'node:net';
import type pg from 'pg';
import { CustodyError } from '../core/errors.js';
import { storedRecord, type RecordDbRow } from './bundle-read.js';
import { checkItemsAndFiles, checkRecord, forkError, STATE_AFTER } from './bundle-write.js';
import { toCase, type CaseDbRow } from './cases.js';
import { PG_MIGRATION_LOCK, PG_MIGRATIONS, PG_SCHEMA_VERSION, PG_SEQUENCES, PG_TABLES } from './pg-schema.js';
import type { LedgerRows, LedgerStore } from './store.js';
import { checkKey, MIN_PREFIX, rowProblem, toTrustedKey, type TrustedKeyRow } from './trust-store.js';
import type {
  BundleRow,
  BundleState,
  CaseInput,
  CaseRow,
  CustodyRecordInput,
  DamagedTrustedKey,
  FileInput,
  ImportInput,
  ItemInput,
  RecordAction,
  RecordInput,
  SealInput,
  StoredFile,
  StoredItem,
  StoredRecord,
  TrustedKey,
  TrustedKeyInput,
  TrustEvent,
} from './types.js';
import { assertCaseId, assertHex64, assertText, sha256Hex, type InputSource } from './validate.js';

/** Whether a --ledger value names a PostgreSQL server rather than a SQLite file. */
export function isLedgerUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//i.test(s);
}

/** How the ledger is named in messages: server (or socket folder), port and database; never the user's password. */
export function ledgerUrlName(url: string): string {
  // Not new URL(): a socket folder as host (postgres://user@/db?host=/run/postgresql) is not a WHATWG URL.
  const m = /^postgres(?:ql)?:\/\/(?:[^@/?]*@)?([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/i.exec(url);
  if (!m) return 'postgres://(unparsable URL)';
  const dec = (v: string): string => {
    try {
      return decodeURIComponent(v);
    } catch {
      return v;
    }
  };
  const query = new URLSearchParams(m[3] ?? '');
  const host = m[1] ? dec(m[1]) : (query.get('host') ?? 'localhost');
  const db = dec(m[2] ?? '') || (query.get('dbname') ?? 'postgres');
  return `PostgreSQL ${db} on ${host}`;
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', '57P01', '57P02', '57P03']);

/** Whether e says the server cannot be reached or went away (as opposed to refusing what was asked). */
function isConnectionError(e: unknown): boolean {
  const code = String((e as { code?: unknown } | undefined)?.code ?? '');
  const message = e instanceof Error ? e.message : String(e);
  return CONNECTION_CODES.has(code) || code.startsWith('08') || /Connection terminated|connection .*(closed|ended)|not queryable|timeout expired/i.test(message);
}

const UNREACHABLE = 'cannot reach the ledger ';

/** Whether e is the error for a shared ledger that cannot be reached (or went away). */
export function isLedgerUnreachable(e: unknown): boolean {
  return e instanceof CustodyError && e.code === 'IO_ERROR' && e.message.startsWith(UNREACHABLE);
}

/** Maps an error from pg (or the network) to one CustodyError naming the ledger. */
export function pgError(e: unknown, name: string): CustodyError {
  if (e instanceof CustodyError) return e;
  const code = String((e as { code?: unknown } | undefined)?.code ?? '');
  const reason = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ');
  if (isConnectionError(e)) {
    return new CustodyError('IO_ERROR', `${UNREACHABLE}${name}: ${reason}`, {
      cause: e,
      hint: 'check that the server is up and the URL is right; a bundle is the truth on its own, and custody ledger import <bundle> catches the ledger up later',
    });
  }
  if (code === '28P01' || code === '28000') return new CustodyError('IO_ERROR', `the ledger ${name} refused the login: ${reason}`, { cause: e });
  if (code === '42501') return new CustodyError('IO_ERROR', `the ledger ${name} refused: ${reason}`, { cause: e, hint: 'your database role may only add rows; ask the ledger\'s owner' });
  if (code === '42P01') {
    return new CustodyError('IO_ERROR', `the ledger ${name} has no custody tables: ${reason}`, { cause: e, hint: 'the owner runs custody ledger init --url … --writer-role <role> once' });
  }
  return new CustodyError('IO_ERROR', `cannot use the ledger ${name}: ${reason}`, { cause: e });
}

const RETRYABLE = new Set(['40001', '40P01']);
const MAX_TRIES = 8;



/** A bundle's state and last update come from its last record (the writer may not UPDATE rows). */
const SELECT_BUNDLES = `
  SELECT b.digest, b.name, b.path, b.case_id, b.created_at,
         coalesce(last.action, 'seal') AS action, coalesce(last.stored_at, b.updated_at) AS updated_at,
         (SELECT count(*) FROM records r WHERE r.bundle_digest = b.digest) AS records
  FROM bundles b
  LEFT JOIN LATERAL (SELECT r.action, r.stored_at FROM records r WHERE r.bundle_digest = b.digest ORDER BY r.seq DESC LIMIT 1) last ON true`;

interface BundleDbRow {
  digest: string;
  name: string;
  path: string | null;
  case_id: string;
  created_at: string;
  updated_at: string;
  action: RecordAction;
  records: number;
}

function toBundle(r: BundleDbRow): BundleRow {
  const b: BundleRow = { digest: r.digest, name: r.name, state: STATE_AFTER[r.action], caseId: r.case_id, createdAt: r.created_at, updatedAt: r.updated_at, records: r.records };
  if (r.path !== null) b.path = r.path;
  return b;
}

const SELECT_CASES = `
  SELECT c.id, c.title, c.authority, c.created_at, (SELECT count(*) FROM bundles b WHERE b.case_id = c.id) AS bundles FROM cases c`;

const SELECT_TRUSTED = 'SELECT * FROM trusted_keys ORDER BY added_at, fingerprint';

/** The records of the bundles `where` picks, each bundle's in order, bundles in the order they were sealed. */
const selectRecords = (where: string): string => `SELECT r.*, b.name, b.case_id FROM records r JOIN bundles b ON b.digest = r.bundle_digest
         ${where ? `WHERE ${where}` : ''}
         ORDER BY (SELECT r0.at FROM records r0 WHERE r0.bundle_digest = r.bundle_digest AND r0.seq = 0), r.bundle_digest, r.seq`;

type Q = (sql: string, params?: unknown[]) => Promise<pg.QueryResult>;

/**
 * What `custody log --case` reads of a case (schema version, the case, the trust store, its
 * records), asked for in one round trip, queued before the connection is up (see prefetchCase).
 */
interface CasePrefetch {
  caseId: string;
  /** The four results, or undefined when the server refused the query (the plain queries then say why). */
  results: Promise<pg.QueryResult[] | undefined>;
  /** Which of the three reads have been answered from it (each once). */
  served: Set<'case' | 'trust' | 'records'>;
}

function fail(source: InputSource, message: string): CustodyError {
  return new CustodyError(source === 'user' ? 'USAGE' : 'MALFORMED_BUNDLE', message);
}

export class PgLedger implements LedgerStore {
  readonly shared = true;
  readonly name: string;
  readonly #client: pg.Client;
  /** The connection's socket, once made (openPgLedger gives pg its own). */
  readonly #socket: () => net.Socket | undefined;
  #broken: unknown;
  #prefetch: CasePrefetch | undefined;

  constructor(client: pg.Client, name: string, socket: () => net.Socket | undefined = () => undefined) {
    this.#client = client;
    this.name = name;
    this.#socket = socket;
    // A server that goes away emits 'error' on the client; the query in flight rejects with it too.
    client.on('error', (e) => {
      this.#broken = e;
    });
  }

  /**
   * Says goodbye and returns once the goodbye is written: the server's side of
   * it (its backend exiting, ~12 ms here) is not waited for. Every query has
   * been answered by then — a transaction has committed or rolled back — so
   * nothing is left that waiting could save.
   */
  async close(): Promise<void> {
    const ended = this.#client.end().catch(() => {});
    const socket = this.#socket();
    if (socket === undefined || socket.destroyed || !socket.writable) return ended;
    await Promise.race([ended, new Promise<void>((resolve) => socket.once('finish', resolve).once('close', resolve))]);
  }

  #q: Q = async (sql, params) => {
    if (this.#broken !== undefined) throw pgError(this.#broken, this.name);
    try {
      return await this.#client.query(sql, params);
    } catch (e) {
      throw pgError(e, this.name);
    }
  };

  async #read<T>(fn: (q: Q) => Promise<T>): Promise<T> {
    return fn(this.#q);
  }

  /** One transaction: all of fn's rows commit together or not at all; retried when PostgreSQL rolled it back for a deadlock. */
  async #write<T>(fn: (q: Q) => Promise<T>, setup?: string): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      await this.#q('BEGIN');
      try {
        if (setup) await this.#q(setup);
        const result = await fn(this.#q);
        await this.#q('COMMIT');
        return result;
      } catch (e) {
        if (this.#broken === undefined) await this.#client.query('ROLLBACK').catch(() => {});
        const code = String(((e as CustodyError).cause as { code?: unknown } | undefined)?.code ?? '');
        if (RETRYABLE.has(code) && attempt < MAX_TRIES) {
          await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 20));
          continue;
        }
        throw e;
      }
    }
  }

  /**
   * Asks at once for everything a case read takes, as ONE simple query of four
   * statements (one round trip, one implicit transaction); pg sends it as soon
   * as the connection is ready, even when asked before. A server's first
   * queries on a fresh connection are slow (its catalog caches are cold: ~20
   * ms here for these four), and a command busy loading its modules cannot
   * send one query after another: asked first, they run on the server while
   * this process loads. The case id is checked (letters, digits, ".", "_",
   * ":", "-") and quoted as a literal besides; a refused query is forgotten
   * and the reads ask again, one by one, as they would have.
   */
  prefetchCase(caseId: string): void {
    assertCaseId(caseId, 'user');
    const id = this.#client.escapeLiteral(caseId);
    const sql = ['SELECT version FROM custody_schema', `${SELECT_CASES} WHERE c.id = ${id}`, SELECT_TRUSTED, selectRecords(`b.case_id = ${id}`)].join(';\n');
    const results = (this.#client.query(sql) as unknown as Promise<pg.QueryResult[]>).then(
      (r) => (Array.isArray(r) && r.length === 4 ? r : undefined),
      () => undefined,
    );
    this.#prefetch = { caseId, results, served: new Set() };
  }

  /** The prefetched result of `what` for `caseId`, once; undefined when there is none (the caller then asks the server). */
  async #prefetched(what: 'case' | 'trust' | 'records', caseId?: string): Promise<pg.QueryResult | undefined> {
    const p = this.#prefetch;
    if (p === undefined || p.served.has(what) || (caseId !== undefined && caseId !== p.caseId) || this.#broken !== undefined) return undefined;
    p.served.add(what);
    if (p.served.size === 3) this.#prefetch = undefined;
    const results = await p.results;
    return results?.[{ case: 1, trust: 2, records: 3 }[what]];
  }

  /** Checks the schema version; run once after connecting. */
  async checkSchema(): Promise<void> {
    let version: number;
    try {
      const early = this.#prefetch && (await this.#prefetch.results);
      const r = early ? early[0]! : await this.#client.query('SELECT version FROM custody_schema');
      version = Number(r.rows[0]?.version ?? 0);
    } catch (e) {
      if (String((e as { code?: unknown }).code) === '42P01') {
        throw new CustodyError('IO_ERROR', `the ledger ${this.name} is not set up for custody`, {
          hint: 'its owner runs custody ledger init --url <url> --writer-role <role> once',
        });
      }
      throw pgError(e, this.name);
    }
    if (version > PG_SCHEMA_VERSION) {
      throw new CustodyError('IO_ERROR', `the ledger ${this.name} has schema version ${version}, newer than this custody understands (${PG_SCHEMA_VERSION})`, { hint: 'upgrade custody' });
    }
    if (version < PG_SCHEMA_VERSION) {
      throw new CustodyError('IO_ERROR', `the ledger ${this.name} has schema version ${version}; this custody needs ${PG_SCHEMA_VERSION}`, {
        hint: 'its owner runs custody ledger init --url <url> --writer-role <role> to migrate it',
      });
    }
  }

  /** Applies the missing migrations in one transaction under an advisory lock; returns the versions before and after. */
  async migrate(): Promise<{ from: number; to: number }> {
    return this.#write(async (q) => {
      await q('SELECT pg_advisory_xact_lock($1)', [PG_MIGRATION_LOCK]);
      await q('CREATE TABLE IF NOT EXISTS custody_schema (version INTEGER NOT NULL)');
      const r = await q('SELECT version FROM custody_schema');
      if (r.rows.length === 0) await q('INSERT INTO custody_schema (version) VALUES (0)');
      const from = Number(r.rows[0]?.version ?? 0);
      if (from > PG_SCHEMA_VERSION) throw new CustodyError('IO_ERROR', `the ledger ${this.name} has schema version ${from}, newer than this custody understands`, { hint: 'upgrade custody' });
      for (let v = from; v < PG_SCHEMA_VERSION; v++) await q(PG_MIGRATIONS[v]!);
      // The owner may update the version row; the writer role is never granted UPDATE.
      await q('UPDATE custody_schema SET version = $1', [PG_SCHEMA_VERSION]);
      return { from, to: PG_SCHEMA_VERSION };
    });
  }

  /** Creates (if needed) a login-less role that may only INSERT and SELECT custody's tables. */
  async grantWriter(role: string): Promise<void> {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(role)) throw new CustodyError('USAGE', `--writer-role ${JSON.stringify(role)}: use lowercase letters, digits and _`);
    const id = this.#client.escapeIdentifier(role);
    await this.#write(async (q) => {
      await q('SELECT pg_advisory_xact_lock($1)', [PG_MIGRATION_LOCK]);
      const exists = await q('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      if (exists.rows.length === 0) await q(`CREATE ROLE ${id} NOLOGIN`);
      await q(`REVOKE ALL ON ${PG_TABLES.join(', ')} FROM ${id}`);
      await q(`REVOKE ALL ON SEQUENCE ${PG_SEQUENCES.join(', ')} FROM ${id}`);
      const schema = String((await q('SELECT current_schema() AS s')).rows[0].s);
      await q(`GRANT USAGE ON SCHEMA ${this.#client.escapeIdentifier(schema)} TO ${id}`);
      await q(`GRANT SELECT, INSERT ON ${PG_TABLES.filter((t) => t !== 'custody_schema').join(', ')} TO ${id}`);
      await q(`GRANT SELECT ON custody_schema TO ${id}`);
      await q(`GRANT USAGE ON SEQUENCE ${PG_SEQUENCES.join(', ')} TO ${id}`);
    });
  }

  // --- trust store ---
  async addTrustedKey(k: TrustedKeyInput): Promise<{ added: boolean }> {
    checkKey(k);
    return this.#write(async (q) => {
      const r = await q(
        `INSERT INTO trusted_keys (fingerprint, keyid, public_key, name, org, role, label, added_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (fingerprint) DO NOTHING`,
        [k.fingerprint, k.keyid, Buffer.from(k.publicKey), k.name, k.org ?? null, k.role ?? null, k.label ?? null, new Date().toISOString()],
      );
      return { added: r.rowCount === 1 };
    });
  }
  async trustStore(): Promise<{ keys: TrustedKey[]; damaged: DamagedTrustedKey[] }> {
    const rows = ((await this.#prefetched('trust')) ?? (await this.#q(SELECT_TRUSTED))).rows as TrustedKeyRow[];
    const keys: TrustedKey[] = [];
    const damaged: DamagedTrustedKey[] = [];
    for (const r of rows) {
      const problem = rowProblem(r);
      if (problem === undefined) keys.push(toTrustedKey(r));
      else damaged.push({ fingerprint: r.fingerprint, keyid: r.keyid, name: r.name, addedAt: r.added_at, problem });
    }
    return { keys, damaged };
  }
  async listTrustedKeys(): Promise<TrustedKey[]> {
    return (await this.trustStore()).keys;
  }
  async trustedPublicKeys(): Promise<Uint8Array[]> {
    return (await this.trustStore()).keys.sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0)).map((k) => k.publicKey);
  }
  async removeTrustedKey(fingerprintOrPrefix: string): Promise<TrustedKey | undefined> {
    const ref = fingerprintOrPrefix.trim().toLowerCase();
    if (!/^[0-9a-f]+$/.test(ref) || ref.length < MIN_PREFIX || ref.length > 64) {
      throw new CustodyError('USAGE', `not a fingerprint or key id: ${JSON.stringify(fingerprintOrPrefix)}`, {
        hint: `give at least ${MIN_PREFIX} hex digits of the fingerprint (custody trust list shows them)`,
      });
    }
    return this.#write(async (q) => {
      const rows = (await q('SELECT * FROM trusted_keys WHERE substr(fingerprint, 1, $1) = $2 ORDER BY fingerprint', [ref.length, ref])).rows as TrustedKeyRow[];
      if (rows.length === 0) return undefined;
      if (rows.length > 1) {
        throw new CustodyError('USAGE', `${ref} matches ${rows.length} trusted keys: ${rows.map((r) => r.fingerprint).join(', ')}`, { hint: 'give more digits of the fingerprint' });
      }
      await q('DELETE FROM trusted_keys WHERE fingerprint = $1', [rows[0]!.fingerprint]);
      return toTrustedKey(rows[0]!);
    });
  }
  async trustEvents(): Promise<TrustEvent[]> {
    const rows = (await this.#q('SELECT * FROM trust_events ORDER BY id')).rows as { event: 'add' | 'remove'; fingerprint: string; public_key: Buffer; name: string; label: string | null; at: string }[];
    return rows.map((r) => {
      const ev: TrustEvent = { event: r.event, fingerprint: r.fingerprint, publicKey: new Uint8Array(r.public_key), name: r.name, at: r.at };
      if (r.label !== null) ev.label = r.label;
      return ev;
    });
  }

  // --- cases ---
  async createCase(input: CaseInput): Promise<{ created: boolean }> {
    assertCaseId(input.id, 'user');
    assertText(input.title, 'the case title', 'user');
    if (input.authority !== undefined) assertText(input.authority, 'the authority', 'user');
    return this.#write(async (q) => {
      const r = await q('INSERT INTO cases (id, title, authority, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING', [
        input.id,
        input.title,
        input.authority ?? null,
        new Date().toISOString(),
      ]);
      return { created: r.rowCount === 1 };
    });
  }
  async ensureCase(id: string): Promise<{ created: boolean }> {
    return this.#write((q) => ensureCase(q, id, 'user'));
  }
  async getCase(id: string): Promise<CaseRow | undefined> {
    const r = ((await this.#prefetched('case', id)) ?? (await this.#q(`${SELECT_CASES} WHERE c.id = $1`, [id]))).rows[0] as CaseDbRow | undefined;
    return r && toCase(r);
  }
  async listCases(): Promise<CaseRow[]> {
    return ((await this.#q(`${SELECT_CASES} ORDER BY c.created_at, c.id`)).rows as CaseDbRow[]).map(toCase);
  }

  // --- bundles and records ---
  async recordSeal(s: SealInput): Promise<void> {
    if (s.record.seq !== 0 || s.record.action !== 'seal') throw fail('user', 'recordSeal takes the seq-0 seal record');
    checkRecord(s.record, 'user');
    checkItemsAndFiles(s.items, s.files, 'user');
    await this.#write(async (q) => {
      await ensureCase(q, s.caseId, 'user');
      await insertBundleIfNew(q, { digest: s.bundleDigest, name: s.bundleName, path: s.path, caseId: s.caseId }, 'user');
      await insertItemsAndFiles(q, s.bundleDigest, s.items, s.files, 'user');
      await appendRecords(q, s.bundleDigest, [s.record]);
      await checkContiguous(q, s.bundleDigest);
    });
  }
  async recordCustodyRecord(c: CustodyRecordInput): Promise<{ added: boolean }> {
    assertHex64(c.bundleDigest, 'the bundle digest', 'user');
    checkRecord(c.record, 'user');
    return this.#write(async (q) => {
      const known = await q('SELECT 1 FROM bundles WHERE digest = $1', [c.bundleDigest]);
      if (known.rows.length === 0) throw new CustodyError('NOT_FOUND', `bundle ${c.bundleDigest} is not in the ledger`, { hint: 'importBundle records a bundle with its whole chain' });
      const added = await appendRecords(q, c.bundleDigest, [c.record]);
      await checkContiguous(q, c.bundleDigest);
      return { added: added === 1 };
    });
  }
  async importBundle(b: ImportInput): Promise<{ bundleAdded: boolean; recordsAdded: number }> {
    if (b.records.length === 0) throw fail('evidence', `bundle ${b.bundleDigest} has no custody records`);
    for (const r of b.records) checkRecord(r, 'evidence');
    checkItemsAndFiles(b.items, b.files, 'evidence');
    const extra: { title?: string; authority?: string } = {};
    if (b.caseTitle !== undefined) extra.title = b.caseTitle;
    if (b.caseAuthority !== undefined) extra.authority = b.caseAuthority;
    return this.#write(async (q) => {
      await ensureCase(q, b.caseId, 'evidence', extra);
      const bundleAdded = await insertBundleIfNew(q, { digest: b.bundleDigest, name: b.bundleName, path: b.path, caseId: b.caseId }, 'evidence');
      await insertItemsAndFiles(q, b.bundleDigest, b.items, b.files, 'evidence');
      const recordsAdded = await appendRecords(q, b.bundleDigest, [...b.records].sort((x, y) => x.seq - y.seq));
      await checkContiguous(q, b.bundleDigest);
      return { bundleAdded, recordsAdded };
    });
  }
  /** The shared ledger keeps where a bundle was first seen; a later path is one examiner's own. */
  async updateBundlePath(digest: string): Promise<void> {
    assertHex64(digest, 'the bundle digest', 'user');
    const r = await this.#q('SELECT 1 FROM bundles WHERE digest = $1', [digest]);
    if (r.rows.length === 0) throw new CustodyError('NOT_FOUND', `bundle ${digest} is not in the ledger`);
  }
  async records(filter: { bundleDigest?: string; caseId?: string } = {}): Promise<StoredRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.bundleDigest !== undefined) where.push(`r.bundle_digest = $${params.push(filter.bundleDigest)}`);
    if (filter.caseId !== undefined) where.push(`b.case_id = $${params.push(filter.caseId)}`);
    const early = filter.bundleDigest === undefined && filter.caseId !== undefined ? await this.#prefetched('records', filter.caseId) : undefined;
    const rows = (early ?? (await this.#q(selectRecords(where.join(' AND ')), params))).rows as RecordDbRow[];
    return rows.map(storedRecord);
  }
  async bundles(filter: { caseId?: string } = {}): Promise<BundleRow[]> {
    const rows = filter.caseId === undefined
      ? (await this.#q(`${SELECT_BUNDLES} ORDER BY b.created_at, b.digest`)).rows
      : (await this.#q(`${SELECT_BUNDLES} WHERE b.case_id = $1 ORDER BY b.created_at, b.digest`, [filter.caseId])).rows;
    return (rows as BundleDbRow[]).map(toBundle);
  }
  async getBundle(digest: string): Promise<BundleRow | undefined> {
    const r = (await this.#q(`${SELECT_BUNDLES} WHERE b.digest = $1`, [digest])).rows[0] as BundleDbRow | undefined;
    return r && toBundle(r);
  }
  async items(bundleDigest: string): Promise<StoredItem[]> {
    const rows = (await this.#q('SELECT * FROM items WHERE bundle_digest = $1 ORDER BY item_id', [bundleDigest])).rows as { bundle_digest: string; item_id: string; description: string | null; details: string | null }[];
    return rows.map((r) => {
      const it: StoredItem = { bundleDigest: r.bundle_digest, id: r.item_id };
      if (r.description !== null) it.description = r.description;
      if (r.details !== null) it.details = JSON.parse(r.details) as Record<string, unknown>;
      return it;
    });
  }
  async files(bundleDigest: string): Promise<StoredFile[]> {
    return this.#files('f.bundle_digest = $1', [bundleDigest], 'f.path');
  }
  async findFilesByHash(hex: string): Promise<StoredFile[]> {
    return this.#files('f.id IN (SELECT file_id FROM file_hashes WHERE hex = $1)', [hex.toLowerCase()], 'b.created_at, f.path');
  }
  async #files(where: string, params: unknown[], order: string): Promise<StoredFile[]> {
    const rows = (
      await this.#q(
        `SELECT f.*, b.case_id, coalesce((SELECT json_agg(json_build_array(h.algo, h.hex) ORDER BY h.algo) FROM file_hashes h WHERE h.file_id = f.id), '[]') AS hashes
         FROM files f JOIN bundles b ON b.digest = f.bundle_digest WHERE ${where} ORDER BY ${order}`,
        params,
      )
    ).rows as { bundle_digest: string; case_id: string; item_id: string; path: string; size: number; piece_count: number | null; merkle_root: string | null; hashes: [string, string][] }[];
    return rows.map((r) => {
      const f: StoredFile = { bundleDigest: r.bundle_digest, caseId: r.case_id, itemId: r.item_id, path: r.path, size: r.size, hashes: Object.fromEntries(r.hashes) };
      if (r.piece_count !== null) f.pieceCount = r.piece_count;
      if (r.merkle_root !== null) f.merkleRoot = r.merkle_root;
      return f;
    });
  }

  async allRows(): Promise<LedgerRows> {
    // One REPEATABLE READ snapshot, so the tables agree with each other.
    return this.#write(async (q) => {
      const files = (await q(
        `SELECT f.bundle_digest, f.item_id, f.path, f.size, f.piece_count, f.merkle_root,
                coalesce((SELECT json_agg(json_build_object('algo', h.algo, 'hex', h.hex) ORDER BY h.algo) FROM file_hashes h WHERE h.file_id = f.id), '[]') AS hashes
         FROM files f ORDER BY f.bundle_digest, f.path`,
      )).rows as LedgerRows['files'];
      const bytes = <T extends Record<string, unknown>>(rows: T[], ...cols: string[]): T[] => {
        for (const r of rows) for (const c of cols) (r as Record<string, unknown>)[c] = new Uint8Array(r[c] as Buffer);
        return rows;
      };
      return {
        cases: (await q('SELECT id, title, authority, created_at FROM cases ORDER BY created_at, id')).rows,
        bundles: (await q('SELECT digest, name, path, state, case_id, created_at, updated_at FROM bundles ORDER BY created_at, digest')).rows,
        items: (await q('SELECT bundle_digest, item_id, description, details FROM items ORDER BY bundle_digest, item_id')).rows,
        files,
        records: bytes((await q('SELECT bundle_digest, seq, action, signer_keyid, at, payload, envelope, payload_sha256, stored_at FROM records ORDER BY bundle_digest, seq')).rows, 'payload', 'envelope'),
        trusted_keys: bytes((await q('SELECT fingerprint, keyid, public_key, name, org, role, label, added_at FROM trusted_keys ORDER BY fingerprint')).rows, 'public_key'),
        trust_events: bytes((await q('SELECT event, fingerprint, public_key, name, label, at FROM trust_events ORDER BY id')).rows, 'public_key'),
      } as LedgerRows;
    }, 'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  /**
   * `custody ledger copy`: every row of another ledger, as stored (times, states, paths), in one
   * transaction. Rows the shared ledger holds already are skipped, so a copy run twice adds nothing;
   * a record that differs from the one held at its (bundle, seq) is a fork and stops the copy.
   */
  async copyRows(src: LedgerRows): Promise<Record<keyof LedgerRows, number>> {
    for (const r of src.records) checkRecord({ seq: r.seq, action: r.action as RecordAction, payload: r.payload, envelope: r.envelope, signerKeyid: r.signer_keyid, at: r.at }, 'evidence');
    const copied = await this.#copy(src);
    // A large copy leaves the planner's statistics behind until autovacuum comes by: the first case read
    // after copying 100,000 records scanned the whole table (288 ms instead of ~1 ms). A role that does
    // not own the tables gets a warning from PostgreSQL, not an error.
    if (copied.records + copied.files > 1000) await this.#q('ANALYZE');
    return copied;
  }

  async #copy(src: LedgerRows): Promise<Record<keyof LedgerRows, number>> {
    return this.#write(async (q) => {
      const n = { cases: 0, bundles: 0, items: 0, files: 0, records: 0, trusted_keys: 0, trust_events: 0 };
      for (const c of src.cases) {
        n.cases += (await q('INSERT INTO cases (id, title, authority, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [c.id, c.title, c.authority, c.created_at])).rowCount ?? 0;
      }
      for (const b of src.bundles) {
        n.bundles += (
          await q('INSERT INTO bundles (digest, name, path, state, case_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING', [
            b.digest, b.name, b.path, b.state, b.case_id, b.created_at, b.updated_at,
          ])
        ).rowCount ?? 0;
      }
      for (const it of src.items) {
        n.items += (await q('INSERT INTO items (bundle_digest, item_id, description, details) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [it.bundle_digest, it.item_id, it.description, it.details])).rowCount ?? 0;
      }
      for (const f of src.files) {
        const r = await q(
          `INSERT INTO files (bundle_digest, item_id, path, size, piece_count, merkle_root) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (bundle_digest, path) DO NOTHING RETURNING id`,
          [f.bundle_digest, f.item_id, f.path, f.size, f.piece_count, f.merkle_root],
        );
        if (r.rows.length === 0) continue;
        n.files++;
        for (const h of f.hashes) await q('INSERT INTO file_hashes (file_id, algo, hex) VALUES ($1, $2, $3)', [r.rows[0].id, h.algo, h.hex]);
      }
      // Records in batches, each one statement; the same record already there is skipped, a different one is a fork.
      for (let i = 0; i < src.records.length; i += 500) {
        const batch = src.records.slice(i, i + 500);
        const values: unknown[] = [];
        const rows = batch.map((r) => {
          const at = values.length;
          values.push(r.bundle_digest, r.seq, r.action, r.signer_keyid, r.at, Buffer.from(r.payload), Buffer.from(r.envelope), r.payload_sha256, r.stored_at);
          return `(${Array.from({ length: 9 }, (_, k) => `$${at + k + 1}`).join(', ')})`;
        });
        const added = await q(
          `INSERT INTO records (bundle_digest, seq, action, signer_keyid, at, payload, envelope, payload_sha256, stored_at) VALUES ${rows.join(', ')}
           ON CONFLICT (bundle_digest, seq) DO NOTHING RETURNING bundle_digest, seq`,
          values,
        );
        n.records += added.rows.length;
        if (added.rows.length < batch.length) await assertSameRecords(q, batch.map((r) => ({ digest: r.bundle_digest, seq: r.seq, sha: r.payload_sha256 })));
      }
      for (const e of src.trust_events) {
        n.trust_events += (
          await q(
            `INSERT INTO trust_events (event, fingerprint, public_key, name, label, at) SELECT $1, $2, $3, $4, $5, $6
             WHERE NOT EXISTS (SELECT 1 FROM trust_events WHERE event = $1 AND fingerprint = $2 AND at = $6)`,
            [e.event, e.fingerprint, Buffer.from(e.public_key), e.name, e.label, e.at],
          )
        ).rowCount ?? 0;
      }
      for (const k of src.trusted_keys) {
        n.trusted_keys += (
          await q(
            `INSERT INTO trusted_keys (fingerprint, keyid, public_key, name, org, role, label, added_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
            [k.fingerprint, k.keyid, Buffer.from(k.public_key), k.name, k.org, k.role, k.label, k.added_at],
          )
        ).rowCount ?? 0;
      }
      return n;
    }, "SELECT set_config('custody.copying', 'on', true)");
  }
}

async function ensureCase(q: Q, id: string, source: InputSource, extra: { title?: string; authority?: string } = {}): Promise<{ created: boolean }> {
  assertCaseId(id, source);
  if (extra.title !== undefined) assertText(extra.title, 'the case title', source);
  if (extra.authority !== undefined) assertText(extra.authority, 'the authority', source);
  const r = await q('INSERT INTO cases (id, title, authority, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING', [id, extra.title ?? null, extra.authority ?? null, new Date().toISOString()]);
  return { created: r.rowCount === 1 };
}

/** Returns whether the bundle is new to the ledger. */
async function insertBundleIfNew(q: Q, b: { digest: string; name: string; path?: string | undefined; caseId: string }, source: InputSource): Promise<boolean> {
  assertHex64(b.digest, 'the bundle digest', source);
  assertText(b.name, 'the bundle name', source, 255);
  const now = new Date().toISOString();
  const r = await q(`INSERT INTO bundles (digest, name, path, state, case_id, created_at, updated_at) VALUES ($1, $2, $3, 'sealed', $4, $5, $5) ON CONFLICT (digest) DO NOTHING`, [
    b.digest,
    b.name,
    b.path ?? null,
    b.caseId,
    now,
  ]);
  if (r.rowCount === 1) return true;
  const row = (await q('SELECT case_id FROM bundles WHERE digest = $1', [b.digest])).rows[0] as { case_id: string };
  if (row.case_id !== b.caseId) throw fail(source, `bundle ${b.digest} belongs to case ${row.case_id}, not ${b.caseId}`);
  return false;
}

/** Files per INSERT: one round trip and one statement for this many files and their hashes. */
const FILE_BATCH = 5000;

/**
 * Items one by one (a bundle has few), files in batches of FILE_BATCH: each
 * batch is one statement that inserts the files (arrays unnested server-side)
 * and, for the ones that were new, their hashes. A file already stored is
 * skipped with its hashes (idempotent, as before); a million-file seal is 200
 * round trips instead of four million.
 */
async function insertItemsAndFiles(q: Q, digest: string, items: ItemInput[], files: Iterable<FileInput>, source: InputSource): Promise<void> {
  const itemIds = new Set<string>();
  for (const it of items) {
    itemIds.add(it.id);
    await q('INSERT INTO items (bundle_digest, item_id, description, details) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
      digest,
      it.id,
      it.description ?? null,
      it.details === undefined ? null : JSON.stringify(it.details),
    ]);
  }
  let batch: FileInput[] = [];
  let seen = new Set<string>();
  const flush = async () => {
    if (batch.length === 0) return;
    const cols = { item: [] as string[], path: [] as string[], size: [] as number[], pieces: [] as (number | null)[], root: [] as (string | null)[] };
    const hashes = { path: [] as string[], algo: [] as string[], hex: [] as string[] };
    for (const f of batch) {
      cols.item.push(f.itemId);
      cols.path.push(f.path);
      cols.size.push(f.size);
      cols.pieces.push(f.pieceCount ?? null);
      cols.root.push(f.merkleRoot ?? null);
      for (const [algo, hex] of Object.entries(f.hashes)) {
        hashes.path.push(f.path);
        hashes.algo.push(algo);
        hashes.hex.push(hex);
      }
    }
    await q(
      `WITH f AS (
         INSERT INTO files (bundle_digest, item_id, path, size, piece_count, merkle_root)
         SELECT $1, u.i, u.p, u.s, u.c, u.m FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[]) WITH ORDINALITY AS u(i, p, s, c, m, n) ORDER BY u.n
         ON CONFLICT (bundle_digest, path) DO NOTHING RETURNING id, path)
       INSERT INTO file_hashes (file_id, algo, hex)
       SELECT f.id, h.a, h.x FROM f JOIN unnest($7::text[], $8::text[], $9::text[]) AS h(p, a, x) ON h.p = f.path`,
      [digest, cols.item, cols.path, cols.size, cols.pieces, cols.root, hashes.path, hashes.algo, hashes.hex],
    );
    batch = [];
    seen = new Set();
  };
  for (const f of files) {
    if (!itemIds.has(f.itemId)) {
      if ((await q('SELECT 1 FROM items WHERE bundle_digest = $1 AND item_id = $2', [digest, f.itemId])).rows.length === 0) {
        throw fail(source, `file ${f.path} belongs to unknown item ${JSON.stringify(f.itemId)}`);
      }
      itemIds.add(f.itemId); // stored by an earlier call: asked once
    }
    if (seen.has(f.path)) continue; // the same path twice in one batch: the first is stored, as it would be one by one
    seen.add(f.path);
    batch.push(f);
    if (batch.length >= FILE_BATCH) await flush();
  }
  await flush();
}

/** Inserts the records in one statement; returns how many were new. The same record again is skipped; a different one is a fork. */
async function appendRecords(q: Q, digest: string, records: RecordInput[]): Promise<number> {
  const values: unknown[] = [];
  const now = new Date().toISOString();
  const mine = records.map((r) => ({ digest, seq: r.seq, sha: sha256Hex(r.payload) }));
  const rows = records.map((r, i) => {
    const at = values.length;
    values.push(digest, r.seq, r.action, r.signerKeyid, r.at, Buffer.from(r.payload), Buffer.from(r.envelope), mine[i]!.sha, now);
    return `(${Array.from({ length: 9 }, (_, k) => `$${at + k + 1}`).join(', ')})`;
  });
  const added = await q(
    `INSERT INTO records (bundle_digest, seq, action, signer_keyid, at, payload, envelope, payload_sha256, stored_at) VALUES ${rows.join(', ')}
     ON CONFLICT (bundle_digest, seq) DO NOTHING RETURNING seq`,
    values,
  );
  if (added.rows.length < records.length) await assertSameRecords(q, mine);
  return added.rows.length;
}

/** Every (bundle, seq) given must hold the record with this payload hash; a different one is a fork. */
async function assertSameRecords(q: Q, mine: { digest: string; seq: number; sha: string }[]): Promise<void> {
  const held = await q(
    `SELECT r.bundle_digest, r.seq, r.payload_sha256 FROM records r JOIN unnest($1::text[], $2::int[]) AS m(d, s) ON r.bundle_digest = m.d AND r.seq = m.s`,
    [mine.map((m) => m.digest), mine.map((m) => m.seq)],
  );
  const byKey = new Map(held.rows.map((r: { bundle_digest: string; seq: number; payload_sha256: string }) => [`${r.bundle_digest}/${r.seq}`, r.payload_sha256]));
  for (const m of mine) {
    const stored = byKey.get(`${m.digest}/${m.seq}`);
    if (stored !== undefined && stored !== m.sha) throw forkError(m.digest, m.seq, stored, m.sha);
  }
}

/** After appending, the stored chain must run 0..n without gaps. */
async function checkContiguous(q: Q, digest: string): Promise<void> {
  const s = (await q('SELECT count(*) AS n, min(seq) AS lo, max(seq) AS hi FROM records WHERE bundle_digest = $1', [digest])).rows[0] as { n: number; lo: number; hi: number };
  if (s.lo !== 0 || s.hi !== s.n - 1) {
    throw new CustodyError('CHAIN_ERROR', `the records of bundle ${digest} would not run 0..n without gaps (have ${s.n}, highest seq ${s.hi})`);
  }
}

const load = createRequire(import.meta.url);

/**
 * The driver, loaded on first use (commands that never touch a shared ledger
 * skip its load time). As it loads, pg asks whether it runs in a Cloudflare
 * Worker; on Node 20, which has no global `navigator`, it answers by touching
 * the global `Response`, and that loads Node's whole fetch implementation:
 * half of pg's load time, paid by every command on a shared ledger. Node 21+
 * has a `navigator` that answers at once; Node 20 gets the same for the time
 * of the (synchronous, so unobservable) load, and nothing after it.
 */
function loadDriver(): typeof pg {
  if ('navigator' in globalThis) return load('pg') as typeof pg;
  Object.defineProperty(globalThis, 'navigator', { value: { userAgent: `Node.js/${process.versions.node.split('.')[0]}` }, configurable: true });
  try {
    return load('pg') as typeof pg;
  } finally {
    delete (globalThis as { navigator?: unknown }).navigator;
  }
}

/** Connects to the shared ledger named by `url` and checks its schema. Close it when done. */
export async function openPgLedger(url: string, opts: { migrate?: boolean; prefetchCase?: string } = {}): Promise<PgLedger> {
  const name = ledgerUrlName(url);
  const driver = loadDriver();
  // int8 (counts, sizes, identity ids) as JS numbers: every value custody stores is below 2^53.
  const types = {
    getTypeParser: ((oid: number, format?: string) => (oid === 20 ? (v: string) => Number(v) : driver.types.getTypeParser(oid, format as 'text'))) as typeof driver.types.getTypeParser,
  };
  // The socket pg would make (a plain net.Socket; pg layers TLS on it when asked), made here so that close() sees it.
  let socket: net.Socket | undefined;
  const stream = (): net.Socket => (socket = new (load('node:net') as typeof net).Socket());
  const client = new driver.Client({ connectionString: url, types, connectionTimeoutMillis: 10_000, stream,
    // A server that vanishes without closing the connection (a cable, a VPN) is noticed instead of waited for.
    keepAlive: true,
    query_timeout: 120_000,
    application_name: 'custody',
  });
  const ledger = new PgLedger(client, name, () => socket);
  try {
    const connected = client.connect();
    if (opts.prefetchCase !== undefined && !opts.migrate) ledger.prefetchCase(opts.prefetchCase);
    await connected;
    if (!opts.migrate) await ledger.checkSchema();
    return ledger;
  } catch (e) {
    await ledger.close();
    throw pgError(e, name);
  }
}

export type { BundleState };
