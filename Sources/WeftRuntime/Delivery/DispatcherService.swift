import Foundation
public import Logging
import Metrics
public import ServiceLifecycle
import Synchronization
public import WeftCore

/// Delivers one target's outbox: claims due commands (at most one per entity key, so an entity's commands land in
/// order), hands them to the target connector in batches, and records each outcome through the command state
/// machine: delivered, retry later (exponential backoff with jitter, `Retry-After` honoured), or dead letter.
///
/// A circuit breaker stops claiming while the target keeps failing (commands wait as pending, no attempts spent) and
/// probes it after a pause. The rate limit is enforced per HTTP request by the connector's `RequestGate`.
/// On graceful shutdown a loop finishes the delivery it has in flight, records it, and stops.
public struct DispatcherService: Service {
    let target: SystemName
    let connector: any TargetConnector
    let store: any Store
    let configuration: DeliveryConfiguration
    let commands: Doorbell
    let nodeID: String
    let logger: Logger
    let breaker: BreakerBox
    let idlePoll: Duration
    let clock: any DeliveryClock
    /// Whether loops after the first stand back: while webhooks arrive and the first keeps up
    /// (`DeliveryConfiguration.ingestYield`).
    let yield: HelperYield?

    /// - Parameters:
    ///   - ingest: when webhooks last arrived at this node (`nil`: every loop claims whenever it can).
    ///   - helperMaxLag: how far behind the first loop may run before the others join in (`HelperYield`).
    public init(
        target: SystemName, connector: any TargetConnector, store: any Store, configuration: DeliveryConfiguration,
        commands: Doorbell, nodeID: String, logger: Logger, idlePoll: Duration = .milliseconds(500),
        clock: any DeliveryClock = SystemDeliveryClock(), ingest: IngestActivity? = nil,
        helperMaxLag: Duration = HelperYield.defaultMaxLag
    ) {
        self.yield = ingest.map { HelperYield(ingest: $0, window: configuration.ingestYield, maxLag: helperMaxLag) }
        self.target = target
        self.connector = connector
        self.store = store
        self.configuration = configuration
        self.commands = commands
        self.nodeID = nodeID
        self.logger = logger
        self.breaker = BreakerBox(
            CircuitBreaker(failureThreshold: configuration.breakerFailureThreshold, openFor: configuration.breakerOpenFor))
        self.idlePoll = idlePoll
        self.clock = clock
    }

    /// The breaker's state, for health and tests.
    public var breakerState: CircuitBreaker.State { breaker.state.withLock { $0.state } }

    public func run() async throws {
        Gauge(label: WeftMetrics.breakerState, dimensions: [("target", target.rawValue)]).record(0)
        // The loops run on threads that the kernel schedules behind ingress and the store's writer
        // (`DeliveryConfiguration.nice`): a delivery may wait a moment, an acknowledgement should not. One thread
        // per core at most: with all loops on one, a target's delivery could use one core however many it had, and
        // the bench's outbox drained a tenth slower than it filled.
        let threads = Self.threads(concurrency: configuration.concurrency, cores: ProcessInfo.processInfo.activeProcessorCount)
        let executors = (0..<threads).map { BackgroundExecutor(name: "weft-deliver-\($0)", nice: configuration.nice) }
        defer { for executor in executors { executor.shutdown() } }
        await withDiscardingTaskGroup { group in
            for index in 0..<max(1, configuration.concurrency) {
                group.addTask(executorPreference: executors[index % executors.count]) {
                    await loop(owner: "\(nodeID)/deliver/\(target)/\(index)", helper: index > 0)
                }
            }
        }
    }

    /// The threads a target's delivery loops are spread over: one per loop, up to one per core.
    static func threads(concurrency: Int, cores: Int) -> Int {
        max(1, min(concurrency, cores))
    }

    /// Delivers until shutdown. A `helper` (every loop after the first) stands back while webhooks arrive and the first
    /// loop keeps up (`HelperYield`): on a target that answers at once, delivery is CPU work that competes with the
    /// acknowledgements; on one slow to answer the first loop soon runs behind, and the helpers join in.
    func loop(owner: String, helper: Bool = false) async {
        var failures = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if helper, let yield, await yield.standBack() { continue }
            let (wait, probing) = breaker.state.withLock { breaker -> (Duration?, Bool) in
                let wait = breaker.admit(now: .now)
                if wait == nil, case .halfOpen = breaker.state { return (nil, true) }
                return (wait, false)
            }
            if let wait {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: min(wait, .seconds(1))) }
                continue
            }
            do {
                let delivered = try await runOnce(owner: owner, probing: probing, reportsLag: !helper)
                failures = 0
                if delivered == 0 {
                    if probing { breaker.state.withLock { $0.abandonProbe() } }
                    let due = try await store.nextCommandDue(target: target)
                    var wait = idlePoll
                    if let due {
                        let untilDue = Duration.milliseconds(Int64(max(0, due.timeIntervalSinceNow) * 1000) + 1)
                        wait = min(wait, untilDue)
                    }
                    let idle = wait
                    await cancelWhenGracefulShutdown { await commands.wait(upTo: idle) }
                }
            } catch {
                if probing { breaker.state.withLock { $0.abandonProbe() } }
                // Cancelled: the node is stopping (another of its services failed), not this delivery.
                if Task.isCancelled { break }
                failures += 1
                logger.error("delivery loop failed", metadata: ["weft.target": "\(target)", "weft.error": "\(error)"])
                let pause = Duration.milliseconds(min(5_000, 50 * (1 << min(failures, 7))))
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            }
        }
    }

    /// Claims one batch, delivers it and records the outcomes. Returns how many commands it attempted.
    ///
    /// - Parameter probing: this delivery is the half-open breaker's probe: it claims one command, so that probing a
    ///   target that is still down spends one attempt, not one of every command in a batch (a long outage would
    ///   otherwise use up the attempts of the backlog's head probe by probe).
    /// - Parameter reportsLag: this is the first loop, whose claims tell the helpers whether it runs behind.
    @discardableResult
    public func runOnce(owner: String, probing: Bool = false, reportsLag: Bool = false) async throws -> Int {
        let claimedAt = clock.now()
        let batch = try await store.claimCommands(
            target: target, limit: probing ? 1 : max(1, connector.maxBatchSize), owner: owner,
            lease: configuration.lease, now: claimedAt)
        if reportsLag { yield?.firstClaimed(oldest: batch.lazy.map(\.createdAt).min(), at: claimedAt) }
        guard !batch.isEmpty else { return 0 }
        var batchLogger = logger
        batchLogger[metadataKey: "weft.target"] = "\(target)"
        if batch.count == 1 { batchLogger[metadataKey: "weft.trace_id"] = "\(batch[0].traceID)" }
        let started = ContinuousClock.now
        // While the batch is being delivered (rate-limit waits, a slow target), its leases are renewed every third of
        // the lease, so no other node claims and sends these commands a second time meanwhile. When the lease cannot
        // be kept (another node took a command, or renewals keep failing until a sixth of the lease is left) the
        // delivery is cancelled: a node that lost its claim stops sending instead of racing the new owner.
        let connector = connector
        let deliveryLogger = batchLogger
        let lease = configuration.lease
        let clock = clock
        var outcomes = await withTaskGroup(of: [DeliveryOutcome]?.self) { group in
            group.addTask { await connector.deliver(batch, logger: deliveryLogger) }
            group.addTask { [store] in
                let ids = batch.map(\.id)
                // The leases run from the instant the claim asked for, not from when its answer came.
                var schedule = LeaseSchedule(lease: lease, claimedAt: claimedAt)
                while !Task.isCancelled {
                    let wait = max(0, schedule.wake.timeIntervalSince(clock.now()))
                    do { try await clock.sleep(for: .milliseconds(Int64((wait * 1000).rounded()))) } catch { return nil }
                    if schedule.mustStop(at: clock.now()) {
                        deliveryLogger.warning("delivery leases are running out unrenewed; stopping the delivery")
                        return Self.leaseLost(batch.count)
                    }
                    do {
                        let asked = clock.now()
                        // A renewal the store does not answer is given up at the deadline: the store's own timeout
                        // may be longer than what is left of the lease.
                        let answer = try await clock.answer(by: schedule.deadline) {
                            try await store.renewCommandLeases(ids, owner: owner, until: asked.addingTimeInterval(lease.timeInterval))
                        }
                        guard let renewed = answer else {
                            deliveryLogger.warning("the store did not renew the delivery leases in time; stopping the delivery")
                            return Self.leaseLost(batch.count)
                        }
                        if renewed < ids.count {
                            deliveryLogger.warning(
                                "lost the lease of commands being delivered; stopping the delivery",
                                metadata: ["weft.lost": "\(ids.count - renewed)"])
                            return Self.leaseLost(batch.count)
                        }
                        schedule.renewed(askedAt: asked)
                    } catch {
                        // Cancelled: the delivery finished while the renewal was on its way.
                        if Task.isCancelled { return nil }
                        deliveryLogger.warning("could not renew delivery leases", metadata: ["weft.error": "\(error)"])
                        schedule.renewalFailed(at: clock.now())
                    }
                    if schedule.mustStop(at: clock.now()) {
                        deliveryLogger.warning("delivery leases are running out unrenewed; stopping the delivery")
                        return Self.leaseLost(batch.count)
                    }
                }
                return nil
            }
            // The connector's own outcomes win when it returns (even after a cancellation): they say what the target
            // holds, and only commands still leased to this owner are recorded.
            var delivered: [DeliveryOutcome] = []
            var connectorAnswered = false
            for await result in group {
                guard let result else { continue }
                if !connectorAnswered {
                    delivered = result
                    connectorAnswered = result.count == batch.count && !Self.isLeaseLost(result)
                }
                group.cancelAll()
            }
            return delivered
        }
        if outcomes.count != batch.count {
            batchLogger.error("connector returned \(outcomes.count) outcomes for \(batch.count) commands")
            outcomes = batch.map { _ in
                .retry(DeliveryFailure(kind: .unavailable, message: "connector returned a malformed result"))
            }
        }
        let elapsed = started.duration(to: .now)
        let now = clock.now()
        var generator = SystemRandomNumberGenerator()
        var results: [CommandResult] = []
        var transient = false
        var reachedTarget = false
        for (command, outcome) in zip(batch, outcomes) {
            let transition = CommandLifecycle.transition(
                after: outcome, attempt: max(1, command.attempts), policy: configuration.retry, now: now,
                unit: Double.random(in: 0..<1, using: &generator))
            results.append(CommandResult(id: command.id, transition: transition, subject: command.payload.subject))
            let dimensions = [("target", target.rawValue), ("kind", command.payload.kind)]
            var commandLogger = batchLogger
            commandLogger[metadataKey: "weft.trace_id"] = "\(command.traceID)"
            commandLogger[metadataKey: "weft.command.id"] = "\(command.id)"
            switch (outcome, transition) {
            case (.retry(let failure), _) where failure.message == Self.leaseLostMessage:
                // Says nothing about the target's health.
                break
            case (.retry(let failure), _):
                if [.transport, .unavailable, .rateLimited].contains(failure.kind) { transient = true } else { reachedTarget = true }
            default:
                reachedTarget = true
            }
            switch transition {
            case .delivered(let record, _):
                Counter(label: WeftMetrics.commandsDelivered, dimensions: dimensions).increment()
                Metrics.Timer(label: WeftMetrics.endToEndLatency, dimensions: [("target", target.rawValue)])
                    .recordNanoseconds(Int64(max(0, now.timeIntervalSince(command.createdAt)) * 1e9))
                commandLogger.debug("delivered", metadata: ["weft.target.record": "\(record.map(\.description) ?? "-")"])
            case .retry(let at, let failure):
                Counter(label: WeftMetrics.deliveryRetries, dimensions: dimensions).increment()
                commandLogger.info(
                    "delivery will be retried",
                    metadata: ["weft.failure": "\(failure)", "weft.retry_at": "\(at)", "weft.attempt": "\(command.attempts)"])
            case .dead(let failure):
                Counter(label: WeftMetrics.deadLetters, dimensions: dimensions).increment()
                commandLogger.warning(
                    "command dead-lettered", metadata: ["weft.failure": "\(failure)", "weft.attempt": "\(command.attempts)"])
            }
        }
        Metrics.Timer(label: WeftMetrics.deliveryLatency, dimensions: [("target", target.rawValue)])
            .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        let gauge = breaker.state.withLock { breaker -> Int in
            if transient && !reachedTarget {
                breaker.recordFailure(now: .now)
            } else if reachedTarget {
                breaker.recordSuccess()
            } else if probing {
                // Only lost leases: nothing was learnt about the target.
                breaker.abandonProbe()
            }
            return breaker.state.gaugeValue
        }
        Gauge(label: WeftMetrics.breakerState, dimensions: [("target", target.rawValue)]).record(gauge)
        try await record(results, owner: owner, now: now, logger: batchLogger)
        return batch.count
    }

    /// Records a batch's outcomes, trying again for a while when the store fails. The deliveries have happened: a
    /// recording given up leaves the batch claimed until its leases run out, and then sends every command of it
    /// again (the target's idempotency keeps that from duplicating, but it is work and attempts spent), and a
    /// graceful stop would leave it half-done. The loop stops trying at a graceful stop only by finishing.
    func record(_ results: [CommandResult], owner: String, now: Date, logger: Logger) async throws {
        var attempt = 1
        while true {
            do {
                try await store.completeCommands(results, owner: owner, now: now)
                return
            } catch  where attempt < Self.recordingAttempts && !Task.isCancelled {
                logger.warning(
                    "could not record delivery outcomes; trying again",
                    metadata: ["weft.error": "\(error)", "weft.attempt": "\(attempt)"])
                try await clock.sleep(for: .milliseconds(100 << attempt))
                attempt += 1
            }
        }
    }
}

extension DispatcherService {
    static let leaseLostMessage = "the delivery lease was lost; another node may hold the command"
    /// How many times a batch's outcomes are offered to the store: waits of 0.2, 0.4, 0.8 and 1.6 s in between, three
    /// seconds in all. Trying after a lease ran out is harmless: the store records only what is still leased to the
    /// owner.
    static let recordingAttempts = 5

    static func leaseLost(_ count: Int) -> [DeliveryOutcome] {
        Array(repeating: .retry(DeliveryFailure(kind: .unavailable, message: leaseLostMessage)), count: count)
    }

    static func isLeaseLost(_ outcomes: [DeliveryOutcome]) -> Bool {
        if case .retry(let failure) = outcomes.first { return failure.message == leaseLostMessage }
        return false
    }
}

/// Shares one circuit breaker between a target's delivery loops.
final class BreakerBox: Sendable {
    let state: Mutex<CircuitBreaker>
    init(_ breaker: CircuitBreaker) { self.state = Mutex(breaker) }
}
