import Foundation
public import Logging
import Metrics
public import ServiceLifecycle
public import WeftCore

/// Pipeline workers: claim events (runs of one entity key's events, one worker per key at a time), process them, and
/// commit aggregates, commands and event status in transactions of at most `batchSize` results. Different entities
/// are processed in parallel.
///
/// On graceful shutdown a worker finishes the batch it holds (processing is local and fast) and stops claiming.
public struct PipelineService: Service {
    let store: any Store
    let processor: PipelineProcessor
    let configuration: PipelineConfiguration
    let events: Doorbell
    let commands: Doorbell
    let nodeID: String
    let logger: Logger
    let cache: AggregateCache
    let commits: CommitObserver?
    /// Per source system, what completes its events before decoding (`EventEnricher`).
    let enrichers: [SystemName: any EventEnricher]
    /// Whether workers after the first stand back: while webhooks arrive and the first keeps up
    /// (`PipelineConfiguration.ingestYield`).
    let yield: HelperYield?

    /// - Parameters:
    ///   - events: rung when events are stored (wakes idle workers).
    ///   - commands: rung when commands are written (wakes dispatchers).
    ///   - cache: decoded aggregates this node committed last (checked against the stored version before use); `nil`:
    ///     one holding `configuration.cacheRecords` records at most.
    ///   - commits: told before each commit which aggregates it may change, and after it which it changed, with their
    ///     new versions (what derives from them, such as the entitlement lookup's cache, stops answering from memory
    ///     meanwhile and is derived again at once).
    ///   - enrichers: per source system, what completes its events from its API before they are decoded.
    ///   - ingest: when webhooks last arrived at this node (`nil`: workers never stand back).
    ///   - helperMaxLag: how far behind the first worker may run before the helpers join in (`HelperYield`).
    public init(
        store: any Store, processor: PipelineProcessor, configuration: PipelineConfiguration, events: Doorbell,
        commands: Doorbell, nodeID: String, logger: Logger, cache: AggregateCache? = nil,
        enrichers: [SystemName: any EventEnricher] = [:], ingest: IngestActivity? = nil,
        helperMaxLag: Duration = HelperYield.defaultMaxLag, commits: CommitObserver? = nil
    ) {
        self.yield = ingest.map { HelperYield(ingest: $0, window: configuration.ingestYield, maxLag: helperMaxLag) }
        self.enrichers = enrichers
        self.cache = cache ?? AggregateCache(records: configuration.cacheRecords)
        self.commits = commits
        self.store = store
        self.processor = processor
        self.configuration = configuration
        self.events = events
        self.commands = commands
        self.nodeID = nodeID
        self.logger = logger
    }

    /// Runs the workers until graceful shutdown. Each runs on a thread of its own that the kernel schedules behind
    /// the rest of the node (`PipelineConfiguration.nice`): events are durable once acknowledged, so under a burst the
    /// node answers webhooks first and processes them with the CPU that is left, then catches up.
    public func run() async throws {
        let executors = (0..<max(1, configuration.workers)).map { index in
            BackgroundExecutor(name: "weft-pipeline-\(index)", nice: configuration.nice)
        }
        defer { for executor in executors { executor.shutdown() } }
        await withDiscardingTaskGroup { group in
            for (index, executor) in executors.enumerated() {
                group.addTask(executorPreference: executor) { await worker("\(nodeID)/pipeline/\(index)", helper: index > 0) }
            }
        }
    }

    /// Claims and processes batches until shutdown. A `helper` (every worker after the first) stands back while webhooks
    /// arrive: on two cores the acknowledgements and the first worker then share the machine, and the helpers join in
    /// to drain the backlog once the webhooks stop, or as soon as the first worker runs behind (`HelperYield`). The first
    /// worker never waits, so events are always processed.
    func worker(_ owner: String, helper: Bool = false) async {
        var failures = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if helper, let yield, await yield.standBack() { continue }
            do {
                let processed = try await runOnce(owner: owner, reportsLag: !helper)
                failures = 0
                if processed == 0 {
                    await cancelWhenGracefulShutdown { await events.wait(upTo: configuration.idlePoll) }
                }
            } catch {
                // Cancelled: the node is stopping (another of its services failed); this batch did not. Its events are
                // given back or wait for their lease, as after any failure, but no error of its own is logged beside the
                // one that stopped the node.
                if Task.isCancelled { break }
                failures += 1
                logger.error("pipeline batch failed", metadata: ["weft.worker": "\(owner)", "weft.error": "\(error)"])
                let pause = Duration.milliseconds(min(5_000, 50 * (1 << min(failures, 7))))
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            }
        }
    }

    /// Claims and processes one batch. Returns how many events it processed. `reportsLag`: this is the first worker,
    /// whose claims tell the helpers whether it runs behind.
    ///
    /// When processing fails (the store could not load or commit), what was claimed and not committed is given back at
    /// once rather than at the lease's end: another worker may take it, and a graceful stop right after a failure
    /// leaves nothing claimed. Processing has no effect outside the store, so nothing is half-done by giving it back.
    @discardableResult
    public func runOnce(owner: String, reportsLag: Bool = false) async throws -> Int {
        let now = Date()
        let claimed = try await store.claimEvents(
            limit: configuration.batchSize, perEntity: configuration.eventsPerEntity, owner: owner,
            lease: configuration.lease, now: now)
        if reportsLag { yield?.firstClaimed(oldest: claimed.lazy.map(\.receivedAt).min(), at: now) }
        guard !claimed.isEmpty else { return 0 }
        do {
            return try await process(claimed, owner: owner)
        } catch {
            // The store releases only events still claimed by `owner`: the committed ones stay committed.
            do {
                try await store.releaseEvents(claimed.map(\.seq), owner: owner)
            } catch let release {
                logger.warning(
                    "could not give back a failed batch's events; they wait for their lease to run out",
                    metadata: ["weft.worker": "\(owner)", "weft.error": "\(release)"])
            }
            throw error
        }
    }

    /// Most enrichments a batch runs at once.
    static let enrichmentConcurrency = 8

    /// Completes the events of `batch` their system's enricher completes, several at a time (each is a read from the
    /// source's API that the batch waits for).
    private func enrich(_ batch: inout [InboxEvent]) async {
        let needing = batch.indices.filter { enrichers[batch[$0].system]?.mayNeed(batch[$0]) == true }
        guard !needing.isEmpty else { return }
        let events = batch
        let completed = await withTaskGroup(of: (Int, Data?).self) { group in
            var results: [(Int, Data?)] = []
            var pending = needing[...]
            func start(_ index: Int) {
                let event = events[index]
                guard let enricher = enrichers[event.system] else { return }
                var eventLogger = logger
                eventLogger[metadataKey: "weft.trace_id"] = "\(event.traceID)"
                group.addTask { [eventLogger] in (index, await enricher.completed(event, logger: eventLogger)) }
            }
            for _ in 0..<Self.enrichmentConcurrency { if let index = pending.popFirst() { start(index) } }
            while let result = await group.next() {
                results.append(result)
                if let index = pending.popFirst() { start(index) }
            }
            return results
        }
        for case (let index, let payload?) in completed { batch[index].payload = payload }
    }

    private func process(_ batch: [InboxEvent], owner: String) async throws -> Int {
        var claimed = batch
        if !enrichers.isEmpty { await enrich(&claimed) }
        let keys = Array(Set(claimed.map(\.entityKey)))
        let cached = cache.entries(for: keys)
        let load = try await store.loadAggregates(keys, known: cached.mapValues(\.version))
        var aggregates = load.loaded
        for key in load.unchanged { aggregates[key] = cached[key] }
        var results: [ProcessedEvent] = []
        var summaries: [(InboxEvent, PipelineProcessor.Summary, ProcessedEvent)] = []
        results.reserveCapacity(claimed.count)
        // Each entity's events as one run, in the order they occurred; entities in the order of their first arrival.
        var runs: [EntityKey: [InboxEvent]] = [:]
        var order: [EntityKey] = []
        for event in claimed {
            if runs[event.entityKey] == nil { order.append(event.entityKey) }
            runs[event.entityKey, default: []].append(event)
        }
        for key in order {
            let run = runs[key]!.sorted { ($0.occurredAt, $0.seq) < ($1.occurredAt, $1.seq) }
            for (event, (result, summary)) in zip(run, processor.process(run, stored: aggregates[key])) {
                results.append(result)
                summaries.append((event, summary, result))
            }
        }
        let now = Date()
        // In transactions of at most `batchSize` results: with runs a batch holds up to twice that, and a webhook's
        // append may wait for one pipeline transaction. A run split between two keeps its order: the second part's
        // versions follow the first's, so if the first lost its entity, the second gives its events back too.
        // A transaction that fails after others committed: what committed is still passed on (the entitlement index,
        // the cache), then the failure is thrown.
        var committed: Set<EventSeq> = []
        var failure: (any Error)?
        // Announced before the first transaction: once one commits, the store holds states that nothing derived in memory
        // knows yet, until `didCommit`.
        var announced: [EntityKey] = []
        var seen: Set<EntityKey> = []
        for result in results where result.aggregate != nil && seen.insert(result.entityKey).inserted {
            announced.append(result.entityKey)
        }
        if let commits, !announced.isEmpty { commits.willCommit(announced) }
        let size = max(1, configuration.batchSize)
        for start in stride(from: 0, to: results.count, by: size) {
            let chunk = Array(results[start..<min(results.count, start + size)])
            do {
                committed.formUnion(try await store.commitProcessed(chunk, owner: owner, now: now))
            } catch let partial as PartialCommitError {
                committed.formUnion(partial.committed)
                failure = partial.underlying
                break
            } catch {
                failure = error
                break
            }
        }
        if let commits, !announced.isEmpty {
            // The last committed state of each entity only: a run saves its aggregate once per changing event, and what
            // derives from it (the entitlement index) need not be derived for the states in between.
            var latest: [EntityKey: Int] = [:]
            var changed: [(key: EntityKey, aggregate: StoredAggregate)] = []
            for result in results {
                guard committed.contains(result.seq), let aggregate = result.aggregate else { continue }
                let stored = StoredAggregate(aggregate: aggregate, version: (result.expectedVersion ?? 0) + 1)
                if let index = latest[result.entityKey] {
                    changed[index] = (result.entityKey, stored)
                } else {
                    latest[result.entityKey] = changed.count
                    changed.append((result.entityKey, stored))
                }
            }
            commits.didCommit(changed, announced)
        }
        for result in results {
            guard committed.contains(result.seq) else {
                cache.forget([result.entityKey])
                continue
            }
            if let aggregate = result.aggregate {
                let version = (result.expectedVersion ?? 0) + 1
                cache.store(StoredAggregate(aggregate: aggregate, version: version), for: result.entityKey)
            }
            // The store drops an adopted key's aggregate.
            if !result.adoptedAliases.isEmpty { cache.forget(result.adoptedAliases) }
        }
        var wroteCommands = false
        for (event, summary, result) in summaries where committed.contains(event.seq) {
            wroteCommands = wroteCommands || !result.commands.isEmpty
            let verdict = result.status == .failed ? "failed" : result.outcome.hasPrefix("ignored") ? "ignored" : result.outcome
            Counter(
                label: WeftMetrics.eventsProcessed, dimensions: [("system", event.system.rawValue), ("outcome", verdict)]
            ).increment()
            if summary.unownedFields > 0 {
                Counter(label: WeftMetrics.fieldsUnowned, dimensions: [("system", event.system.rawValue)])
                    .increment(by: summary.unownedFields)
            }
            Metrics.Timer(label: WeftMetrics.pipelineLatency, dimensions: [("system", event.system.rawValue)])
                .recordNanoseconds(Int64(max(0, now.timeIntervalSince(event.receivedAt)) * 1e9))
            var eventLogger = logger
            eventLogger[metadataKey: "weft.trace_id"] = "\(event.traceID)"
            eventLogger[metadataKey: "weft.event.id"] = "\(event.eventID)"
            if result.status == .failed {
                eventLogger.warning(
                    "event kept as failed", metadata: ["weft.event.type": "\(event.type)", "weft.outcome": "\(result.outcome)"])
            } else {
                eventLogger.debug(
                    "event processed",
                    metadata: [
                        "weft.event.type": "\(event.type)", "weft.outcome": "\(result.outcome)",
                        "weft.commands": "\(result.commands.count)",
                    ])
            }
        }
        if wroteCommands { commands.ring() }
        if let failure { throw failure }
        return claimed.count
    }
}

/// What a pipeline worker tells about the aggregates it commits, for what derives from them in memory (the entitlement
/// lookup's cache): `willCommit` before a commit starts, with every entity whose aggregate it may change; `didCommit`
/// once it has ended, with the aggregates it changed (each entity's last state and its new version) and the keys
/// announced, changed or not (a transaction may fail or lose an entity). A store's commit is visible to every reader
/// before `didCommit` runs: between the two, nothing derived from the announced aggregates may be answered from memory.
public struct CommitObserver: Sendable {
    public var willCommit: @Sendable ([EntityKey]) -> Void
    public var didCommit: @Sendable (_ changed: [(key: EntityKey, aggregate: StoredAggregate)], _ announced: [EntityKey]) -> Void

    public init(
        willCommit: @escaping @Sendable ([EntityKey]) -> Void,
        didCommit: @escaping @Sendable (_ changed: [(key: EntityKey, aggregate: StoredAggregate)], _ announced: [EntityKey]) -> Void
    ) {
        self.willCommit = willCommit
        self.didCommit = didCommit
    }
}
