import Crypto
import Foundation
import HTTPTypes
import Testing
import WeftSimKit

@testable import WeftSimZendesk

@Suite struct ZendeskWebhookTests {
    @Test func signatureMatchesTheReferenceVector() {
        let body = Array(#"{"type":"zen:event-type:ticket.created","id":"01HZ","detail":{"id":"42"}}"#.utf8)
        let signature = ZendeskWebhookSignature.sign(
            body: body, timestamp: "2023-11-14T22:13:20Z", secret: "zd_signing_secret_example")
        #expect(signature == "XGxKYYjYDHFSgIOYfqdQf+6QVpyUMF56ndSj2Qr15iM=")
    }

    /// Zendesk retries only a timeout, a 409, or a 429/503 that asks for a short wait: a 500 is final, so the next
    /// event is the next the receiver sees (the simulator used to retry every 5xx, hiding a receiver that answers 500).
    @Test func a500IsNotRetried() async throws {
        let receiver = WebhookReceiver(statusForCall: { $0 == 1 ? 500 : 200 })
        try await withWebhooks(receiver: receiver) { simulator in
            #expect(
                simulator.call("POST", "/api/v2/tickets.json", body: #"{"ticket":{"subject":"One","comment":{"body":"1"}}}"#).status == 201)
            while simulator.webhookDeliveries.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
            let second = simulator.call("POST", "/api/v2/tickets.json", body: #"{"ticket":{"subject":"Two","comment":{"body":"2"}}}"#)
            var iterator = receiver.stream.makeAsyncIterator()
            let received = try #require(await iterator.next())
            #expect(received.json["detail"]["id"].string == String(second.json["ticket"]["id"].int ?? 0))
            let first = try #require(simulator.webhookDeliveries.first)
            #expect(first.status == 500 && !first.succeeded)
            #expect(!simulator.webhookDeliveries.contains { $0.eventID == first.eventID && $0.attempt > 1 })
        }
    }

    @Test func ticketCreatedIsDeliveredSignedAfterARetry() async throws {
        let receiver = WebhookReceiver(statusForCall: { $0 == 1 ? 503 : 200 })
        try await withWebhooks(receiver: receiver, secret: "zd_secret") { simulator in
            let created = simulator.call(
                "POST", "/api/v2/tickets.json", body: #"{"ticket":{"subject":"Help","comment":{"body":"Broken"}}}"#)
            #expect(created.status == 201)
            var iterator = receiver.stream.makeAsyncIterator()
            let received = try #require(await iterator.next())
            let timestamp = try #require(received.headers[HTTPField.Name("X-Zendesk-Webhook-Signature-Timestamp")!])
            let signature = try #require(received.headers[HTTPField.Name("X-Zendesk-Webhook-Signature")!])
            let mac = HMAC<SHA256>.authenticationCode(
                for: Array(timestamp.utf8) + received.body, using: SymmetricKey(data: Array("zd_secret".utf8)))
            #expect(signature == Data(mac).base64EncodedString())
            #expect(timestamp == "2023-11-14T22:13:20Z")
            let event = received.json
            #expect(event["type"] == "zen:event-type:ticket.created")
            #expect(event["zendesk_event_version"] == "2022-11-06")
            #expect(event["subject"].string == "zen:ticket:\(created.json["ticket"]["id"].int ?? 0)")
            #expect(event["detail"]["id"].string == String(created.json["ticket"]["id"].int ?? 0))
            #expect(event["detail"]["status"] == "NEW")
            #expect(received.headers[.userAgent] == "Zendesk Webhook")
            // The first attempt was recorded before the retry that reached the receiver.
            let first = try #require(simulator.webhookDeliveries.first)
            #expect(first.attempt == 1 && first.status == 503 && !first.succeeded)
        }
    }
}
