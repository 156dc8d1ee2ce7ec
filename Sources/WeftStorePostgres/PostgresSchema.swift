import Foundation

/// The PostgreSQL schema, as named migrations applied in order. Migrations are only ever appended. `weft migrate` (and
/// a node that opens the store with `migrate: auto`) applies the pending ones, each in its own transaction under a
/// transaction-scoped advisory lock, so nodes starting together, or a `weft migrate` run while nodes are up, apply
/// each migration exactly once. Every migration is additive (new tables, new indexes, new nullable columns), so nodes
/// of the previous version keep working while it is applied. The layout is described in docs/storage.md.
enum PostgresSchema {
    /// The advisory lock key migrations are applied under (`'weft.migrate'` hashed, fixed forever).
    static let migrationLock: Int64 = 0x5745_4654_4D49_4752

    /// The statements of a migration (they contain no `;` but as terminators).
    static func statements(of sql: String) -> [String] {
        sql.split(separator: ";").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    static let migrations: [(name: String, sql: String)] = [
        (
            "v1-inbox",
            """
            CREATE TABLE events (
              seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
              system text NOT NULL, event_id text NOT NULL, type text NOT NULL, entity_key text NOT NULL,
              occurred_at bigint NOT NULL, received_at bigint NOT NULL, payload bytea NOT NULL, trace_id text NOT NULL,
              status smallint NOT NULL DEFAULT 0, attempts integer NOT NULL DEFAULT 0,
              lease_owner text, lease_until bigint, outcome text, processed_at bigint);
            CREATE UNIQUE INDEX events_dedup ON events (system, event_id);
            CREATE INDEX events_active ON events (entity_key, occurred_at, seq) WHERE status IN (0, 1);
            CREATE INDEX events_unfinished ON events (seq) INCLUDE (status, lease_until, entity_key, occurred_at)
              WHERE status IN (0, 1);
            CREATE INDEX events_leased ON events (entity_key, lease_until) WHERE status = 1;
            CREATE INDEX events_entity ON events (entity_key);
            CREATE INDEX events_status ON events (status, seq);
            CREATE INDEX events_pending_received ON events (received_at) WHERE status = 0;
            CREATE TABLE aggregates (
              entity_key text PRIMARY KEY, state bytea NOT NULL, version bigint NOT NULL, updated_at bigint NOT NULL);
            CREATE TABLE aliases (alias text PRIMARY KEY, entity_key text NOT NULL, created_at bigint NOT NULL);
            """
        ),
        (
            "v1-outbox",
            """
            CREATE TABLE commands (
              id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
              target text NOT NULL, entity_key text NOT NULL, idempotency_key text NOT NULL UNIQUE, kind text NOT NULL,
              payload bytea NOT NULL, trace_id text NOT NULL,
              status smallint NOT NULL DEFAULT 0, attempts integer NOT NULL DEFAULT 0, next_attempt_at bigint NOT NULL,
              lease_owner text, lease_until bigint, last_error text,
              created_at bigint NOT NULL, delivered_at bigint, target_model text, target_id text, note text);
            CREATE INDEX commands_active ON commands (target, entity_key, id) WHERE status IN (0, 1);
            CREATE INDEX commands_ready ON commands (target, next_attempt_at, id) INCLUDE (status, lease_until, entity_key)
              WHERE status IN (0, 1);
            CREATE INDEX commands_status ON commands (status, kind);
            CREATE INDEX commands_target_status ON commands (target, status, created_at);
            CREATE TABLE bindings (
              source_system text NOT NULL, source_kind text NOT NULL, source_id text NOT NULL, target text NOT NULL,
              model text NOT NULL, target_id text NOT NULL, updated_at bigint NOT NULL,
              PRIMARY KEY (source_system, source_kind, source_id, target));
            """
        ),
        (
            "v1-operations",
            """
            CREATE TABLE cursors (name text PRIMARY KEY, value text NOT NULL, updated_at bigint NOT NULL);
            CREATE TABLE audit (
              id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at bigint NOT NULL, actor text NOT NULL,
              action text NOT NULL, detail text NOT NULL);
            """
        ),
        // Cluster-wide token buckets, one row per target: every node takes its tokens here, so the sum of the nodes
        // never exceeds the configured rate.
        (
            "v1-rate-buckets",
            """
            CREATE TABLE rate_buckets (
              target text PRIMARY KEY, tokens double precision NOT NULL, updated_at bigint NOT NULL,
              paused_until bigint NOT NULL DEFAULT 0);
            """
        ),
        // Retention prunes finished rows oldest first, in bounded batches.
        (
            "v1-retention-indexes",
            """
            CREATE INDEX events_done_processed ON events (processed_at) WHERE status = 2;
            CREATE INDEX commands_delivered_at ON commands (delivered_at) WHERE status = 2;
            """
        ),
        // Queue tables churn: every event and command is inserted, updated two or three times and later pruned. The
        // default thresholds (a fifth of the table changed) leave the planner's picture of the backlog minutes old and
        // the partial indexes full of dead entries; analyse and vacuum them after a few percent instead.
        (
            "v2-queue-autovacuum",
            """
            ALTER TABLE events SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.01);
            ALTER TABLE commands SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.01);
            ALTER TABLE aggregates SET (autovacuum_vacuum_scale_factor = 0.05);
            ALTER TABLE rate_buckets SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
            """
        ),
        // Entitlement lookups by a desk's or Odoo's own id read the bindings backwards.
        (
            "v3-binding-lookup",
            """
            CREATE INDEX bindings_by_record ON bindings (target, model, target_id);
            """
        ),
        // A claim checks that no later command of the entity is in flight (one a replay put behind it) through its
        // own small index, so the head check keeps its range over `commands_active`.
        (
            "v4-inflight-commands",
            """
            CREATE INDEX commands_inflight ON commands (target, entity_key, id) WHERE status = 1;
            """
        ),
    ]
}
