import Foundation
import Testing
import WeftCore

/// Builders for the conformance suite. All instants derive from `t0`; nothing reads the clock.
enum Fixture {
    static let t0 = Date(timeIntervalSince1970: 1_750_000_000)

    static func at(_ seconds: TimeInterval) -> Date { t0.addingTimeInterval(seconds) }

    static func event(_ id: String, key: String = "k1", occurred: TimeInterval = 0, system: SystemName = "stripe")
        -> IncomingEvent
    {
        IncomingEvent(
            system: system, eventID: SourceEventID(id), type: "customer.updated", entityKey: EntityKey(key),
            occurredAt: at(occurred), receivedAt: t0, payload: Data("{\"id\":\"\(id)\"}".utf8), traceID: TraceID("t-\(id)"))
    }

    static func command(_ key: String, entity: String = "k1", target: SystemName = "odoo", name: String? = nil)
        -> NewCommand
    {
        let customer = Customer(ref: ExternalRef(system: "stripe", kind: .customer, id: entity), name: name ?? key)
        return NewCommand(
            target: target, entityKey: EntityKey(entity), idempotencyKey: IdempotencyKey(key),
            payload: .upsertCustomer(customer))
    }

    static func invoiceCommand(_ key: String, entity: String = "k1") -> NewCommand {
        let customer = Customer(ref: ExternalRef(system: "stripe", kind: .customer, id: entity))
        let invoice = Invoice(ref: ExternalRef(system: "stripe", kind: .invoice, id: "in_\(key)"), customerRef: customer.ref)
        return NewCommand(
            target: "odoo", entityKey: EntityKey(entity), idempotencyKey: IdempotencyKey(key),
            payload: .upsertInvoice(InvoiceCommand(invoice: invoice, customer: customer)))
    }

    static func processed(
        _ event: InboxEvent, commands: [NewCommand] = [], aggregate: Aggregate? = nil, version: Int64? = nil,
        status: EventStatus = .done, outcome: String = "applied"
    ) -> ProcessedEvent {
        ProcessedEvent(
            seq: event.seq, entityKey: event.entityKey, aggregate: aggregate, expectedVersion: version,
            commands: commands, status: status, outcome: outcome, traceID: event.traceID)
    }

    static func aggregate(name: String) -> Aggregate {
        Aggregate(records: ["stripe/customer/k1": RecordState(fields: ["name": .string(name)])])
    }

    static let failure = DeliveryFailure(kind: .unavailable, message: "down", status: 503)
}

extension Store {
    /// Appends events, takes one event through claim and commit with `commands`, so the outbox holds them.
    func seedCommands(_ commands: [NewCommand], eventID: String = "seed") async throws {
        _ = try await append([Fixture.event(eventID, key: "seed-\(eventID)")])
        let claimed = try await claimEvents(limit: 100, owner: "seeder", lease: .seconds(60), now: Fixture.t0)
        let event = try #require(claimed.first { $0.eventID.rawValue == eventID })
        let committed = try await commitProcessed(
            [Fixture.processed(event, commands: commands)], owner: "seeder", now: Fixture.t0)
        try #require(committed == [event.seq])
    }

    func claimKeys(target: SystemName = "odoo", owner: String = "d", at seconds: TimeInterval = 0, limit: Int = 100)
        async throws -> [String]
    {
        try await claimCommands(target: target, limit: limit, owner: owner, lease: .seconds(60), now: Fixture.at(seconds))
            .map(\.idempotencyKey.rawValue)
    }
}
