/// The counts of terminal rows (done events; delivered and superseded commands per target) that the store's triggers
/// keep in `terminal_counts`, so that statistics never count the history. See docs/storage.md.
enum TerminalCountsSQL {
    /// Creates the table, counts what is there once and creates the triggers, in the migration's transaction: no write
    /// can come between the count and the triggers.
    static let sqlite = """
        CREATE TABLE terminal_counts (
          queue TEXT NOT NULL, target TEXT NOT NULL, status INTEGER NOT NULL, n INTEGER NOT NULL,
          PRIMARY KEY (queue, target, status)) WITHOUT ROWID;
        INSERT INTO terminal_counts (queue, target, status, n) SELECT 'events', '', 2, count(*) FROM events WHERE status = 2;
        INSERT INTO terminal_counts (queue, target, status, n)
          SELECT 'commands', target, status, count(*) FROM commands WHERE status IN (2, 4) GROUP BY target, status;
        CREATE TRIGGER events_done_inserted AFTER INSERT ON events WHEN NEW.status = 2 BEGIN
          \(add("'events'", "''", "2", "1"));
        END;
        CREATE TRIGGER events_done_changed AFTER UPDATE OF status ON events WHEN (OLD.status = 2) <> (NEW.status = 2) BEGIN
          \(add("'events'", "''", "2", "CASE WHEN NEW.status = 2 THEN 1 ELSE -1 END"));
        END;
        CREATE TRIGGER events_done_deleted AFTER DELETE ON events WHEN OLD.status = 2 BEGIN
          \(add("'events'", "''", "2", "-1"));
        END;
        CREATE TRIGGER commands_terminal_inserted AFTER INSERT ON commands WHEN NEW.status IN (2, 4) BEGIN
          \(add("'commands'", "NEW.target", "NEW.status", "1"));
        END;
        CREATE TRIGGER commands_terminal_changed AFTER UPDATE OF status ON commands
          WHEN OLD.status <> NEW.status AND (OLD.status IN (2, 4) OR NEW.status IN (2, 4)) BEGIN
          \(add("'commands'", "OLD.target", "OLD.status", "-1", when: "OLD.status IN (2, 4)"));
          \(add("'commands'", "NEW.target", "NEW.status", "1", when: "NEW.status IN (2, 4)"));
        END;
        CREATE TRIGGER commands_terminal_deleted AFTER DELETE ON commands WHEN OLD.status IN (2, 4) BEGIN
          \(add("'commands'", "OLD.target", "OLD.status", "-1"));
        END;
        """

    /// Adds `delta` to one count, creating its row. (An upsert on `INSERT … SELECT` needs its `WHERE`.)
    private static func add(_ queue: String, _ target: String, _ status: String, _ delta: String, when: String = "1")
        -> String
    {
        """
        INSERT INTO terminal_counts (queue, target, status, n) SELECT \(queue), \(target), \(status), \(delta) WHERE \(when)
          ON CONFLICT (queue, target, status) DO UPDATE SET n = n + excluded.n
        """
    }
}
