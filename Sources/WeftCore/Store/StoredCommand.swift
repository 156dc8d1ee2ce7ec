public import Foundation

/// An outbox row as a store read it, its payload still encoded: both stores build one from their own row type and
/// decode the payload outside their database queue.
public struct StoredCommand: Sendable {
    public var id: CommandID
    public var target: SystemName
    public var entityKey: EntityKey
    public var idempotencyKey: IdempotencyKey
    public var payload: Data
    public var traceID: TraceID
    public var attempts: Int
    public var createdAt: Date
    public var status: CommandStatus
    public var nextAttemptAt: Date
    public var lastError: String?
    public var deliveredAt: Date?
    public var targetRecord: TargetRecordID?
    /// The command's kind as stored beside its payload (`TargetCommand.kind`), read by listings only: it names a
    /// command whose payload this version cannot read.
    public var kind: String?

    public init(
        id: CommandID, target: SystemName, entityKey: EntityKey, idempotencyKey: IdempotencyKey, payload: Data,
        traceID: TraceID, attempts: Int, createdAt: Date, status: CommandStatus, nextAttemptAt: Date, lastError: String?,
        deliveredAt: Date?, targetRecord: TargetRecordID?, kind: String? = nil
    ) {
        self.id = id
        self.target = target
        self.entityKey = entityKey
        self.idempotencyKey = idempotencyKey
        self.payload = payload
        self.traceID = traceID
        self.attempts = attempts
        self.createdAt = createdAt
        self.status = status
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.deliveredAt = deliveredAt
        self.targetRecord = targetRecord
        self.kind = kind
    }

    /// The command, or `nil` when this version of Weft cannot read its payload.
    ///
    /// Read straight from the bytes (`JSONValue.decode(_:fromJSON:)`, the conventions of `CanonicalCoding.decoder`),
    /// which is cheaper than `JSONDecoder`, and than building the tree first: the delivery loop reads every command it
    /// claims.
    public func command() -> OutboxCommand? {
        guard let payload = try? JSONValue.decode(TargetCommand.self, fromJSON: payload) else { return nil }
        return OutboxCommand(
            id: id, target: target, entityKey: entityKey, idempotencyKey: idempotencyKey, payload: payload,
            traceID: traceID, attempts: attempts, createdAt: createdAt)
    }

    public func record() -> CommandRecord? {
        command().map {
            CommandRecord(
                command: $0, status: status, nextAttemptAt: status == .pending ? nextAttemptAt : nil,
                lastError: lastError, deliveredAt: deliveredAt, targetRecord: targetRecord)
        }
    }
}

extension CommandFilter {
    /// The filter as the audit log writes it (`ids=… target=… kind=… entity=…`, or `all`).
    public var auditDescription: String {
        var parts: [String] = []
        if let ids { parts.append("ids=\(ids.map(\.description).joined(separator: ","))") }
        if let target { parts.append("target=\(target)") }
        if let kind { parts.append("kind=\(kind)") }
        if let entityKey { parts.append("entity=\(entityKey)") }
        return parts.isEmpty ? "all" : parts.joined(separator: " ")
    }
}
