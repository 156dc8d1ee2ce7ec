import PostgresNIO
public import WeftCore

extension PostgresStore {
    /// One range scan of the aggregates' primary key, `[prefix, prefix || U+10FFFF)` in the column's collation, with
    /// `starts_with` keeping the page to keys that truly start with `prefix`. With the C collation (`initdb
    /// --no-locale`, as scripts/postgres makes) the range alone is exact (but for a key whose next character would be
    /// U+10FFFF, a noncharacter no system puts in an id). No `LIKE`, so `_` and `%` are plain characters.
    public func aggregateKeys(prefix: String, after: EntityKey?, limit: Int) async throws -> [EntityKey] {
        guard limit > 0 else { return [] }
        let upper = prefix + "\u{10FFFF}"
        let count = Int64(limit)
        // One lower bound, so the scan starts where the previous page ended: `after` when it is past `prefix` (a key of
        // the previous page always is), else `prefix` itself.
        let rows: [PostgresRow]
        if let after, !after.rawValue.utf8.lexicographicallyPrecedes(prefix.utf8) {
            rows = try await self.rows(
                "list aggregate keys",
                """
                SELECT entity_key FROM aggregates
                WHERE entity_key > \(after.rawValue) AND entity_key < \(upper) AND starts_with(entity_key, \(prefix))
                ORDER BY entity_key LIMIT \(count)
                """)
        } else {
            rows = try await self.rows(
                "list aggregate keys",
                """
                SELECT entity_key FROM aggregates
                WHERE entity_key >= \(prefix) AND entity_key < \(upper) AND starts_with(entity_key, \(prefix))
                ORDER BY entity_key LIMIT \(count)
                """)
        }
        return try rows.map { EntityKey(try $0.decode(String.self)) }
    }
}
