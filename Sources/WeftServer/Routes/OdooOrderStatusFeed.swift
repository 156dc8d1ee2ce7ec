public import Foundation
public import Logging
public import WeftConnectors
public import WeftCore
public import WeftRuntime

/// Odoo as a source of deal status, for `CatchUpService`: the orders Weft made from CRM deals whose order or invoices
/// changed since the cursor, each as an `order.status` event keyed by its deal (`<crm>/deal/<id>`), so the status
/// lands on the deal's aggregate and is routed to the CRM. The event id is derived from the status: reading an
/// unchanged order again stores nothing new, so Weft writes to the CRM only when something changed.
public struct OdooOrderStatusFeed: EventFeed {
    /// The inbox event type of an order status reading.
    public static let eventType = "order.status"

    public let system: SystemName
    let reader: OdooOrderStatusReader
    let now: @Sendable () -> Date
    let logger: Logger

    public init(system: SystemName, reader: OdooOrderStatusReader, now: @escaping @Sendable () -> Date = Date.init, logger: Logger) {
        self.system = system
        self.reader = reader
        self.now = now
        self.logger = logger
    }

    public func events(since: Date) async throws -> [IncomingEvent] {
        let now = self.now()
        let readings = try await reader.readings(since: since, today: now, logger: logger)
        return CRMFeedHints.ordered(
            try readings.map { reading in
                let payload = try CanonicalCoding.encoder.encode(DealStatusUpdate(deal: reading.deal, status: reading.status))
                return IncomingEvent(
                    system: system,
                    eventID: SourceEventID(
                        "\(system):order:\(reading.deal):\(String(CanonicalCoding.fingerprint(payload), radix: 16))"),
                    type: Self.eventType, entityKey: EntityKey.of(reading.deal), occurredAt: reading.modifiedAt,
                    receivedAt: now, payload: payload, traceID: .random())
            })
    }
}

/// Decodes Odoo's `order.status` events into the deal's `erp` field, and its `partner.snapshot` events into the
/// account's fields (`OdooPartnerFeed`).
struct OdooStatusDecoder: EventDecoder {
    func decode(_ event: InboxEvent) throws -> DecodedEvent {
        if event.type == OdooPartnerFeed.eventType { return try OdooPartnerFeed.decode(event) }
        guard event.type == OdooOrderStatusFeed.eventType else {
            return DecodedEvent(entityKey: event.entityKey, changes: [], ignoredReason: "not an order status")
        }
        let update = try CanonicalCoding.decoder.decode(DealStatusUpdate.self, from: event.payload)
        let millis = Int64((event.occurredAt.timeIntervalSince1970 * 1000).rounded())
        return DecodedEvent(
            entityKey: EntityKey.of(update.deal),
            changes: [
                CanonicalChange(
                    ref: update.deal, fields: ["erp": CanonicalCoding.jsonValue(update.status)],
                    version: SourceVersion(millis: millis))
            ])
    }
}
