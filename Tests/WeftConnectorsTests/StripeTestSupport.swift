import Foundation
import WeftConnectors
import WeftCore

/// Helpers shared by the Stripe tests.
enum StripeTestSupport {
    static let system: SystemName = "stripe"

    static func ref(_ kind: EntityKind, _ id: String) -> ExternalRef {
        ExternalRef(system: system, kind: kind, id: id)
    }

    /// Wraps a JSON object in an event and stores it as an inbox event keyed by its envelope.
    /// Decodes an event of `type` around `object` (JSON) with the Stripe decoder.
    static func decode(_ type: String, _ object: String, created: Int64 = 1_700_000_000, id: String = "evt_1") throws -> DecodedEvent {
        try StripeEventDecoder(system: system).decode(try inboxEvent(type: type, object: object, created: created, id: id))
    }

    static func inboxEvent(type: String, object: String, created: Int64 = 1_700_000_000, id: String = "evt_1") throws -> InboxEvent {
        let payload = Data(
            #"{"id":"\#(id)","object":"event","api_version":"2023-08-16","created":\#(created),"livemode":false,"pending_webhooks":1,"type":"\#(type)","data":{"object":\#(object)}}"#
                .utf8)
        return try inboxEvent(payload: payload)
    }

    static func inboxEvent(payload: Data) throws -> InboxEvent {
        let envelope = try StripeEventEnvelope.parse(payload, system: system)
        return InboxEvent(
            seq: EventSeq(1), system: system, eventID: envelope.id, type: envelope.type, entityKey: envelope.entityKey,
            occurredAt: envelope.created, receivedAt: envelope.created, payload: payload, traceID: TraceID("trace"),
            status: .pending, attempts: 0, outcome: nil
        )
    }

    /// Applies decoded events to an aggregate the way the pipeline does (govern, no ownership rules).
    static func apply(_ decoded: [DecodedEvent], to aggregate: inout Aggregate) {
        let governor = Governor(ownership: OwnershipRules())
        for event in decoded {
            for change in event.changes {
                let result = governor.govern(change, from: system, onto: aggregate.record(change.ref))
                aggregate.records[change.ref.description] = result.state
            }
        }
    }
}
