import Foundation
import Synchronization
import WeftCore

/// What the entitlement lookup keeps between requests, so a lookup costs one indexed version read instead of reading
/// and decoding the whole aggregate: the entitlement derived from each account's aggregate at a stored version. A
/// newer version in the store (from this node or any other) replaces it. Bounded: past `capacity` accounts it starts
/// over.
final class EntitlementCache: Sendable {
    struct Entry: Sendable {
        var version: Int64
        var entitlement: Entitlement
        var asOf: Date?
    }

    private let entries = Mutex<[EntityKey: Entry]>([:])
    let capacity: Int

    init(capacity: Int = 200_000) {
        self.capacity = capacity
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
