import Foundation
import Testing
import WeftConnectors
import WeftSimZendesk

@Suite struct ZendeskWebhookVerifierTests {
    static let body = Array(#"{"type":"zen:event-type:ticket.created","id":"01HZ","detail":{"id":"42"}}"#.utf8)
    static let timestamp = "2023-11-14T22:13:20Z"
    static let signature = "XGxKYYjYDHFSgIOYfqdQf+6QVpyUMF56ndSj2Qr15iM="
    static let signedAt = Date(timeIntervalSince1970: 1_700_000_000)

    @Test func acceptsTheReferenceVector() throws {
        let verifier = ZendeskWebhookVerifier(secrets: ["zd_signing_secret_example"])
        let time = try verifier.verify(
            payload: Self.body, signature: Self.signature, timestamp: Self.timestamp, now: Self.signedAt.addingTimeInterval(10))
        #expect(time == Self.signedAt)
    }

    @Test func acceptsAnyOfSeveralSecretsDuringRotation() throws {
        let verifier = ZendeskWebhookVerifier(secrets: ["zd_new_secret", "zd_signing_secret_example"])
        try verifier.verify(payload: Self.body, signature: Self.signature, timestamp: Self.timestamp, now: Self.signedAt)
    }

    @Test func rejectsATamperedBodyOrTimestamp() {
        let verifier = ZendeskWebhookVerifier(secrets: ["zd_signing_secret_example"])
        var tampered = Self.body
        tampered[tampered.count - 4] = UInt8(ascii: "3")
        #expect(throws: ZendeskWebhookError(code: .badSignature)) {
            try verifier.verify(payload: tampered, signature: Self.signature, timestamp: Self.timestamp, now: Self.signedAt)
        }
        #expect(throws: ZendeskWebhookError(code: .badSignature)) {
            try verifier.verify(
                payload: Self.body, signature: Self.signature, timestamp: "2023-11-14T22:13:21Z", now: Self.signedAt)
        }
        #expect(throws: ZendeskWebhookError(code: .badSignature)) {
            try ZendeskWebhookVerifier(secrets: ["other"]).verify(
                payload: Self.body, signature: Self.signature, timestamp: Self.timestamp, now: Self.signedAt)
        }
    }

    @Test func rejectsStaleOrFutureTimestampsOutsideTheWindow() throws {
        let verifier = ZendeskWebhookVerifier(secrets: ["zd_signing_secret_example"], tolerance: .seconds(300))
        #expect(throws: ZendeskWebhookError(code: .tooOld)) {
            try verifier.verify(
                payload: Self.body, signature: Self.signature, timestamp: Self.timestamp,
                now: Self.signedAt.addingTimeInterval(301))
        }
        #expect(throws: ZendeskWebhookError(code: .tooOld)) {
            try verifier.verify(
                payload: Self.body, signature: Self.signature, timestamp: Self.timestamp,
                now: Self.signedAt.addingTimeInterval(-301))
        }
        try verifier.verify(
            payload: Self.body, signature: Self.signature, timestamp: Self.timestamp, now: Self.signedAt.addingTimeInterval(300))
    }

    @Test func rejectsMissingHeaders() {
        let verifier = ZendeskWebhookVerifier(secrets: ["zd_signing_secret_example"])
        #expect(throws: ZendeskWebhookError(code: .missingHeader)) {
            try verifier.verify(payload: Self.body, signature: nil, timestamp: Self.timestamp, now: Self.signedAt)
        }
        #expect(throws: ZendeskWebhookError(code: .missingHeader)) {
            try verifier.verify(payload: Self.body, signature: Self.signature, timestamp: nil, now: Self.signedAt)
        }
        #expect(!verifier.description.contains("zd_signing_secret_example"))
    }

    @Test func agreesWithTheSimulatorsSigner() throws {
        let body = Array(#"{"type":"zen:event-type:ticket.status_changed","id":"01J"}"#.utf8)
        let timestamp = "2026-01-01T00:00:00Z"
        let signature = ZendeskWebhookSignature.sign(body: body, timestamp: timestamp, secret: "s")
        try ZendeskWebhookVerifier(secrets: ["s"]).verify(
            payload: body, signature: signature, timestamp: timestamp, now: Date(timeIntervalSince1970: 1_767_225_600))
    }

    @Test func parsesTicketEvents() throws {
        let body = #"""
            {"type":"zen:event-type:ticket.status_changed","account_id":1,"id":"01HNX","time":"2026-01-01T00:00:05Z",
             "zendesk_event_version":"2022-11-06","subject":"zen:ticket:35436",
             "detail":{"id":"35436","organization_id":"8447346622590","requester_id":"8447388090494","status":"OPEN",
                       "subject":"Printer on fire","updated_at":"2026-01-01T00:00:04Z"},
             "event":{"current":"OPEN","previous":"NEW"}}
            """#
        let event = try ZendeskTicketEvent.parse(Array(body.utf8))
        #expect(event.ticketID == 35436)
        #expect(event.organizationID == 8_447_346_622_590)
        #expect(event.requesterID == 8_447_388_090_494)
        #expect(event.subject == "Printer on fire")
        #expect(event.status == "open")
        #expect(event.updatedAt == Date(timeIntervalSince1970: 1_767_225_604))
        #expect(event.eventID == "01HNX")

        let numeric = try ZendeskTicketEvent.parse(
            Array(#"{"type":"zen:event-type:ticket.created","detail":{"id":42,"organization_id":null}}"#.utf8))
        #expect(numeric.ticketID == 42)
        #expect(numeric.organizationID == nil)
    }

    @Test func refusesBodiesThatAreNotTicketEvents() {
        #expect(throws: ZendeskTicketEventError.self) {
            try ZendeskTicketEvent.parse(Array(#"{"type":"zen:event-type:organization.created","detail":{"id":"1"}}"#.utf8))
        }
        #expect(throws: ZendeskTicketEventError.self) { try ZendeskTicketEvent.parse(Array("not json".utf8)) }
        #expect(throws: ZendeskTicketEventError.self) {
            try ZendeskTicketEvent.parse(Array(#"{"type":"zen:event-type:ticket.created","detail":{}}"#.utf8))
        }
    }
}
