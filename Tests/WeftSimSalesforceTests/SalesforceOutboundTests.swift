import Logging
import NIOHTTP1
import Testing
import WeftSimKit

@testable import WeftSimSalesforce

@Suite struct SalesforceOutboundTests {
    private func withListener(
        _ listener: Listener, clock: TestClock, faults: OutboundFaultPlan = .init(),
        _ body: @escaping @Sendable (SalesforceSimulator, String, String) async throws -> Void
    ) async throws {
        try await SimulatorServer.withRunning(router: listener.router(), logger: Logger(label: "test.listener")) { port in
            let simulator = makeSimulator(
                clock: clock,
                outbound: [
                    .init(
                        name: "Weft_Opportunity", sObjectType: "Opportunity", endpointURL: "http://127.0.0.1:\(port)/om/opportunity",
                        fields: ["StageName", "Amount", "IsWon", "CloseDate", "LastModifiedDate", "Weft_Key__c"])
                ], delivery: .init(retryBaseDelay: .seconds(10), faults: faults))
            try await withOrg(simulator, clock: clock) { base, token in try await body(simulator, base, token) }
        }
    }

    @Test func notificationEnvelopeCarriesTheConfiguredFields() async throws {
        let listener = Listener()
        let clock = TestClock()
        try await withListener(listener, clock: clock) { simulator, base, token in
            let created = try await request(
                .POST, base + api + "/sobjects/Opportunity/",
                json: #"{"Name":"Deal","StageName":"Closed Won","CloseDate":"2024-07-31","Amount":99.5,"Weft_Key__c":"a&b"}"#,
                token: token)
            let id = try #require(created.json["id"].string)
            #expect(simulator.pendingOutboundNotifications == 1)
            let attempts = await simulator.deliverPending()
            #expect(attempts.count == 1)
            #expect(attempts[0].acknowledged)
            #expect(attempts[0].recordIDs == [id])
            #expect(simulator.pendingOutboundNotifications == 0)
            let received = try #require(listener.requests.first)
            #expect(received.contentType == "text/xml; charset=utf-8")
            #expect(received.soapAction == "\"\"")
            let xml = received.body
            let org = simulator.configuration.organizationID
            #expect(xml.contains(#"<notifications xmlns="http://soap.sforce.com/2005/09/outbound">"#))
            #expect(xml.contains("<OrganizationId>\(org)</OrganizationId>"))
            #expect(xml.contains("<ActionId>04k"))
            #expect(xml.contains(#"<SessionId xsi:nil="true"/>"#))
            #expect(xml.contains("<EnterpriseUrl>\(base)/services/Soap/c/62.0/\(org.prefix(15))</EnterpriseUrl>"))
            #expect(xml.contains("<Notification><Id>\(attempts[0].notificationIDs[0])</Id>"))
            #expect(attempts[0].notificationIDs[0].hasPrefix("04l"))
            #expect(xml.contains(#"<sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">"#))
            #expect(
                xml.contains(
                    "<sf:Id>\(id)</sf:Id><sf:StageName>Closed Won</sf:StageName><sf:Amount>99.5</sf:Amount><sf:IsWon>true</sf:IsWon>"
                        + "<sf:CloseDate>2024-07-31</sf:CloseDate><sf:LastModifiedDate>2024-06-01T00:00:00.000Z</sf:LastModifiedDate>"
                        + "<sf:Weft_Key__c>a&amp;b</sf:Weft_Key__c></sObject>"))
            // Accounts have no outbound message.
            _ = try await request(.POST, base + api + "/sobjects/Account/", json: #"{"Name":"A"}"#, token: token)
            #expect(simulator.pendingOutboundNotifications == 0)
        }
    }

    @Test func unacknowledgedMessagesAreRetriedWithBackoff() async throws {
        // First answer: 200 without Ack true; second: a 500; then acknowledged.
        let listener = Listener { n in n == 1 ? (200, Listener.nack) : n == 2 ? (500, "boom") : (200, Listener.ack) }
        let clock = TestClock()
        try await withListener(listener, clock: clock) { simulator, base, token in
            _ = try await request(
                .POST, base + api + "/sobjects/Opportunity/", json: #"{"Name":"D","StageName":"Prospecting","CloseDate":"2024-07-31"}"#,
                token: token)
            let first = await simulator.deliverPending()
            #expect(first.map(\.acknowledged) == [false])
            #expect(first[0].status == 200)
            #expect(simulator.pendingOutboundNotifications == 1)
            // Not due before the backoff has passed.
            #expect(await simulator.deliverPending().isEmpty)
            clock.advance(ms: 10_000)
            let second = await simulator.deliverPending()
            #expect(second.map(\.status) == [500])
            #expect(second[0].attempt == 2)
            clock.advance(ms: 10_000)
            #expect(await simulator.deliverPending().isEmpty)
            clock.advance(ms: 10_000)
            let third = await simulator.deliverPending()
            #expect(third.map(\.acknowledged) == [true])
            #expect(third[0].attempt == 3)
            #expect(third[0].notificationIDs == first[0].notificationIDs)
            #expect(simulator.pendingOutboundNotifications == 0)
            #expect(listener.requests.count == 3)
        }
    }

    @Test func duplicatesAndBatching() async throws {
        let listener = Listener()
        let clock = TestClock()
        try await withListener(listener, clock: clock, faults: .init(duplicateRate: 1)) { simulator, base, token in
            var records: [String] = []
            for index in 0..<3 {
                records.append(
                    #"{"attributes":{"type":"Opportunity"},"Name":"O\#(index)","StageName":"Prospecting","CloseDate":"2024-07-31"}"#)
            }
            _ = try await request(
                .POST, base + api + "/composite/sobjects", json: #"{"records":[\#(records.joined(separator: ","))]}"#, token: token)
            let first = await simulator.deliverPending()
            #expect(first.count == 1)
            #expect(first[0].notificationIDs.count == 3)
            simulator.setOutboundFaults(.init())
            let again = await simulator.deliverPending()
            #expect(again.count == 1)
            #expect(again[0].notificationIDs == first[0].notificationIDs)
            #expect(simulator.pendingOutboundNotifications == 0)
        }
    }

    @Test func runDeliverySendsWithoutBeingAsked() async throws {
        let listener = Listener()
        let clock = TestClock()
        try await withListener(listener, clock: clock) { simulator, base, token in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await simulator.runDelivery() }
                _ = try await request(
                    .POST, base + api + "/sobjects/Opportunity/", json: #"{"Name":"D","StageName":"Prospecting","CloseDate":"2024-07-31"}"#,
                    token: token)
                while simulator.outboundDeliveries.isEmpty { await Task.yield() }
                #expect(simulator.outboundDeliveries[0].acknowledged)
                group.cancelAll()
            }
        }
    }
}
