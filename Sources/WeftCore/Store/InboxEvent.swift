public import Foundation

/// An event accepted at ingress, to be appended to the inbox.
public struct IncomingEvent: Hashable, Sendable {
    public var system: SystemName
    public var eventID: SourceEventID
    public var type: String
    public var entityKey: EntityKey
    /// The source's own occurred-at instant (orders events of one entity).
    public var occurredAt: Date
    public var receivedAt: Date
    /// The raw body as received (verified bytes).
    public var payload: Data
    public var traceID: TraceID

    public init(
        system: SystemName, eventID: SourceEventID, type: String, entityKey: EntityKey, occurredAt: Date,
        receivedAt: Date, payload: Data, traceID: TraceID
    ) {
        self.system = system
        self.eventID = eventID
        self.type = type
        self.entityKey = entityKey
        self.occurredAt = occurredAt
        self.receivedAt = receivedAt
        self.payload = payload
        self.traceID = traceID
    }
}

/// What `append` did with one incoming event.
public enum AppendResult: Hashable, Sendable {
    case stored(EventSeq)
    /// The `(system, event id)` pair was already in the inbox: nothing new stored.
    case duplicate
}

/// Processing state of an inbox event.
public enum EventStatus: Int, Sendable, Codable, Hashable, CaseIterable, CustomStringConvertible {
    case pending = 0
    case processing = 1
    case done = 2
    /// Could not be decoded or processed; kept for an operator.
    case failed = 3

    public var description: String {
        switch self {
        case .pending: "pending"
        case .processing: "processing"
        case .done: "done"
        case .failed: "failed"
        }
    }

    /// Parses `pending`, `processing`, `done`, `failed`.
    public init?(name: String) {
        guard let status = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = status
    }
}

/// An event in the inbox.
public struct InboxEvent: Hashable, Sendable {
    public var seq: EventSeq
    public var system: SystemName
    public var eventID: SourceEventID
    public var type: String
    public var entityKey: EntityKey
    public var occurredAt: Date
    public var receivedAt: Date
    public var payload: Data
    public var traceID: TraceID
    public var status: EventStatus
    public var attempts: Int
    /// Outcome note (`applied`, `stale`, `ignored: …`, or the failure), once processed.
    public var outcome: String?

    public init(
        seq: EventSeq, system: SystemName, eventID: SourceEventID, type: String, entityKey: EntityKey, occurredAt: Date,
        receivedAt: Date, payload: Data, traceID: TraceID, status: EventStatus, attempts: Int, outcome: String?
    ) {
        self.seq = seq
        self.system = system
        self.eventID = eventID
        self.type = type
        self.entityKey = entityKey
        self.occurredAt = occurredAt
        self.receivedAt = receivedAt
        self.payload = payload
        self.traceID = traceID
        self.status = status
        self.attempts = attempts
        self.outcome = outcome
    }
}
