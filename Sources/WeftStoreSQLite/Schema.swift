import GRDB

/// The store's schema, as named migrations applied in order on open. Migrations are only ever appended: a file
/// written by an older Weft is brought forward, never rebuilt. The layout is described in docs/storage.md.
enum Schema {
    /// True for an event stored under any key but a customer's (`<system>/customer/<id>`, which is never adopted): the
    /// condition of `events_provisional`. A statement that uses the index repeats it word for word (SQLite uses a
    /// partial index only for a query that states its condition), and it never changes: the index was made with it.
    static let provisionalKey = "substr(entity_key, instr(entity_key, '/'), 10) <> '/customer/'"

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-inbox") { db in
            try db.execute(
                sql: """
                    CREATE TABLE events (
                      seq INTEGER PRIMARY KEY AUTOINCREMENT,
                      system TEXT NOT NULL, event_id TEXT NOT NULL, type TEXT NOT NULL, entity_key TEXT NOT NULL,
                      occurred_at INTEGER NOT NULL, received_at INTEGER NOT NULL, payload BLOB NOT NULL, trace_id TEXT NOT NULL,
                      status INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
                      lease_owner TEXT, lease_until INTEGER, outcome TEXT, processed_at INTEGER);
                    CREATE UNIQUE INDEX events_dedup ON events (system, event_id);
                    CREATE INDEX events_active ON events (entity_key, occurred_at, seq) WHERE status IN (0, 1);
                    CREATE INDEX events_status ON events (status, seq);
                    CREATE TABLE aggregates (
                      entity_key TEXT PRIMARY KEY, state BLOB NOT NULL, version INTEGER NOT NULL, updated_at INTEGER NOT NULL);
                    """)
        }
        migrator.registerMigration("v1-outbox") { db in
            try db.execute(
                sql: """
                    CREATE TABLE commands (
                      id INTEGER PRIMARY KEY AUTOINCREMENT,
                      target TEXT NOT NULL, entity_key TEXT NOT NULL, idempotency_key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
                      payload BLOB NOT NULL, trace_id TEXT NOT NULL,
                      status INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL,
                      lease_owner TEXT, lease_until INTEGER, last_error TEXT,
                      created_at INTEGER NOT NULL, delivered_at INTEGER, target_model TEXT, target_id TEXT);
                    CREATE INDEX commands_active ON commands (target, entity_key, id) WHERE status IN (0, 1);
                    CREATE INDEX commands_due ON commands (target, status, next_attempt_at) WHERE status IN (0, 1);
                    CREATE INDEX commands_status ON commands (status, kind);
                    CREATE TABLE bindings (
                      source_system TEXT NOT NULL, source_kind TEXT NOT NULL, source_id TEXT NOT NULL, target TEXT NOT NULL,
                      model TEXT NOT NULL, target_id TEXT NOT NULL, updated_at INTEGER NOT NULL,
                      PRIMARY KEY (source_system, source_kind, source_id, target));
                    """)
        }
        migrator.registerMigration("v1-operations") { db in
            try db.execute(
                sql: """
                    CREATE TABLE cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL);
                    CREATE TABLE audit (
                      id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
                      detail TEXT NOT NULL);
                    """)
        }
        // Claims walk these in claim order and stop at the batch limit, instead of sorting every unfinished row.
        migrator.registerMigration("v2-claim-indexes") { db in
            try db.execute(
                sql: """
                    CREATE INDEX events_unfinished ON events (seq) WHERE status IN (0, 1);
                    CREATE INDEX events_leased ON events (entity_key, lease_until) WHERE status = 1;
                    CREATE INDEX commands_ready ON commands (target, next_attempt_at, id) WHERE status IN (0, 1);
                    DROP INDEX commands_due;
                    """)
        }
        migrator.registerMigration("v2-delivery-note") { db in
            try db.execute(sql: "ALTER TABLE commands ADD COLUMN note TEXT")
        }
        // Provisional entity keys adopted by an entity (see `Aggregate.aliases`). An adoption moves every event under
        // the alias, whatever its status: `events_entity` finds them without scanning the inbox.
        migrator.registerMigration("v3-aliases") { db in
            try db.execute(
                sql: """
                    CREATE TABLE aliases (
                      alias TEXT PRIMARY KEY, entity_key TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;
                    CREATE INDEX events_entity ON events (entity_key);
                    """)
        }
        // Metrics and readiness read queue depths and ages on every scrape: answer them from small covering indexes
        // instead of scanning the tables (whose rows hold the payloads).
        migrator.registerMigration("v3-stats-indexes") { db in
            try db.execute(
                sql: """
                    CREATE INDEX events_pending_received ON events (received_at) WHERE status = 0;
                    CREATE INDEX commands_target_status ON commands (target, status, created_at);
                    """)
        }
        // Claims test status, lease, entity key and occurred-at of every candidate they walk past (a backlog can be
        // thousands of events of blocked keys). With those columns in the claim indexes the walk never reads a table
        // row, whose payload makes it large; only the claimed rows are.
        migrator.registerMigration("v3-covering-claim-indexes") { db in
            try db.execute(
                sql: """
                    DROP INDEX events_unfinished;
                    CREATE INDEX events_unfinished ON events (seq, status, lease_until, entity_key, occurred_at)
                      WHERE status IN (0, 1);
                    DROP INDEX commands_ready;
                    CREATE INDEX commands_ready ON commands (target, next_attempt_at, id, status, lease_until, entity_key)
                      WHERE status IN (0, 1);
                    """)
        }
        // Retention deletes finished rows oldest first, in bounded batches.
        migrator.registerMigration("v4-retention-indexes") { db in
            try db.execute(
                sql: """
                    CREATE INDEX events_done_processed ON events (processed_at) WHERE status = 2;
                    CREATE INDEX commands_delivered_at ON commands (delivered_at) WHERE status = 2;
                    """)
        }
        // Entitlement lookups by a desk's or Odoo's own id read the bindings backwards.
        migrator.registerMigration("v5-binding-lookup") { db in
            try db.execute(sql: "CREATE INDEX bindings_by_record ON bindings (target, model, target_id);")
        }
        // A claim checks that no later command of the entity is in flight (one a replay put behind it) through its
        // own small index, so the head check keeps its range over `commands_active`.
        migrator.registerMigration("v6-inflight-commands") { db in
            try db.execute(sql: "CREATE INDEX commands_inflight ON commands (target, entity_key, id) WHERE status = 1;")
        }
        // Metrics read how many events are done and how many commands delivered or superseded on every scrape. Those
        // rows are most of what retention keeps, so counting them grew with the history; triggers keep their counts
        // instead, whichever statement moves a row into or out of those statuses (commit, replay, prune, a copy).
        migrator.registerMigration("v7-terminal-counts") { db in
            try db.execute(sql: TerminalCountsSQL.sqlite)
        }
        // An adoption only ever moves events stored under a provisional key (an invoice's, a charge's, a payment's),
        // never a customer's, and nearly every event is a customer's. Customers' keys arrive in no order, so an index
        // of every event's key put a write to a page of its own into almost every append (a third of the log an
        // append writes); the index of provisional keys alone stays small.
        migrator.registerMigration("v8-provisional-keys-index") { db in
            try db.execute(
                sql: """
                    DROP INDEX events_entity;
                    CREATE INDEX events_provisional ON events (entity_key) WHERE \(provisionalKey);
                    """)
        }
        // A claim asks two things of an entity's unfinished events: is one earlier, and is another under a live lease.
        // The second had an index of its own per table (`events_leased`, `commands_inflight`): every claim added an
        // entry to it and every commit or delivery outcome removed it again. The active indexes carry status and lease
        // end instead and answer both; a claim rewrote their entries already (their condition names the status it
        // changes).
        migrator.registerMigration("v9-lease-checks-in-active-indexes") { db in
            try db.execute(
                sql: """
                    DROP INDEX events_active;
                    CREATE INDEX events_active ON events (entity_key, occurred_at, seq, status, lease_until)
                      WHERE status IN (0, 1);
                    DROP INDEX events_leased;
                    DROP INDEX commands_active;
                    CREATE INDEX commands_active ON commands (target, entity_key, id, status, lease_until)
                      WHERE status IN (0, 1);
                    DROP INDEX commands_inflight;
                    """)
        }
        return migrator
    }
}
