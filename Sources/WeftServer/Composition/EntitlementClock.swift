import Foundation
import Logging
import ServiceLifecycle
import WeftCore
import WeftRuntime

/// Pushes entitlements that change with the clock alone: when an account's grace period ends, its support level drops
/// with no new event from billing. Every `interval` the clock takes the accounts whose entitlement changes by now and
/// appends one recheck event each (`PipelineProcessor.recheckType`, keyed by account and instant, so nodes that both
/// see it store it once); the pipeline routes the account again at the new instant and the desks get the new support
/// level through the outbox.
///
/// It knows those accounts from two places:
/// - the cache: every entitlement this node derived at commit since it started (an account that just went overdue);
/// - its schedule, filled by a sweep at start and every `sweepInterval`: it walks every billing customer's aggregate in
///   pages of `pageSize` keys (`Store.aggregateKeys`, then `loadAggregates`), derives each entitlement and keeps only
///   the accounts whose entitlement has a `nextChangeAt`. So an account untouched since a restart, or dropped when the
///   bounded cache started over, is still rechecked. The sweep also schedules, at once, an account whose grace period
///   ended while no node ran and whose desks still show the old level (routing it now would send a desk command):
///   its recheck has the instant the grace period ended, so a recheck queued before is not stored twice.
///
/// The sweep runs in the clock's own task, beside the ticks, reading the store in pages; nothing waits for it. Every
/// node of a cluster runs the clock; the recheck's event id makes their rechecks one.
struct EntitlementClock: Service {
    let cache: EntitlementCache
    let store: any Store
    let events: Doorbell
    /// How often due rechecks are queued.
    let interval: Duration
    /// The systems whose customers are swept (`<system>/customer/…` aggregates).
    let billingSystems: Set<SystemName>
    let rules: EntitlementRules
    /// Routes an account to the desks only, to tell whether they still miss a change (the pipeline's router, limited
    /// to desk flows).
    let deskRouter: CommandRouter
    /// How often every billing customer is swept.
    let sweepInterval: Duration
    /// Keys per page of a sweep.
    let pageSize: Int
    let schedule = EntitlementSchedule()
    let logger: Logger

    init(
        cache: EntitlementCache, store: any Store, events: Doorbell, interval: Duration, billingSystems: Set<SystemName>,
        rules: EntitlementRules, deskRouter: CommandRouter, sweepInterval: Duration = .seconds(3600), pageSize: Int = 500,
        logger: Logger
    ) {
        self.cache = cache
        self.store = store
        self.events = events
        self.interval = interval
        self.billingSystems = billingSystems
        self.rules = rules
        self.deskRouter = deskRouter
        self.sweepInterval = sweepInterval
        self.pageSize = max(1, pageSize)
        self.logger = logger
    }

    /// The clock of a node with `configuration`: its billing systems, entitlement rules and desk flows.
    init(configuration: WeftConfiguration, cache: EntitlementCache, store: any Store, events: Doorbell, logger: Logger) {
        let desks = Set(
            configuration.systems.compactMap { name, system in if case .desk = system { name } else { nil } })
        self.init(
            cache: cache, store: store, events: events, interval: configuration.pipeline.recheckInterval,
            billingSystems: WeftNode.billingSystems(of: configuration), rules: configuration.entitlements,
            deskRouter: CommandRouter(
                flows: configuration.flows.filter { desks.contains($0.target) }, ownership: configuration.ownership,
                desks: desks, entitlements: configuration.entitlements),
            logger: logger)
    }

    /// Runs until a graceful shutdown (or cancellation), which ends the waits: that is the clock's normal end, not an
    /// error. (Thrown, it made `weft serve` with a desk flow exit 1 on SIGTERM, "Error: CancellationError()".)
    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await sweeping() }
                    group.addTask { try await ticking() }
                }
            }
        } catch is CancellationError {
            return
        }
    }

    /// Queues due rechecks every `interval`.
    func ticking() async throws {
        while !Task.isCancelled {
            do {
                _ = try await tick(now: Date())
            } catch {
                logger.warning("could not queue entitlement rechecks", metadata: ["error": "\(error)"])
            }
            try await Task.sleep(for: interval)
        }
    }

    /// Sweeps at start and every `sweepInterval`; a sweep that failed is tried again after `interval`.
    func sweeping() async throws {
        while !Task.isCancelled {
            let started = ContinuousClock.now
            let pause: Duration
            do {
                let found = try await sweep(now: Date())
                logger.debug(
                    "swept billing customers for entitlement changes",
                    metadata: [
                        "weft.sweep.accounts": "\(found.accounts)", "weft.sweep.scheduled": "\(found.scheduled)",
                        "weft.sweep.duration": "\(ContinuousClock.now - started)",
                    ])
                pause = sweepInterval
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                logger.warning("could not sweep billing customers for entitlement changes", metadata: ["error": "\(error)"])
                pause = interval
            }
            try await Task.sleep(for: pause)
        }
    }

    /// Appends the rechecks due at `now`, from the cache and the schedule. Returns how many were queued.
    func tick(now: Date) async throws -> Int {
        let cached = cache.takeDue(now: now)
        let scheduled = schedule.takeDue(now: now)
        var seen: Set<String> = []
        var recheck: [IncomingEvent] = []
        for (key, at) in cached + scheduled {
            guard let account = key.customerRef else { continue }
            let millis = Int64((at.timeIntervalSince1970 * 1000).rounded())
            let eventID = "weft-recheck-\(key.rawValue)-\(millis)"
            guard seen.insert(eventID).inserted else { continue }
            recheck.append(
                IncomingEvent(
                    system: account.system, eventID: SourceEventID(eventID), type: PipelineProcessor.recheckType,
                    entityKey: key, occurredAt: at, receivedAt: now, payload: Data("{}".utf8), traceID: TraceID.random()))
        }
        guard !recheck.isEmpty else { return 0 }
        do {
            _ = try await store.append(recheck)
        } catch {
            cache.requeue(cached.map(\.key))
            schedule.restore(scheduled)
            throw error
        }
        events.ring()
        return recheck.count
    }

    /// What a sweep found.
    struct SweepResult: Hashable, Sendable {
        /// Billing customers walked.
        var accounts = 0
        /// Accounts put on the schedule.
        var scheduled = 0
    }

    /// Walks every billing customer's aggregate in pages and schedules the accounts whose entitlement changes with the
    /// clock (`nextChangeAt`), and those whose desks missed the end of a grace period.
    func sweep(now: Date) async throws -> SweepResult {
        var result = SweepResult()
        for system in billingSystems.sorted() {
            let prefix = EntityKey.of(ExternalRef(system: system, kind: .customer, id: "")).rawValue
            var after: EntityKey?
            while true {
                try Task.checkCancellation()
                let keys = try await store.aggregateKeys(prefix: prefix, after: after, limit: pageSize)
                guard let last = keys.last else { break }
                after = last
                let loaded = try await store.loadAggregates(keys)
                for (key, stored) in loaded {
                    guard let account = key.customerRef else { continue }
                    result.accounts += 1
                    if let at = changeInstant(key: key, account: account, aggregate: stored.aggregate, now: now) {
                        schedule.set(key, at: at)
                        result.scheduled += 1
                    }
                }
                if keys.count < pageSize { break }
            }
        }
        return result
    }

    /// When `account`'s entitlement must be rechecked: its `nextChangeAt`, or, when its grace period already ended and
    /// routing it now would still send its desks something, the instant the grace period ended.
    func changeInstant(key: EntityKey, account: ExternalRef, aggregate: Aggregate, now: Date) -> Date? {
        let entitlement = EntitlementRule.derive(account: account, from: aggregate, rules: rules, now: now)
        if let next = entitlement.nextChangeAt { return next }
        guard let since = entitlement.standing.overdueSince else { return nil }
        let graceEnded = since.addingTimeInterval(Double(rules.graceDays) * 86_400)
        guard graceEnded <= now else { return nil }
        var routed = aggregate
        let commands = deskRouter.route(entityKey: key, aggregate: &routed, source: account.system, now: now)
        return commands.contains { if case .syncEntitlement = $0.payload { true } else { false } } ? graceEnded : nil
    }
}
