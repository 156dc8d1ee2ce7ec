import GRDB
public import WeftCore

extension SQLiteStore {
    /// One range scan of the aggregates' primary key: `[prefix, prefix + U+10FFFF)` in byte order holds exactly the keys
    /// that start with `prefix` (but for a key whose next character would be U+10FFFF, a noncharacter no system puts
    /// in an id); no `LIKE`, so `_` and `%` are plain characters.
    public func aggregateKeys(prefix: String, after: EntityKey?, limit: Int) async throws -> [EntityKey] {
        guard limit > 0 else { return [] }
        // One lower bound, so the scan starts where the previous page ended: `after` when it is past `prefix` (a key of
        // the previous page always is), else `prefix` itself.
        let lower: (operator: String, value: String) =
            if let after, !after.rawValue.utf8.lexicographicallyPrecedes(prefix.utf8) { (">", after.rawValue) } else { (">=", prefix) }
        do {
            return try await pool.read { db in
                try String.fetchAll(
                    db,
                    sql: """
                        SELECT entity_key FROM aggregates WHERE entity_key \(lower.operator) ? AND entity_key < ?
                        ORDER BY entity_key LIMIT ?
                        """,
                    arguments: [lower.value, prefix + "\u{10FFFF}", limit]
                ).map(EntityKey.init(rawValue:))
            }
        } catch {
            throw SQLiteStoreError.read("list aggregate keys", error)
        }
    }
}
