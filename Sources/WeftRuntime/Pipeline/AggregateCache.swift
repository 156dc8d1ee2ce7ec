import Synchronization
public import WeftCore

/// The decoded aggregates this node committed last, so the next event of the same entity skips reading and decoding
/// its state again. Never trusted blindly: the pipeline passes the cached versions to
/// `Store.loadAggregates(_:known:)`, and only a key whose stored version is still the cached one is served from
/// here. Bounded in entries and in records (a customer with years of invoices weighs what it holds, so memory stays
/// bounded however old the customers are); the entries stored first go first (an update keeps an entry's place; one
/// forgotten and stored again is new).
public final class AggregateCache: Sendable {
    private struct State {
        var entries: [EntityKey: (aggregate: StoredAggregate, weight: Int, place: Int)] = [:]
        /// Keys in the order they were stored, each with the place it was stored at: a key forgotten (or evicted) and
        /// stored again is here twice, and only its latest place stands for it.
        var order: [(key: EntityKey, place: Int)] = []
        var head = 0
        var places = 0
        /// The records of every entry together.
        var weight = 0
    }

    private let state = Mutex(State())
    /// Most entries kept.
    public let capacity: Int
    /// Most records kept, over all entries (an aggregate holding more than this is not kept at all).
    public let recordCapacity: Int

    public init(capacity: Int, records: Int = AggregateCache.defaultRecordCapacity) {
        self.capacity = max(0, capacity)
        self.recordCapacity = max(0, records)
    }

    /// About 6 KB of memory per decoded record: some 100 MB at most.
    public static let defaultRecordCapacity = 16_384
    /// Aggregates kept when nothing else is said.
    public static let defaultCapacity = 1_024

    /// The pipeline's cache: the default number of aggregates, holding at most `records` records between them (none at
    /// all for 0, `pipeline.cache_records`).
    public convenience init(records: Int) {
        self.init(capacity: records > 0 ? Self.defaultCapacity : 0, records: records)
    }

    /// The cached aggregates among `keys`.
    public func entries(for keys: [EntityKey]) -> [EntityKey: StoredAggregate] {
        state.withLock { state in
            var found: [EntityKey: StoredAggregate] = [:]
            for key in keys { if let entry = state.entries[key] { found[key] = entry.aggregate } }
            return found
        }
    }

    /// Keeps `aggregate` as the latest committed state of `key`.
    public func store(_ aggregate: StoredAggregate, for key: EntityKey) {
        guard capacity > 0 else { return }
        let weight = max(1, aggregate.aggregate.records.count)
        state.withLock { state in
            if let previous = state.entries[key] {
                state.entries[key] = (aggregate, weight, previous.place)
                state.weight -= previous.weight
            } else {
                state.places += 1
                state.entries[key] = (aggregate, weight, state.places)
                state.order.append((key, state.places))
            }
            state.weight += weight
            while state.entries.count > capacity || state.weight > recordCapacity, state.head < state.order.count {
                let (oldest, place) = state.order[state.head]
                state.head += 1
                guard state.entries[oldest]?.place == place else { continue }
                if let evicted = state.entries.removeValue(forKey: oldest) { state.weight -= evicted.weight }
            }
            if state.head > capacity {
                state.order.removeFirst(state.head)
                state.head = 0
            }
            // Keys forgotten and stored again leave stale places behind that no eviction reaches while the cache is
            // not full: drop them once they outnumber the live entries.
            if state.order.count - state.head > 2 * state.entries.count + 64 {
                state.order = state.order[state.head...].filter { state.entries[$0.key]?.place == $0.place }
                state.head = 0
            }
        }
    }

    /// Forgets `keys` (their stored state moved on elsewhere, or is gone).
    public func forget(_ keys: some Sequence<EntityKey>) {
        state.withLock { state in
            for key in keys {
                if let forgotten = state.entries.removeValue(forKey: key) { state.weight -= forgotten.weight }
            }
        }
    }

    /// How many places the eviction order holds, stale ones included (tests: it stays near `count`).
    var orderLength: Int { state.withLock { $0.order.count - $0.head } }

    /// How many aggregates are cached.
    public var count: Int { state.withLock { $0.entries.count } }

    /// How many records the cached aggregates hold together.
    public var records: Int { state.withLock { $0.weight } }
}
