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
    public var payload: TargetCommand

    public init(target: SystemName, entityKey: EntityKey, idempotencyKey: IdempotencyKey, payload: TargetCommand) {
        self.target = target
        self.entityKey = entityKey
        self.idempotencyKey = idempotencyKey
        self.payload = payload
    }
}
