import Foundation
import Synchronization
import WeftCore

/// The instants at which accounts' entitlements change with the clock alone, as the entitlement clock's last sweep of
/// every billing customer found them: one entry per account in a grace period (or whose desks missed the end of one),
/// so it stays as small as the accounts in grace, not as all accounts.
///
/// An entry leaves when its recheck is queued; one that went stale meanwhile (the invoice was paid) only costs a
/// recheck that changes nothing.
final class EntitlementSchedule: Sendable {
    private let instants = Mutex<[EntityKey: Date]>([:])

    /// `key`'s entitlement changes at `instant` (the latest sweep's word replaces an earlier one).
    func set(_ key: EntityKey, at instant: Date) {
        instants.withLock { $0[key] = instant }
    }

    /// The entries due by `now`, removed so the next call does not return them again.
    func takeDue(now: Date) -> [(key: EntityKey, at: Date)] {
        instants.withLock { instants in
            let due = instants.filter { $0.value <= now }.map { (key: $0.key, at: $0.value) }
            for (key, _) in due { instants[key] = nil }
            return due
        }
    }

    /// The rechecks of `entries` could not be queued: offer them again (unless a sweep set a newer instant meanwhile).
    func restore(_ entries: [(key: EntityKey, at: Date)]) {
        instants.withLock { instants in
            for (key, at) in entries where instants[key] == nil { instants[key] = at }
        }
    }

    /// When `key`'s entitlement changes next, if scheduled.
    func instant(of key: EntityKey) -> Date? { instants.withLock { $0[key] } }

    /// How many accounts are scheduled.
    var count: Int { instants.withLock { $0.count } }
}
