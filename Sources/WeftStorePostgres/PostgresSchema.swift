import Foundation

/// The PostgreSQL schema, as named migrations applied in order. Migrations are only ever appended. `weft migrate` (and
/// a node that opens the store with `migrate: auto`) applies the pending ones, each in its own transaction under a
/// transaction-scoped advisory lock, so nodes starting together, or a `weft migrate` run while nodes are up, apply
/// each migration exactly once. Every migration is additive (new tables, new indexes, new nullable columns), so nodes
/// of the previous version keep working while it is applied. The layout is described in docs/storage.md.
enum PostgresSchema {
    /// The advisory lock key migrations are applied under (`'weft.migrate'` hashed, fixed forever).
    static let migrationLock: Int64 = 0x5745_4654_4D49_4752

    /// The statements of a migration: split at each `;` outside a dollar-quoted (`$$ … $$`) function body.
    static func statements(of sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var quoted = false
        var rest = Substring(sql)
        while let character = rest.first {
            if rest.hasPrefix("$$") {
                quoted.toggle()
                current += "$$"
                rest = rest.dropFirst(2)
                continue
            }
            rest = rest.dropFirst()
            if character == ";" && !quoted {
                statements.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        statements.append(current)
        return statements.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
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
        // Metrics read how many events are done and how many commands delivered or superseded on every scrape. Those
        // rows are most of what retention keeps, so counting them grew with the history. Row triggers, which fire only
        // when a row enters or leaves one of those statuses, append each change to `terminal_count_changes` (appended,
        // so that nodes committing at once never wait on one hot row); `foldTerminalCounts` moves the changes into
        // `terminal_counts` now and then. Creating the triggers locks both tables against writes until the migration
        // commits, so the first count and the triggers see the same rows.
        (
            "v5-terminal-counts",
            """
            CREATE TABLE terminal_counts (
              queue text NOT NULL, target text NOT NULL, status smallint NOT NULL, n bigint NOT NULL,
              PRIMARY KEY (queue, target, status));
            CREATE TABLE terminal_count_changes (
              id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, queue text NOT NULL, target text NOT NULL,
              status smallint NOT NULL, delta integer NOT NULL);
            CREATE FUNCTION weft_count_terminal_event() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 2 THEN
                INSERT INTO terminal_count_changes (queue, target, status, delta) VALUES ('events', '', 2, -1);
              END IF;
              IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status = 2 THEN
                INSERT INTO terminal_count_changes (queue, target, status, delta) VALUES ('events', '', 2, 1);
              END IF;
              RETURN NULL;
            END
            $$;
            CREATE FUNCTION weft_count_terminal_command() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status IN (2, 4) THEN
                INSERT INTO terminal_count_changes (queue, target, status, delta)
                VALUES ('commands', OLD.target, OLD.status, -1);
              END IF;
              IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status IN (2, 4) THEN
                INSERT INTO terminal_count_changes (queue, target, status, delta)
                VALUES ('commands', NEW.target, NEW.status, 1);
              END IF;
              RETURN NULL;
            END
            $$;
            CREATE TRIGGER events_done_inserted AFTER INSERT ON events
              FOR EACH ROW WHEN (NEW.status = 2) EXECUTE FUNCTION weft_count_terminal_event();
            CREATE TRIGGER events_done_changed AFTER UPDATE OF status ON events
              FOR EACH ROW WHEN ((OLD.status = 2) <> (NEW.status = 2)) EXECUTE FUNCTION weft_count_terminal_event();
            CREATE TRIGGER events_done_deleted AFTER DELETE ON events
              FOR EACH ROW WHEN (OLD.status = 2) EXECUTE FUNCTION weft_count_terminal_event();
            CREATE TRIGGER commands_terminal_inserted AFTER INSERT ON commands
              FOR EACH ROW WHEN (NEW.status IN (2, 4)) EXECUTE FUNCTION weft_count_terminal_command();
            CREATE TRIGGER commands_terminal_changed AFTER UPDATE OF status ON commands
              FOR EACH ROW WHEN (OLD.status <> NEW.status AND (OLD.status IN (2, 4) OR NEW.status IN (2, 4)))
              EXECUTE FUNCTION weft_count_terminal_command();
            CREATE TRIGGER commands_terminal_deleted AFTER DELETE ON commands
              FOR EACH ROW WHEN (OLD.status IN (2, 4)) EXECUTE FUNCTION weft_count_terminal_command();
            INSERT INTO terminal_counts (queue, target, status, n) SELECT 'events', '', 2, count(*) FROM events WHERE status = 2;
            INSERT INTO terminal_counts (queue, target, status, n)
              SELECT 'commands', target, status, count(*) FROM commands WHERE status IN (2, 4) GROUP BY target, status;
            ALTER TABLE terminal_count_changes SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
            """
        ),
    ]
}
