import Foundation
import Synchronization
public import WeftCore

/// What the entitlement lookup keeps between requests: the entitlement derived from each account's aggregate at a
/// stored version, so a lookup does not read and decode the whole aggregate again.
///
/// - With a store other nodes write too (PostgreSQL), every lookup still reads the stored version (one indexed read)
///   and derives again when it moved.
/// - With a store only this process writes (SQLite: one `weft serve` per file), the pipeline tells the cache which
///   aggregates it commits (`invalidate`), so a cached entry is current until then and a lookup reads nothing.
///
/// Bounded: past `capacity` accounts it starts over.
public final class EntitlementCache: Sendable {
    struct Entry: Sendable {
        var version: Int64
        var entitlement: Entitlement
        var asOf: Date?
    }

    private let entries = Mutex<[EntityKey: Entry]>([:])
    let capacity: Int
    /// Whether every write to the aggregates passes `invalidate` first (this process is the store's only writer).
    let trustsLocalCommits: Bool

    public init(capacity: Int = 200_000, trustsLocalCommits: Bool = false) {
        self.capacity = capacity
        self.trustsLocalCommits = trustsLocalCommits
    }

    /// The aggregates of `keys` were just committed: what was derived from them is out of date.
    public func invalidate(_ keys: [EntityKey]) {
        entries.withLock { entries in
            for key in keys { entries[key] = nil }
        }
    }

    func entry(_ key: EntityKey) -> Entry? { entries.withLock { $0[key] } }

    func store(_ entry: Entry, for key: EntityKey) {
        entries.withLock { entries in
            if entries.count >= capacity && entries[key] == nil { entries.removeAll(keepingCapacity: true) }
            entries[key] = entry
        }
    }

    /// `entitlement` as of `now`: the overdue day count moves with the clock; the rest only with the records (or at
    /// `nextChangeAt`, which the caller checks).
    static func current(_ entitlement: Entitlement, now: Date) -> Entitlement {
        var current = entitlement
        if let since = current.standing.overdueSince {
            current.standing.overdueDays = max(0, Int(now.timeIntervalSince(since) / 86_400))
        }
        return current
    }
}
