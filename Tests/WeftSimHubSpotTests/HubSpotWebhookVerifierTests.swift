import Foundation
import Testing
import WeftConnectors

@testable import WeftSimHubSpot

/// The vectors of saas-apis.md §5.
private let secret = "hs_client_secret_example"
private let uri = "https://example.com/hooks/hubspot?x=1"
private let body = Array(
    #"[{"eventId":1,"subscriptionType":"deal.propertyChange","objectId":123,"propertyName":"dealstage","propertyValue":"closedwon","occurredAt":1700000000000,"attemptNumber":0}]"#
        .utf8)
private let v3 = "6UacQc84sIk7V5/BVK3njjxeUvzKbYNMyhgrocY7wHE="
private let signedAt = Date(timeIntervalSince1970: 1_700_000_000)

@Suite struct HubSpotWebhookVerifierTests {
    let verifier = HubSpotWebhookVerifier(clientSecrets: [secret])

    /// The code `body` fails with, `nil` when it succeeds.
    private func code(_ body: () throws -> Void) -> HubSpotWebhookError.Code? {
        do {
            try body()
            return nil
        } catch {
            return (error as? HubSpotWebhookError)?.code
        }
    }

    @Test func acceptsTheReferenceVectorWithinTheWindow() throws {
        let date = try verifier.verify(
            method: "POST", uri: uri, body: body, signature: v3, timestamp: "1700000000000",
            now: signedAt.addingTimeInterval(299))
        #expect(date == signedAt)
        // A rotation: the old secret first, the current one second.
        let rotating = HubSpotWebhookVerifier(clientSecrets: ["old", secret])
        #expect(
            code { try rotating.verify(method: "POST", uri: uri, body: body, signature: v3, timestamp: "1700000000000", now: signedAt) }
                == nil)
    }

    @Test func rejectsReplaysTamperingAndLegacySignatures() {
        #expect(
            code {
                try verifier.verify(
                    method: "POST", uri: uri, body: body, signature: v3, timestamp: "1700000000000",
                    now: signedAt.addingTimeInterval(301))
            } == .tooOld)
        #expect(
            code {
                try verifier.verify(
                    method: "POST", uri: uri, body: body + [0x20], signature: v3, timestamp: "1700000000000", now: signedAt)
            } == .badSignature)
        #expect(
            code {
                try verifier.verify(
                    method: "POST", uri: uri, body: body, signature: v3, timestamp: "1700000000001", now: signedAt)
            } == .badSignature)
        #expect(
            code {
                try verifier.verify(
                    method: "POST", uri: "https://example.com/hooks/hubspot?x=2", body: body, signature: v3,
                    timestamp: "1700000000000", now: signedAt)
            } == .badSignature)
        #expect(
            code {
                try HubSpotWebhookVerifier(clientSecrets: ["other"]).verify(
                    method: "POST", uri: uri, body: body, signature: v3, timestamp: "1700000000000", now: signedAt)
            } == .badSignature)
        // v1 (hex SHA-256 of secret + body) alone is refused, even though it is the right v1 value.
        #expect(
            code {
                try verifier.verify(
                    method: "POST", uri: uri, body: body, signature: nil, timestamp: nil,
                    legacySignature: "52cca33bc9f057fe9760756e79e60d2c0718af4f1a1506180fed6eca97dc4518", now: signedAt)
            } == .unsupportedVersion)
        #expect(
            code {
                try verifier.verify(method: "POST", uri: uri, body: body, signature: v3, timestamp: nil, now: signedAt)
            } == .missingHeader)
        let odd = HubSpotWebhookSignature.v3(method: "POST", uri: uri, body: body, timestamp: "17e11", secret: secret)
        #expect(
            code {
                try verifier.verify(method: "POST", uri: uri, body: body, signature: odd, timestamp: "17e11", now: signedAt)
            } == .malformedTimestamp)
    }

    @Test func decodesTheEscapesHubSpotListsBeforeSigning() {
        // HubSpot signs the decoded form; a receiver sees the escaped one.
        let signed = HubSpotWebhookSignature.v3(
            method: "POST", uri: "https://example.com/hooks/hubspot?email=a@b.io&tag=(x),y", body: body,
            timestamp: "1700000000000", secret: secret)
        #expect(
            code {
                try verifier.verify(
                    method: "POST", uri: "https://example.com/hooks/hubspot?email=a%40b.io&tag=%28x%29%2cy", body: body,
                    signature: signed, timestamp: "1700000000000", now: signedAt)
            } == nil)
        // `%20` is not in the list: it stays escaped, so a signature over a literal space does not match.
        let spaced = HubSpotWebhookSignature.v3(
            method: "POST", uri: "https://example.com/hooks/hubspot?q=a b", body: body, timestamp: "1700000000000",
            secret: secret)
        #expect(
            code {
                try verifier.verify(
                    method: "POST", uri: "https://example.com/hooks/hubspot?q=a%20b", body: body, signature: spaced,
                    timestamp: "1700000000000", now: signedAt)
            } == .badSignature)
    }

    @Test func parsesTheEventArrayAndDedupesByEventID() throws {
        let payload = Array(
            (#"[{"eventId":7,"subscriptionId":12,"portalId":62515,"appId":54321,"occurredAt":1700000000000,"#
                + #""subscriptionType":"deal.propertyChange","attemptNumber":1,"objectId":123,"propertyName":"dealstage","#
                + #""propertyValue":"closedwon","changeSource":"CRM_UI","sourceId":"userId:5"},"#
                + #"{"eventId":8,"occurredAt":1700000000500,"subscriptionType":"company.merge","objectId":9,"#
                + #""primaryObjectId":9,"mergedObjectIds":[10,11]},"#
                + #"{"eventId":7,"occurredAt":1700000000000,"subscriptionType":"deal.propertyChange","objectId":123}]"#)
                .utf8)
        let events = try HubSpotWebhookEvent.parse(payload)
        #expect(events.count == 3)
        let first = events[0]
        #expect(first.eventID == 7 && first.subscriptionID == 12 && first.portalID == 62515 && first.appID == 54321)
        #expect(first.objectType == "deal" && first.change == "propertyChange")
        #expect(first.propertyName == "dealstage" && first.propertyValue == "closedwon")
        #expect(first.changeSource == "CRM_UI" && first.sourceID == "userId:5" && first.attemptNumber == 1)
        #expect(first.occurredAt == signedAt)
        #expect(events[1].mergedObjectIDs == [10, 11] && events[1].primaryObjectID == 9)
        #expect(HubSpotWebhookEvent.deduplicated(events).map(\.eventID) == [7, 8])
        #expect(throws: HubSpotWebhookError.self) { try HubSpotWebhookEvent.parse(Array(#"{"eventId":1}"#.utf8)) }
        #expect(throws: HubSpotWebhookError.self) { try HubSpotWebhookEvent.parse(Array(#"[{"objectId":1}]"#.utf8)) }
    }
}
