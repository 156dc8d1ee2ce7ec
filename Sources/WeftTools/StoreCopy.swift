public import Logging
import WeftCore
public import WeftStorePostgres
public import WeftStoreSQLite

/// `weft store copy`: moves a single-node install (SQLite file) to PostgreSQL. Every table is copied in key order in
/// batches; each row keeps its key (events keep their sequence numbers, commands their ids), and a row the target
/// already holds is overwritten with the source's, so nothing is lost or doubled and an interrupted copy, run again,
/// resumes after the last batch it recorded (`weft.store_copy.<table>` cursors in the target) and converges.
///
/// Run it with `weft serve` stopped on the SQLite file (so the source does not change under the copy) and before any
/// node serves the PostgreSQL database.
public struct StoreCopy: Sendable {
    public struct Progress: Sendable {
        public var table: String
        public var copied: Int
        public var total: Int
    }

    let source: SQLiteStore
    let target: PostgresStore
    let batchSize: Int
    let logger: Logger

    public init(source: SQLiteStore, target: PostgresStore, batchSize: Int = 2_000, logger: Logger) {
        self.source = source
        self.target = target
        self.batchSize = batchSize
        self.logger = logger
    }

    /// Copies every table; `progress` is called after each batch. Returns the per-table row counts of both stores
    /// after the copy (they must be equal).
    @discardableResult
    public func run(progress: @Sendable (Progress) -> Void = { _ in }) async throws -> [(table: String, source: Int, target: Int)] {
        var counts: [(table: String, source: Int, target: Int)] = []
        for table in StoreCopyTable.all {
            let total = try await source.rowCount(table)
            let cursorName = "weft.store_copy.\(table.name)"
            var after = try await target.cursor(cursorName)
            var copied = 0
            while true {
                let batch = try await source.exportBatch(table, after: after, limit: batchSize)
                guard batch.count > 0, let last = batch.lastKey else { break }
                try await target.importBatch(table, batch)
                try await target.setCursor(cursorName, to: last)
                after = last
                copied += batch.count
                progress(Progress(table: table.name, copied: copied, total: total))
            }
            counts.append((table.name, total, try await target.rowCount(table)))
        }
        try await target.advanceIdentities()
        return counts
    }
}
