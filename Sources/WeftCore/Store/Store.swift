public import Foundation

/// Weft's durable state: inbox, canonical aggregates, outbox, bindings, cursors and audit. One protocol, two
/// implementations (SQLite embedded, PostgreSQL for many nodes); the same conformance suite runs against both.
///
/// Guarantees every implementation gives:
/// - `append` is durable when it returns; `(system, eventID)` is unique, a repeat is reported `duplicate`.
/// - `claimEvents` hands out at most one unfinished event per entity key at a time, the earliest by
///   (occurred-at, seq), under a lease; an expired lease makes the event claimable again.
/// - `commitProcessed` is one transaction per call: aggregates, outbox commands and event status change together,
///   and only for events the caller still holds (a lost lease drops that event's part).
/// - `claimCommands` hands out at most one undelivered command per (target, entity key), the earliest, when due.
/// - Aliases: once an entity adopts a provisional key (`ProcessedEvent.adoptedAliases`), `append` stores events
///   sent under that key under the adopting entity instead, and `commitProcessed` moves an event still under an
///   adopted key to its entity (pending again, not committed) rather than applying it to a stray aggregate.
public protocol Store: Sendable {
    // MARK: Inbox

    /// Appends events durably (implementations group-commit concurrent callers). One result per event, in order.
    func append(_ events: [IncomingEvent]) async throws -> [AppendResult]

    /// The same append, answered by calling `completion` once the events are durable (or the write failed), on
    /// whatever thread finished it: for callers on an event loop that must not start a task per request. The default
    /// runs `append(_:)` in a task; a store whose group commit answers from its writer overrides it.
    func append(_ events: [IncomingEvent], completion: @escaping @Sendable (Result<[AppendResult], any Error>) -> Void)

    /// Claims up to `limit` events, at most one per entity key, leased to `owner` until `now + lease`.
    func claimEvents(limit: Int, owner: String, lease: Duration, now: Date) async throws -> [InboxEvent]

    /// Claims as `claimEvents(limit:owner:lease:now:)` does, and with each entity's first claimable event up to
    /// `perEntity - 1` of the entity's following ones (in `occurredAt`, `seq` order), so that the caller can process a
    /// run of one entity's events together: up to `limit` first events, and up to `limit` following ones in all. A
    /// store may return fewer following events, or none (the default: one per entity).
    func claimEvents(limit: Int, perEntity: Int, owner: String, lease: Duration, now: Date) async throws -> [InboxEvent]

    /// Loads the aggregates of the given keys (missing keys are absent from both parts of the result). A key whose
    /// stored version equals `known[key]` is only reported `unchanged`, not read and decoded again: the caller holds
    /// that version already.
    func loadAggregates(_ keys: [EntityKey], known: [EntityKey: Int64]) async throws -> AggregateLoad

    /// Lists the keys of stored aggregates that start with `prefix` (`stripe/customer/`: every Stripe customer), at
    /// most `limit`, in ascending key order (the store's own order, the same on every call), starting after `after`
    /// (the last key of the previous page; `nil` for the first). A page is one range scan of the aggregates' primary
    /// key, so walking every billing customer in pages sorts nothing and holds nothing open between pages. `_` and `%`
    /// in a prefix or key are plain characters.
    func aggregateKeys(prefix: String, after: EntityKey?, limit: Int) async throws -> [EntityKey]

    /// Commits the results of processing claimed events: each result atomically (its aggregate, its commands, its
    /// event's status), the batch in one transaction or, where the store keeps its transactions short, in several
    /// that end between two entities' runs. When a transaction fails after others committed, it throws
    /// `PartialCommitError` with the events those committed.
    /// - Returns: the events whose results were committed (those still leased to `owner`).
    @discardableResult
    func commitProcessed(_ results: [ProcessedEvent], owner: String, now: Date) async throws -> [EventSeq]

    /// Releases claimed events unprocessed (graceful shutdown), so others may take them at once.
    func releaseEvents(_ seqs: [EventSeq], owner: String) async throws

    // MARK: Outbox

    /// Claims up to `limit` due commands for `target`, at most one per entity key, leased to `owner`.
    func claimCommands(target: SystemName, limit: Int, owner: String, lease: Duration, now: Date) async throws
        -> [OutboxCommand]

    /// Records delivery results; bindings are recorded for delivered commands that name a target record.
    func completeCommands(_ results: [CommandResult], owner: String, now: Date) async throws

    /// Extends the leases `owner` holds on in-flight commands to `until` (a delivery that waits on a rate limit or a
    /// slow target must not lose its claim to another node while it is still sending). Returns how many leases it
    /// extended: fewer than asked means some were lost (expired and claimed by someone else).
    @discardableResult
    func renewCommandLeases(_ ids: [CommandID], owner: String, until: Date) async throws -> Int

    /// Releases claimed commands unattempted (graceful shutdown, or the breaker opened before sending).
    func releaseCommands(_ ids: [CommandID], owner: String) async throws

    /// The earliest instant a pending command for `target` is due, if any (so an idle dispatcher can sleep).
    func nextCommandDue(target: SystemName) async throws -> Date?

    // MARK: Operators

    /// Lists events, newest first.
    func listEvents(status: EventStatus?, limit: Int) async throws -> [InboxEvent]

    /// Lists commands, newest first, as stored (with their `kind`): a command whose payload this version cannot read
    /// is listed too, so that an operator sees every dead command.
    func listStoredCommands(filter: CommandFilter, limit: Int) async throws -> [StoredCommand]

    /// Makes matching dead commands pending again, due now, with a fresh attempt count, except those a later command
    /// of the same record supersedes: they are set aside as `superseded` (`OutboxSQL.supersededByLater`). Audited.
    func replayDeadCommands(filter: CommandFilter, actor: String, now: Date) async throws -> DeadLetterReplay

    /// Makes failed events pending again. Audited.
    func replayFailedEvents(seqs: [EventSeq]?, actor: String, now: Date) async throws -> Int

    /// Binding of a source record in a target.
    func binding(of ref: ExternalRef, in target: SystemName) async throws -> TargetRecordID?

    /// The source records bound to `record` in `target` (the reverse of `binding(of:in:)`), ordered by their
    /// description: which billing customer a Zendesk organisation or an Odoo partner shows.
    func boundSources(of record: TargetRecordID, in target: SystemName) async throws -> [ExternalRef]

    // MARK: Cursors

    /// A named cursor (e.g. the Stripe events catch-up position).
    func cursor(_ name: String) async throws -> String?

    /// Sets a named cursor.
    func setCursor(_ name: String, to value: String) async throws

    // MARK: Observability

    /// Queue depths and ages, for metrics and readiness.
    func stats(now: Date) async throws -> StoreStats

    /// Whether any event is pending or processing, or any command pending or in flight. Cheap enough to poll (it does
    /// not count the history).
    func hasUnfinishedWork() async throws -> Bool

    // MARK: Retention

    /// Deletes up to `limit` events that were processed (`done`) before `before`, and up to `limit` commands delivered
    /// before `before`, oldest first. Failed events, dead and undelivered commands, aggregates, bindings, aliases and
    /// the audit log are never pruned.
    func prune(before: Date, limit: Int) async throws -> PruneCounts

    /// Appends to the audit log.
    func audit(_ entry: AuditEntry) async throws

    /// Reads the audit log, newest first.
    func auditLog(limit: Int) async throws -> [AuditEntry]
}

extension Store {
    public func claimEvents(
        limit: Int, perEntity: Int, owner: String, lease: Duration, now: Date
    ) async throws -> [InboxEvent] {
        try await claimEvents(limit: limit, owner: owner, lease: lease, now: now)
    }

    public func append(
        _ events: [IncomingEvent], completion: @escaping @Sendable (Result<[AppendResult], any Error>) -> Void
    ) {
        Task {
            do {
                completion(.success(try await append(events)))
            } catch {
                completion(.failure(error))
            }
        }
    }

    /// Loads the aggregates of the given keys (missing keys are absent from the result).
    public func loadAggregates(_ keys: [EntityKey]) async throws -> [EntityKey: StoredAggregate] {
        try await loadAggregates(keys, known: [:]).loaded
    }
}

/// What `loadAggregates(_:known:)` found.
public struct AggregateLoad: Hashable, Sendable {
    /// Aggregates read from the store.
    public var loaded: [EntityKey: StoredAggregate]
    /// Keys whose stored version is the one the caller said it holds.
    public var unchanged: Set<EntityKey>

    public init(loaded: [EntityKey: StoredAggregate] = [:], unchanged: Set<EntityKey> = []) {
        self.loaded = loaded
        self.unchanged = unchanged
    }
}

public struct StoredAggregate: Hashable, Sendable {
    public var aggregate: Aggregate
    public var version: Int64

    public init(aggregate: Aggregate, version: Int64) {
        self.aggregate = aggregate
        self.version = version
    }
}

/// The result of processing one claimed event.
public struct ProcessedEvent: Hashable, Sendable {
    public var seq: EventSeq
    public var entityKey: EntityKey
    /// The aggregate to save, with the version it was loaded at (`nil` = unchanged, nothing to save).
    public var aggregate: Aggregate?
    public var expectedVersion: Int64?
    public var commands: [NewCommand]
    public var status: EventStatus
    public var outcome: String
    public var traceID: TraceID
    /// Provisional keys this event's entity adopts from now on (see `Aggregate.aliases`). The store records them in
    /// the same transaction, moves the events already stored under them to this entity (to be processed here, in
    /// order) and drops whatever aggregate was built under them.
    public var adoptedAliases: [EntityKey]

    public init(
        seq: EventSeq, entityKey: EntityKey, aggregate: Aggregate?, expectedVersion: Int64?, commands: [NewCommand],
        status: EventStatus, outcome: String, traceID: TraceID, adoptedAliases: [EntityKey] = []
    ) {
        self.seq = seq
        self.entityKey = entityKey
        self.aggregate = aggregate
        self.expectedVersion = expectedVersion
        self.commands = commands
        self.status = status
        self.outcome = outcome
        self.traceID = traceID
        self.adoptedAliases = adoptedAliases
    }
}

/// The result of one delivery attempt, to record.
public struct CommandResult: Hashable, Sendable {
    public var id: CommandID
    public var transition: CommandTransition
    /// The source record the command was about (for the binding).
    public var subject: ExternalRef

    public init(id: CommandID, transition: CommandTransition, subject: ExternalRef) {
        self.id = id
        self.transition = transition
        self.subject = subject
    }
}

/// Selects commands for listing and replay.
public struct CommandFilter: Hashable, Sendable {
    public var ids: [CommandID]?
    public var status: CommandStatus?
    public var target: SystemName?
    /// Command kind (`upsert_invoice`).
    public var kind: String?
    public var entityKey: EntityKey?

    public init(
        ids: [CommandID]? = nil, status: CommandStatus? = nil, target: SystemName? = nil, kind: String? = nil,
        entityKey: EntityKey? = nil
    ) {
        self.ids = ids
        self.status = status
        self.target = target
        self.kind = kind
        self.entityKey = entityKey
    }
}

/// A command as listed for operators.
public struct CommandRecord: Hashable, Sendable {
    public var command: OutboxCommand
    public var status: CommandStatus
    public var nextAttemptAt: Date?
    public var lastError: String?
    public var deliveredAt: Date?
    public var targetRecord: TargetRecordID?

    public init(
        command: OutboxCommand, status: CommandStatus, nextAttemptAt: Date?, lastError: String?, deliveredAt: Date?,
        targetRecord: TargetRecordID?
    ) {
        self.command = command
        self.status = status
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.deliveredAt = deliveredAt
        self.targetRecord = targetRecord
    }
}

/// Queue depths and ages.
public struct StoreStats: Hashable, Sendable {
    public var eventsByStatus: [EventStatus: Int]
    public var oldestPendingEventAge: TimeInterval?
    /// Per target: command count by status.
    public var commandsByTarget: [SystemName: [CommandStatus: Int]]
    public var oldestPendingCommandAge: [SystemName: TimeInterval]
    /// Dead commands by kind (business exceptions such as "invoice paid in billing, not in the ERP").
    public var deadCommandsByKind: [String: Int]

    public init(
        eventsByStatus: [EventStatus: Int] = [:], oldestPendingEventAge: TimeInterval? = nil,
        commandsByTarget: [SystemName: [CommandStatus: Int]] = [:], oldestPendingCommandAge: [SystemName: TimeInterval] = [:],
        deadCommandsByKind: [String: Int] = [:]
    ) {
        self.eventsByStatus = eventsByStatus
        self.oldestPendingEventAge = oldestPendingEventAge
        self.commandsByTarget = commandsByTarget
        self.oldestPendingCommandAge = oldestPendingCommandAge
        self.deadCommandsByKind = deadCommandsByKind
    }
}

extension StoreStats {
    /// Adds a count the store's writers keep for a terminal status (`queue` is `events` or `commands`; `target` is
    /// empty for events). A target that has such a count is listed even when every count is zero, so its gauges are
    /// brought to zero rather than left at their last value once retention has pruned its commands.
    public mutating func addTerminalCount(queue: String, target: String, status: Int, count: Int) {
        switch queue {
        case "events":
            guard let status = EventStatus(rawValue: status), count != 0 else { return }
            eventsByStatus[status, default: 0] += count
        case "commands":
            guard let status = CommandStatus(rawValue: status) else { return }
            var counts = commandsByTarget[SystemName(target), default: [:]]
            if count != 0 { counts[status, default: 0] += count }
            commandsByTarget[SystemName(target)] = counts
        default:
            return
        }
    }
}

/// One audit-log entry: who did what, when.
public struct AuditEntry: Hashable, Sendable {
    public var at: Date
    public var actor: String
    public var action: String
    public var detail: String

    public init(at: Date, actor: String, action: String, detail: String) {
        self.at = at
        self.actor = actor
        self.action = action
        self.detail = detail
    }
}

extension Store {
    /// Lists the commands this version can read, newest first (`listStoredCommands` leaves none out).
    public func listCommands(filter: CommandFilter, limit: Int) async throws -> [CommandRecord] {
        try await listStoredCommands(filter: filter, limit: limit).compactMap { $0.record() }
    }
}

/// `commitProcessed` wrote a batch in several transactions and one failed after others had committed: `committed` are
/// the events whose results are stored (what derives from them must be told, as for a whole commit); the rest are not.
public struct PartialCommitError: Error, CustomStringConvertible {
    public var committed: [EventSeq]
    public var underlying: any Error

    public init(committed: [EventSeq], underlying: any Error) {
        self.committed = committed
        self.underlying = underlying
    }

    public var description: String { "\(underlying) (after \(committed.count) results had committed)" }
}
