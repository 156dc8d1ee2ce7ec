public import Foundation
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
        /// A recheck event was appended for `entitlement.nextChangeAt`.
        var recheckQueued = false
        /// The last answer written for it: reused while the view (day count, stale flag) stays the same.
        var rendered: Rendered?
    }

    struct Rendered: Sendable {
        var view: EntitlementView
        var body: [UInt8]
    }

    private let entries = Mutex<[EntityKey: Entry]>([:])
    /// When each watched billing platform was last reached, as stored in its reach cursor: kept here only when this
    /// process is the store's only writer (the cursor then moves only through `reached`).
    private let reachedAt = Mutex<[SystemName: Date]>([:])
    let capacity: Int
    /// Whether every write to the aggregates passes `invalidate` first (this process is the store's only writer).
    let trustsLocalCommits: Bool

    public init(capacity: Int = 200_000, trustsLocalCommits: Bool = false) {
        self.capacity = capacity
        self.trustsLocalCommits = trustsLocalCommits
    }

    /// The accounts whose entitlement changes with the clock by `now` (a grace period ended), marked as queued so the
    /// next call does not return them again.
    func takeDue(now: Date) -> [(key: EntityKey, at: Date)] {
        entries.withLock { entries in
            var due: [(key: EntityKey, at: Date)] = []
            for (key, entry) in entries where !entry.recheckQueued {
                if let at = entry.entitlement.nextChangeAt, at <= now { due.append((key, at)) }
            }
            for (key, _) in due { entries[key]?.recheckQueued = true }
            return due
        }
    }

    /// The rechecks of `keys` could not be queued: offer them again.
    func requeue(_ keys: [EntityKey]) {
        entries.withLock { entries in
            for key in keys { entries[key]?.recheckQueued = false }
        }
    }

    /// The aggregates of `keys` were just committed: what was derived from them is out of date.
    public func invalidate(_ keys: [EntityKey]) {
        entries.withLock { entries in
            for key in keys { entries[key] = nil }
        }
    }

    /// The pipeline committed these aggregates: derive the entitlements of the billing customers among them now, while
    /// they are decoded in memory, so no lookup has to read and decode them; other keys are only invalidated.
    public func committed(
        _ aggregates: [(key: EntityKey, aggregate: StoredAggregate)], billingSystems: Set<SystemName>, rules: EntitlementRules,
        now: Date = Date()
    ) {
        let derived = aggregates.map { key, stored -> (EntityKey, Entry?) in
            guard let account = key.customerRef, billingSystems.contains(account.system) else { return (key, nil) }
            return (key, Self.entry(account: account, stored: stored, rules: rules, now: now))
        }
        entries.withLock { entries in
            for (key, entry) in derived {
                if let entry {
                    if entries.count >= capacity && entries[key] == nil { entries.removeAll(keepingCapacity: true) }
                    entries[key] = entry
                } else {
                    entries[key] = nil
                }
            }
        }
    }

    /// The entitlement of `account` derived from its stored aggregate, with the latest source instant Weft holds.
    static func entry(account: ExternalRef, stored: StoredAggregate, rules: EntitlementRules, now: Date) -> Entry {
        let derived = EntitlementRule.derive(account: account, from: stored.aggregate, rules: rules, now: now)
        let latest = stored.aggregate.records.values.flatMap(\.versions.values).max()
        return Entry(
            version: stored.version, entitlement: derived,
            asOf: latest.map { Date(timeIntervalSince1970: Double($0.millis) / 1000) })
    }

    func entry(_ key: EntityKey) -> Entry? { entries.withLock { $0[key] } }

    /// The JSON of `view`, derived from `entry` (as read for `key`): the bytes written last time when the view is the
    /// same, else rendered now and kept with the entry (unless the entry changed meanwhile).
    func body(of view: EntitlementView, entry: Entry, key: EntityKey) -> [UInt8] {
        if let rendered = entry.rendered, rendered.view == view { return rendered.body }
        let body = view.jsonBytes()
        entries.withLock { entries in
            if entries[key]?.version == entry.version { entries[key]?.rendered = Rendered(view: view, body: body) }
        }
        return body
    }

    /// `system`'s catch-up reached it at `date` (or the reach cursor read from the store says so).
    public func reached(_ system: SystemName, at date: Date) {
        guard trustsLocalCommits else { return }
        reachedAt.withLock { reached in
            if reached[system].map({ $0 < date }) ?? true { reached[system] = date }
        }
    }

    /// When `system` was last reached, if this process knows it without reading the store.
    func reachedAt(_ system: SystemName) -> Date? { reachedAt.withLock { $0[system] } }

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
