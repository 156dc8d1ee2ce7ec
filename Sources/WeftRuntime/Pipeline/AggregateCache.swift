import Synchronization
public import WeftCore

/// The decoded aggregates this node committed last, so the next event of the same entity skips reading and decoding
/// its state again. Never trusted blindly: the pipeline passes the cached versions to
/// `Store.loadAggregates(_:known:)`, and only a key whose stored version is still the cached one is served from
/// here. Bounded; the oldest entries go first.
public final class AggregateCache: Sendable {
    private struct State {
        var entries: [EntityKey: StoredAggregate] = [:]
        var order: [EntityKey] = []
        var head = 0
    }

    private let state = Mutex(State())
    /// Most entries kept.
    public let capacity: Int

    public init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// The cached aggregates among `keys`.
    public func entries(for keys: [EntityKey]) -> [EntityKey: StoredAggregate] {
        state.withLock { state in
            var found: [EntityKey: StoredAggregate] = [:]
            for key in keys { if let entry = state.entries[key] { found[key] = entry } }
            return found
        }
    }

    /// Keeps `aggregate` as the latest committed state of `key`.
    public func store(_ aggregate: StoredAggregate, for key: EntityKey) {
        guard capacity > 0 else { return }
        state.withLock { state in
            if state.entries.updateValue(aggregate, forKey: key) == nil { state.order.append(key) }
            while state.entries.count > capacity, state.head < state.order.count {
                state.entries[state.order[state.head]] = nil
                state.head += 1
            }
            if state.head > capacity {
                state.order.removeFirst(state.head)
                state.head = 0
            }
        }
    }

    /// Forgets `keys` (their stored state moved on elsewhere, or is gone).
    public func forget(_ keys: some Sequence<EntityKey>) {
        state.withLock { state in
            for key in keys { state.entries[key] = nil }
        }
    }

    /// How many aggregates are cached.
    public var count: Int { state.withLock { $0.entries.count } }
}
