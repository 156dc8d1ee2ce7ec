public import Foundation
import Synchronization
public import WeftCore

/// What the entitlement lookup keeps between requests: the entitlement derived from each account's aggregate at a
/// stored version, so a lookup does not read and decode the whole aggregate again.
///
/// - With a store other nodes write too (PostgreSQL), every lookup still reads the stored version (one indexed read)
///   and derives again when it moved.
/// - With a store only this process writes (SQLite: one `weft serve` per file), the pipeline tells the cache which
///   aggregates a commit may change before it starts (`willCommit`: those keys are read from the store meanwhile) and
///   what it changed once it has ended (`committed`, `didCommit`), so a cached entry is current while it is answered
///   and a lookup reads nothing.
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

    /// The derived entries, and the keys whose aggregates a commit in progress may change (with how many such
    /// commits): their entries are not answered or stored until it has ended (`willCommit`, `didCommit`).
    private struct State {
        var entries: [EntityKey: Entry] = [:]
        var committing: [EntityKey: Int] = [:]
    }

    private let state = Mutex(State())
    /// When each watched billing platform was last reached, as stored in its reach cursor: kept here only when this
    /// process is the store's only writer (the cursor then moves only through `reached`).
    private let reachedAt = Mutex<[SystemName: Date]>([:])
    let capacity: Int
    /// Whether every write to the aggregates is announced first (`willCommit`: this process is the store's only
    /// writer).
    let trustsLocalCommits: Bool

    public init(capacity: Int = 200_000, trustsLocalCommits: Bool = false) {
        self.capacity = capacity
        self.trustsLocalCommits = trustsLocalCommits
    }

    /// The accounts whose entitlement changes with the clock by `now` (a grace period ended), marked as queued so the
    /// next call does not return them again.
    func takeDue(now: Date) -> [(key: EntityKey, at: Date)] {
        state.withLock { state in
            var due: [(key: EntityKey, at: Date)] = []
            for (key, entry) in state.entries where !entry.recheckQueued {
                if let at = entry.entitlement.nextChangeAt, at <= now { due.append((key, at)) }
            }
            for (key, _) in due { state.entries[key]?.recheckQueued = true }
            return due
        }
    }

    /// The rechecks of `keys` could not be queued: offer them again.
    func requeue(_ keys: [EntityKey]) {
        state.withLock { state in
            for key in keys { state.entries[key]?.recheckQueued = false }
        }
    }

    /// The aggregates of `keys` were just committed: what was derived from them is out of date.
    public func invalidate(_ keys: [EntityKey]) {
        state.withLock { state in
            for key in keys { state.entries[key] = nil }
        }
    }

    /// A commit that may change the aggregates of `keys` is about to start. The store shows its states to every reader
    /// as soon as it commits, before `committed` derives them here: until `didCommit`, lookups of these keys read the
    /// store, and what they derive is not kept (it may be older than what the commit leaves).
    public func willCommit(_ keys: [EntityKey]) {
        state.withLock { state in
            for key in keys {
                state.committing[key, default: 0] += 1
                state.entries[key] = nil
            }
        }
    }

    /// The commit announced for `keys` has ended (after `committed` or `invalidate` told what it changed).
    public func didCommit(_ keys: [EntityKey]) {
        state.withLock { state in
            for key in keys {
                guard let count = state.committing[key] else { continue }
                state.committing[key] = count > 1 ? count - 1 : nil
            }
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
        state.withLock { state in
            for (key, entry) in derived {
                if let entry {
                    if state.entries.count >= capacity && state.entries[key] == nil {
                        state.entries.removeAll(keepingCapacity: true)
                    }
                    state.entries[key] = entry
                } else {
                    state.entries[key] = nil
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

    /// The entry of `key`, unless a commit that may change its aggregate is in progress.
    func entry(_ key: EntityKey) -> Entry? {
        state.withLock { state in state.committing[key] == nil ? state.entries[key] : nil }
    }

    /// The JSON of `view`, derived from `entry` (as read for `key`): the bytes written last time when the view is the
    /// same, else rendered now and kept with the entry (unless the entry changed meanwhile).
    func body(of view: EntitlementView, entry: Entry, key: EntityKey) -> [UInt8] {
        if let rendered = entry.rendered, rendered.view == view { return rendered.body }
        let body = view.jsonBytes()
        state.withLock { state in
            if state.entries[key]?.version == entry.version { state.entries[key]?.rendered = Rendered(view: view, body: body) }
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

    /// Keeps `entry`, derived by a lookup from the stored aggregate: not while a commit of the key is in progress, nor
    /// over an entry of a later version (the lookup read the store before a commit that has since been derived here).
    func store(_ entry: Entry, for key: EntityKey) {
        state.withLock { state in
            guard state.committing[key] == nil, (state.entries[key]?.version ?? .min) <= entry.version else { return }
            if state.entries.count >= capacity && state.entries[key] == nil { state.entries.removeAll(keepingCapacity: true) }
            state.entries[key] = entry
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
