public import Foundation

/// A command stored in the outbox, waiting for (or done with) delivery to one target.
public struct OutboxCommand: Hashable, Sendable, Codable {
    public var id: CommandID
    public var target: SystemName
    public var entityKey: EntityKey
    public var idempotencyKey: IdempotencyKey
    public var payload: TargetCommand
    public var traceID: TraceID
    /// Delivery attempts made so far (0 before the first).
    public var attempts: Int
    public var createdAt: Date

    public init(
        id: CommandID, target: SystemName, entityKey: EntityKey, idempotencyKey: IdempotencyKey, payload: TargetCommand,
        traceID: TraceID, attempts: Int, createdAt: Date
    ) {
        self.id = id
        self.target = target
        self.entityKey = entityKey
        self.idempotencyKey = idempotencyKey
        self.payload = payload
        self.traceID = traceID
        self.attempts = attempts
        self.createdAt = createdAt
    }
}

/// A command the pipeline wants written to the outbox (the store assigns id and timestamps).
public struct NewCommand: Hashable, Sendable {
    public var target: SystemName
    public var entityKey: EntityKey
    public var idempotencyKey: IdempotencyKey
    public var payload: TargetCommand {
        didSet { canonicalPayload = nil }
    }
    /// `payload` as canonical JSON, when whoever built the command wrote it already (the router does, for its
    /// fingerprint): the store then writes these bytes rather than encode the payload a second time. Changing
    /// `payload` drops them. Not part of equality.
    public private(set) var canonicalPayload: Data?

    public init(
        target: SystemName, entityKey: EntityKey, idempotencyKey: IdempotencyKey, payload: TargetCommand,
        canonicalPayload: Data? = nil
    ) {
        self.target = target
        self.entityKey = entityKey
        self.idempotencyKey = idempotencyKey
        self.payload = payload
        self.canonicalPayload = canonicalPayload
    }

    /// The payload as the outbox stores it: `canonicalPayload`, or the payload encoded now.
    public func encodedPayload() throws -> Data {
        try canonicalPayload ?? CanonicalCoding.encode(payload)
    }

    public static func == (lhs: NewCommand, rhs: NewCommand) -> Bool {
        lhs.target == rhs.target && lhs.entityKey == rhs.entityKey && lhs.idempotencyKey == rhs.idempotencyKey
            && lhs.payload == rhs.payload
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(target)
        hasher.combine(entityKey)
        hasher.combine(idempotencyKey)
        hasher.combine(payload)
    }
}
