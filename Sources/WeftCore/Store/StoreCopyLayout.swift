/// The tables `weft store copy` moves between stores, with their columns in the same order in both schemas. Instants
/// are integer milliseconds and payloads stay as stored (sealed payloads stay sealed: the target needs the same
/// `store.payload_keys`).
public struct StoreCopyTable: Sendable, Hashable {
    public var name: String
    public var columns: [String]
    /// The primary key, in copy order.
    public var key: [String]
    /// Whether the key is one integer column (copy resumes after the last copied value).
    public var integerKey: Bool
    /// Columns that hold bytes.
    public var blobColumns: Set<String>

    /// The rows the final check counts (the copy's own position cursors are not the source's rows).
    public var countedRows: String {
        name == "cursors" ? "SELECT count(*) FROM cursors WHERE name NOT LIKE 'weft.store\\_copy.%'" : "SELECT count(*) FROM \(name)"
    }

    public static let all: [StoreCopyTable] = [
        StoreCopyTable(
            name: "events",
            columns: [
                "seq", "system", "event_id", "type", "entity_key", "occurred_at", "received_at", "payload", "trace_id",
                "status", "attempts", "lease_owner", "lease_until", "outcome", "processed_at",
            ], key: ["seq"], integerKey: true, blobColumns: ["payload"]),
        StoreCopyTable(
            name: "aggregates", columns: ["entity_key", "state", "version", "updated_at"], key: ["entity_key"],
            integerKey: false, blobColumns: ["state"]),
        StoreCopyTable(
            name: "aliases", columns: ["alias", "entity_key", "created_at"], key: ["alias"], integerKey: false, blobColumns: []),
        StoreCopyTable(
            name: "commands",
            columns: [
                "id", "target", "entity_key", "idempotency_key", "kind", "payload", "trace_id", "status", "attempts",
                "next_attempt_at", "lease_owner", "lease_until", "last_error", "created_at", "delivered_at", "target_model",
                "target_id", "note",
            ], key: ["id"], integerKey: true, blobColumns: ["payload"]),
        StoreCopyTable(
            name: "bindings",
            columns: ["source_system", "source_kind", "source_id", "target", "model", "target_id", "updated_at"],
            key: ["source_system", "source_kind", "source_id", "target"], integerKey: false, blobColumns: []),
        StoreCopyTable(name: "cursors", columns: ["name", "value", "updated_at"], key: ["name"], integerKey: false, blobColumns: []),
        StoreCopyTable(
            name: "audit", columns: ["id", "at", "actor", "action", "detail"], key: ["id"], integerKey: true, blobColumns: []),
    ]
}

/// One batch read from the source store: its rows as a JSON array of objects (bytes as `\x…` hex), and where the next
/// batch starts.
public struct StoreCopyBatch: Sendable {
    public var json: String
    public var count: Int
    /// The last row's key, as JSON text (an array of the key's values).
    public var lastKey: String?

    public init(json: String, count: Int, lastKey: String?) {
        self.json = json
        self.count = count
        self.lastKey = lastKey
    }
}
