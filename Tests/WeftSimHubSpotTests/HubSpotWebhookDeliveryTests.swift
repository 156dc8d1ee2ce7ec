import Foundation
import HTTPTypes
import NIOHTTP1
import Testing
import WeftConnectors
import WeftSimKit

@testable import WeftSimHubSpot

@Suite struct HubSpotWebhookDeliveryTests {
    @Test func signatureVectorsOfTheReference() {
        let body = Array(
            #"[{"eventId":1,"subscriptionType":"deal.propertyChange","objectId":123,"propertyName":"dealstage","propertyValue":"closedwon","occurredAt":1700000000000,"attemptNumber":0}]"#
                .utf8)
        let uri = "https://example.com/hooks/hubspot?x=1"
        let secret = "hs_client_secret_example"
        #expect(
            HubSpotWebhookSignature.v3(method: "POST", uri: uri, body: body, timestamp: "1700000000000", secret: secret)
                == "6UacQc84sIk7V5/BVK3njjxeUvzKbYNMyhgrocY7wHE=")
        #expect(
            HubSpotWebhookSignature.v1(body: body, secret: secret) == "52cca33bc9f057fe9760756e79e60d2c0718af4f1a1506180fed6eca97dc4518")
        #expect(
            HubSpotWebhookSignature.v2(method: "POST", uri: uri, body: body, secret: secret)
                == "0adb0363133ae6f6e39283ee60c849e43c8b9cc3cb93b2fcddcd27730a778a80")
    }

    @Test func propertyChangesAndCreationsArriveSignedAsAnArray() async throws {
        let receiver = WebhookReceiver()
        let clock = TestClock()
        try await withWebhooks(
            receiver: receiver, clock: clock, secret: "app_secret",
            subscriptions: [
                .init(id: 11, subscriptionType: "deal.creation"),
                .init(id: 12, subscriptionType: "deal.propertyChange", propertyName: "dealstage"),
            ]
        ) { simulator, base, target in
            let created = try await request(
                .POST, base + "/crm/v3/objects/deals", #"{"properties":{"dealname":"X","dealstage":"qualifiedtobuy"}}"#)
            let id = try #require(created.json["id"].string.flatMap { Int($0) })
            let first = await collectEvents(receiver, count: 1)
            // A user moves the deal to closed won in the CRM.
            _ = simulator.call("PATCH", "/crm/v3/objects/deals/\(id)", body: #"{"properties":{"dealstage":"closedwon","amount":"5"}}"#)
            let second = await collectEvents(receiver, count: 1)

            let creation = first[0].json[0]
            #expect(creation["subscriptionType"] == "deal.creation")
            #expect(creation["subscriptionId"] == 11)
            #expect(creation["objectId"].int == id)
            #expect(creation["portalId"] == 62515)
            #expect(creation["appId"] == 54321)
            #expect(creation["attemptNumber"] == 0)
            #expect(creation["occurredAt"] == 1_700_000_000_000)
            #expect(creation["changeSource"] == "INTEGRATION")
            #expect(creation["sourceId"] == "54321")

            // Only the subscribed property raises an event; the user's edit is attributed to the CRM UI.
            #expect(second[0].json.array?.count == 1)
            let change = second[0].json[0]
            #expect(change["subscriptionType"] == "deal.propertyChange")
            #expect(change["propertyName"] == "dealstage")
            #expect(change["propertyValue"] == "closedwon")
            #expect(change["changeSource"] == "CRM_UI")
            #expect(change["sourceId"] == "userId:1001")
            #expect(change["eventId"] != creation["eventId"])

            let received = second[0]
            let verifier = HubSpotWebhookVerifier(clientSecrets: ["app_secret"])
            let timestamp = received.headers[HTTPField.Name("X-HubSpot-Request-Timestamp")!]
            #expect(timestamp == "1700000000000")
            #expect(
                throws: Never.self,
                performing: {
                    try verifier.verify(
                        method: "POST", uri: target, body: received.body,
                        signature: received.headers[HTTPField.Name("X-HubSpot-Signature-v3")!], timestamp: timestamp,
                        now: Date(timeIntervalSince1970: 1_700_000_000))
                })
            #expect(received.headers[HTTPField.Name("X-HubSpot-Signature-Version")!] == "v1")
        }
    }

    @Test func aFailedRequestIsRetriedWithTheNextAttemptNumber() async throws {
        let receiver = WebhookReceiver(statusForCall: { $0 == 1 ? 503 : 200 })
        try await withWebhooks(
            receiver: receiver, subscriptions: [.init(id: 1, subscriptionType: "company.creation")]
        ) { simulator, _, _ in
            _ = simulator.call("POST", "/crm/v3/objects/companies", body: #"{"properties":{"name":"Acme"}}"#)
            let received = await collectEvents(receiver, count: 1)
            #expect(received[0].json[0]["attemptNumber"] == 1)
            await simulator.waitUntilDeliveriesSettled()
            let attempts = simulator.webhookDeliveries
            #expect(attempts.map(\.attempt) == [1, 2])
            #expect(attempts.map(\.status) == [503, 200])
        }
    }

    @Test func aClientErrorIsNotRetried() async throws {
        let receiver = WebhookReceiver(statusForCall: { $0 == 1 ? 400 : 200 })
        try await withWebhooks(
            receiver: receiver, subscriptions: [.init(id: 1, subscriptionType: "company.creation")]
        ) { simulator, _, _ in
            _ = simulator.call("POST", "/crm/v3/objects/companies", body: #"{"properties":{"name":"Acme"}}"#)
            await simulator.waitUntilDeliveriesSettled()
            #expect(simulator.webhookDeliveries.map(\.status) == [400])
        }
    }

    @Test func eventsAreBatchedUpToOneHundredPerRequest() async throws {
        let receiver = WebhookReceiver()
        try await withWebhooks(
            receiver: receiver, subscriptions: [.init(id: 1, subscriptionType: "contact.creation")]
        ) { simulator, _, _ in
            for batch in 0..<3 {
                let inputs = (0..<50).map { #"{"properties":{"email":"c\#(batch)-\#($0)@x.io"}}"# }.joined(separator: ",")
                #expect(simulator.call("POST", "/crm/v3/objects/contacts/batch/create", body: #"{"inputs":[\#(inputs)]}"#).status == 201)
            }
            let requests = await collectEvents(receiver, count: 150)
            #expect(requests.allSatisfy { ($0.json.array?.count ?? 0) <= 100 })
            let ids = requests.flatMap { $0.json.array ?? [] }.compactMap { $0["eventId"].int }
            #expect(Set(ids).count == 150)
        }
    }

    @Test func theDuplicateFaultSendsEveryEventTwiceInSeparateRequests() async throws {
        let receiver = WebhookReceiver()
        try await withWebhooks(
            receiver: receiver, subscriptions: [.init(id: 1, subscriptionType: "deal.deletion")]
        ) { simulator, _, _ in
            simulator.setWebhookFaults(WebhookFaultPlan(duplicateRate: 1))
            let id = try #require(simulator.call("POST", "/crm/v3/objects/deals", body: #"{"properties":{}}"#).json["id"].string)
            _ = simulator.call("DELETE", "/crm/v3/objects/deals/\(id)")
            let requests = await collectEvents(receiver, count: 2)
            let events = requests.flatMap { $0.json.array ?? [] }
            #expect(events.count == 2)
            #expect(events[0]["eventId"] == events[1]["eventId"])
            #expect(events[0]["changeFlag"] == "DELETED")
            #expect(requests.count == 2)
        }
    }

    @Test func theReorderFaultHoldsEventsUntilTheWindowIsFull() async throws {
        let receiver = WebhookReceiver()
        try await withWebhooks(
            receiver: receiver, subscriptions: [.init(id: 1, subscriptionType: "company.creation")]
        ) { simulator, _, _ in
            simulator.setWebhookFaults(WebhookFaultPlan(reorderWindow: 4))
            var created: [Int] = []
            for index in 0..<4 {
                if index == 3 { #expect(simulator.pendingDeliveries == 3) }
                let result = simulator.call("POST", "/crm/v3/objects/companies", body: #"{"properties":{"name":"C\#(index)"}}"#)
                created.append(try #require(result.json["id"].string.flatMap { Int($0) }))
            }
            let requests = await collectEvents(receiver, count: 4)
            let received = requests.flatMap { $0.json.array ?? [] }.compactMap { $0["objectId"].int }
            #expect(received.sorted() == created.sorted())
        }
    }

    @Test func associationChangesNameBothSidesWithoutAnObjectID() async throws {
        let receiver = WebhookReceiver()
        try await withWebhooks(
            receiver: receiver, subscriptions: [.init(id: 3, subscriptionType: "contact.associationChange")]
        ) { simulator, base, _ in
            let contact = try #require(
                simulator.call("POST", "/crm/v3/objects/contacts", body: #"{"properties":{}}"#).json["id"].string)
            let company = try #require(
                simulator.call("POST", "/crm/v3/objects/companies", body: #"{"properties":{}}"#).json["id"].string)
            let linked = try await request(
                .PUT, base + "/crm/v4/objects/companies/\(company)/associations/contacts/\(contact)",
                #"[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":2}]"#)
            #expect(linked.status == 201)
            let event = await collectEvents(receiver, count: 1)[0].json[0]
            #expect(event["subscriptionType"] == "contact.associationChange")
            #expect(event["objectId"] == .null)
            #expect(event["fromObjectId"].int == Int(contact))
            #expect(event["toObjectId"].int == Int(company))
            #expect(event["associationType"] == "CONTACT_TO_COMPANY")
            #expect(event["associationRemoved"] == false)
            #expect(event["isPrimaryAssociation"] == true)
        }
    }
}
