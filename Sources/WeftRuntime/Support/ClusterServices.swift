public import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization
public import WeftCore

/// Rings this node's doorbells when another node sharing the store stored events or wrote commands (PostgreSQL
/// `LISTEN`/`NOTIFY`), so idle workers wake at once instead of polling.
public struct ClusterWakeUpService: Service {
    let coordination: any ClusterCoordination
    let events: Doorbell
    let commands: Doorbell

    public init(coordination: any ClusterCoordination, events: Doorbell, commands: Doorbell) {
        self.coordination = coordination
        self.events = events
        self.commands = commands
    }

    public func run() async throws {
        let events = events
        let commands = commands
        try? await cancelWhenGracefulShutdown {
            try await coordination.listen(events: { events.ring() }, commands: { commands.ring() })
        }
    }
}

/// Runs `body` on one node of the cluster at a time when the store coordinates several nodes; directly otherwise.
public struct SingleLeader: Sendable {
    let coordination: (any ClusterCoordination)?
    let retryEvery: Duration

    public init(store: any Store, retryEvery: Duration = .seconds(2)) {
        self.coordination = store as? any ClusterCoordination
        self.retryEvery = retryEvery
    }

    public func run(_ job: String, body: @escaping @Sendable () async throws -> Void) async throws {
        guard let coordination else { return try await body() }
        try await coordination.lead(job, retryEvery: retryEvery, body: body)
    }
}

/// Deletes finished history older than the configured age, in bounded batches, on one node at a time. Failed events,
/// dead commands, aggregates, bindings and the audit log are kept until an operator acts.
public struct RetentionService: Service {
    let store: any Store
    let after: Duration
    let batch: Int
    let interval: Duration
    let logger: Logger

    public init(store: any Store, after: Duration, batch: Int, interval: Duration, logger: Logger) {
        self.store = store
        self.after = after
        self.batch = batch
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        let leader = SingleLeader(store: store)
        try? await cancelWhenGracefulShutdown {
            try await leader.run("retention") {
                while !Task.isCancelled {
                    do {
                        let pruned = try await pruneOnce(now: Date())
                        if pruned.events + pruned.commands > 0 {
                            logger.info(
                                "pruned finished history",
                                metadata: ["weft.events": "\(pruned.events)", "weft.commands": "\(pruned.commands)"])
                        }
                    } catch {
                        logger.warning("pruning failed; will try again", metadata: ["weft.error": "\(error)"])
                    }
                    try await Task.sleep(for: interval)
                }
            }
        }
    }

    /// Prunes batch after batch until a batch comes back short. Returns the totals.
    @discardableResult
    public func pruneOnce(now: Date) async throws -> PruneCounts {
        let cutoff = now.addingTimeInterval(-(Double(after.components.seconds) + Double(after.components.attoseconds) / 1e18))
        var total = PruneCounts()
        while !Task.isCancelled {
            let counts = try await store.prune(before: cutoff, limit: batch)
            total.events += counts.events
            total.commands += counts.commands
            if counts.events < batch && counts.commands < batch { break }
        }
        return total
    }
}

/// A `RequestGate` whose token bucket lives in the shared store: the configured rate holds for the sum of all nodes
/// sending to one target, and a 429 seen by one node pauses them all.
public final class ClusterRateGate: RequestGate {
    let coordination: any ClusterCoordination
    let bucket: String
    let limit: RateLimit
    let defaultPause: Duration
    let logger: Logger
    let onWait: @Sendable (Duration) -> Void
    /// When the pause of the last 429 this node received ends: a request whose token falls inside it waits for its
    /// end and takes another token then (the cluster's record of the pause may still be being written).
    private let pausedUntil = Mutex<ContinuousClock.Instant?>(nil)

    public init(
        coordination: any ClusterCoordination, bucket: String, limit: RateLimit, defaultPause: Duration = .seconds(1),
        logger: Logger, onWait: @escaping @Sendable (Duration) -> Void = { _ in }
    ) {
        self.coordination = coordination
        self.bucket = bucket
        self.limit = limit
        self.defaultPause = defaultPause
        self.logger = logger
        self.onWait = onWait
    }

    public func acquire() async throws {
        while true {
            try Task.checkCancellation()
            let wait: Duration?
            do {
                wait = try await coordination.takeToken(bucket: bucket, perSecond: limit.perSecond, burst: limit.burst)
            } catch {
                // The store is unreachable: sending now could exceed the cluster's rate. Wait and ask again.
                logger.warning("cannot take a rate token; waiting", metadata: ["weft.error": "\(error)"])
                try await Task.sleep(for: .seconds(1))
                continue
            }
            // The token is ours; it may be used once its turn comes.
            if let wait, wait > .zero {
                onWait(wait)
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            }
            let (now, until) = (ContinuousClock.now, pausedUntil.withLock { $0 })
            guard let until, until > now else { return }
            // Its turn fell inside a pause this node knows of: wait for the pause's end, then take another token.
            onWait(now.duration(to: until))
            try await cancelWhenGracefulShutdown { try await Task.sleep(until: until) }
        }
    }

    public func didReceiveRateLimit(retryAfter: Duration?) {
        let pause = min(retryAfter ?? defaultPause, RateGate.longestPause)
        pausedUntil.withLock { pausedUntil in
            let until = ContinuousClock.now.advanced(by: pause)
            if pausedUntil.map({ until > $0 }) ?? true { pausedUntil = until }
        }
        let coordination = coordination
        let bucket = bucket
        let logger = logger
        Task {
            do {
                try await coordination.pause(bucket: bucket, for: pause)
            } catch {
                logger.warning("cannot record a 429 pause for the cluster", metadata: ["weft.error": "\(error)"])
            }
        }
    }
}
