import Foundation

/// What a store shared by several nodes offers beyond `Store` (PostgreSQL): leadership for jobs that must run on one
/// node at a time, wake-ups when another node stored work, and token buckets that hold for the whole cluster. A store
/// used by one node (SQLite) does not conform; the runtime then runs jobs directly, rings its own doorbells and limits
/// rates in process.
public protocol ClusterCoordination: Sendable {
    /// Runs `body` while this node leads `job`. Waits (retrying every `retryEvery`) until no other node leads it; while
    /// leading, checks every `retryEvery` that leadership still holds and cancels `body` when it is lost (the database
    /// went away, so another node may lead now). Returns when `body` returns; leadership is then given up.
    func lead(_ job: String, retryEvery: Duration, body: @escaping @Sendable () async throws -> Void) async throws

    /// Listens for other nodes' work until cancelled: `events` is called when events were stored or made pending,
    /// `commands` when commands were written or made due. Both are also called after every (re)connection, since
    /// notifications sent meanwhile are lost.
    func listen(events: @escaping @Sendable () -> Void, commands: @escaping @Sendable () -> Void) async throws

    /// Takes one token from the cluster-wide bucket of `bucket` (rate `perSecond`, capacity `burst`), using the
    /// database's clock. Always grants: returns `nil` when the token may be used now, or how long to wait before
    /// using it (the bucket is in debt, or paused after a 429).
    func takeToken(bucket: String, perSecond: Double, burst: Int) async throws -> Duration?

    /// Holds every node's requests through `bucket` for `duration` (the target answered 429).
    func pause(bucket: String, for duration: Duration) async throws
}

/// How many rows one `prune` call deleted.
public struct PruneCounts: Hashable, Sendable {
    public var events: Int
    public var commands: Int

    public init(events: Int = 0, commands: Int = 0) {
        self.events = events
        self.commands = commands
    }
}
