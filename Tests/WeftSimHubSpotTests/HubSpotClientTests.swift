import AsyncHTTPClient
import Logging
import Testing
import WeftConnectors
import WeftCore
import WeftSimKit

@testable import WeftSimHubSpot

private let logger = Logger(label: "test.hubspot.client")

private func client(_ base: String, token: String = token, pageSize: Int = 200) -> HubSpotClient {
    HubSpotClient(
        http: OutboundHTTPClient(client: HTTPClient.shared, gate: OpenGate()),
        configuration: HubSpotConfiguration(baseURL: base, accessToken: token, searchPageSize: pageSize))
}

@Suite struct HubSpotClientTests {
    @Test func upsertsReadsAndUpdatesInChunksOfOneHundred() async throws {
        let simulator = makeSimulator()
        try await withServer(simulator) { base in
            let hubspot = client(base)
            let inputs = (0..<250).map {
                HubSpotUpsertInput(idProperty: "weft_deal_key", id: "K\($0)", properties: ["dealname": "Deal \($0)"])
            }
            let created = try await hubspot.batchUpsert(.deals, inputs, logger: logger)
            #expect(created.records.count == 250)
            #expect(created.records.allSatisfy { $0.isNew == true })
            #expect(simulator.requestLog.all.filter { $0.path.hasSuffix("/batch/upsert") }.count == 3)
            let again = try await hubspot.batchUpsert(.deals, inputs, logger: logger)
            #expect(again.records.allSatisfy { $0.isNew == false })
            #expect(Set(again.records.map(\.id)) == Set(created.records.map(\.id)))

            let read = try await hubspot.batchRead(
                .deals, ids: ["K1", "K249", "nope"], idProperty: "weft_deal_key", properties: ["dealname"], logger: logger)
            #expect(Set(read.records.compactMap { $0["dealname"] }) == ["Deal 1", "Deal 249"])
            #expect(read.errors.first?.category == "OBJECT_NOT_FOUND")
            #expect(read.errors.first?.ids == ["nope"])

            let id = try #require(created.records.first?.id)
            let updated = try await hubspot.batchUpdate(
                .deals, [HubSpotUpdateInput(id: id, properties: ["erp_order_ref": "S00042", "dealname": nil])],
                logger: logger)
            #expect(updated.records.first?["erp_order_ref"] == "S00042")
            #expect(updated.records.first?["dealname"] == nil)
        }
    }

    @Test func searchPagesByModificationTimeOldestFirst() async throws {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock, rateLimits: .init(perTenSeconds: 190, perDay: 1000, searchPerSecond: 100))
        for index in 0..<7 {
            _ = simulator.call("POST", "/crm/v3/objects/contacts", body: #"{"properties":{"email":"p\#(index)@x.io"}}"#)
            clock.advance(ms: 1_000)
        }
        // Changing the first contact makes it the newest.
        let first = simulator.call("POST", "/crm/v3/objects/contacts/search", body: #"{"limit":1}"#).json["results"][0]["id"]
        _ = simulator.call("PATCH", "/crm/v3/objects/contacts/\(first.string ?? "")", body: #"{"properties":{"firstname":"Z"}}"#)
        try await withServer(simulator) { base in
            let hubspot = client(base, pageSize: 3)
            var cursor: HubSpotSearchCursor? = HubSpotSearchCursor(modifiedSince: 1_700_000_001_000)
            var emails: [String] = []
            var highWaterMark: Int64 = 0
            while let current = cursor {
                let page = try await hubspot.searchModified(.contacts, cursor: current, properties: ["email"], logger: logger)
                emails += page.records.compactMap { $0["email"] }
                highWaterMark = page.highWaterMark
                cursor = page.next
            }
            #expect(emails == ["p1@x.io", "p2@x.io", "p3@x.io", "p4@x.io", "p5@x.io", "p6@x.io", "p0@x.io"])
            #expect(highWaterMark == 1_700_000_007_000)
        }
    }

    @Test func searchRestartsFromTheLastModificationTimeAtTheTenThousandCeiling() async throws {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock, rateLimits: .init(perTenSeconds: 190, perDay: 1000, searchPerSecond: 1000))
        for batch in 0..<101 {
            let inputs = (0..<100).map { #"{"properties":{"name":"C\#(batch)-\#($0)"}}"# }.joined(separator: ",")
            _ = simulator.call("POST", "/crm/v3/objects/companies/batch/create", body: #"{"inputs":[\#(inputs)]}"#)
            clock.advance(ms: 1_000)
        }
        try await withServer(simulator) { base in
            let hubspot = client(base)
            var cursor: HubSpotSearchCursor? = HubSpotSearchCursor(modifiedSince: 0)
            var ids: Set<String> = []
            var restarts = 0
            while let current = cursor {
                let page = try await hubspot.searchModified(.companies, cursor: current, properties: ["name"], logger: logger)
                ids.formUnion(page.records.map(\.id))
                if let next = page.next, next.modifiedSince != current.modifiedSince { restarts += 1 }
                cursor = page.next
            }
            #expect(ids.count == 10_100)
            #expect(restarts == 1)
        }
    }

    @Test func createsAssociations() async throws {
        let simulator = makeSimulator()
        let deal = try #require(simulator.call("POST", "/crm/v3/objects/deals", body: #"{"properties":{}}"#).json["id"].string)
        let company = try #require(
            simulator.call("POST", "/crm/v3/objects/companies", body: #"{"properties":{}}"#).json["id"].string)
        let contact = try #require(
            simulator.call("POST", "/crm/v3/objects/contacts", body: #"{"properties":{}}"#).json["id"].string)
        let line = try #require(simulator.call("POST", "/crm/v3/objects/line_items", body: #"{"properties":{}}"#).json["id"].string)
        try await withServer(simulator) { base in
            let hubspot = client(base)
            try await hubspot.associate(.deals, deal, to: .companies, company, types: [.dealToPrimaryCompany], logger: logger)
            try await hubspot.associateDefault(.deals, deal, to: .contacts, contact, logger: logger)
            let failed = try await hubspot.batchAssociate(
                .lineItems, to: .deals,
                [
                    HubSpotAssociationInput(fromID: line, toID: deal, types: [.lineItemToDeal]),
                    HubSpotAssociationInput(fromID: "1", toID: deal, types: [.lineItemToDeal]),
                ], logger: logger)
            #expect(failed.count == 1)
        }
        let companies = simulator.call("GET", "/crm/v4/objects/deals/\(deal)/associations/companies").json
        #expect(companies["results"][0]["associationTypes"][0]["typeId"] == 5)
        let contacts = simulator.call("GET", "/crm/v4/objects/deals/\(deal)/associations/contacts").json
        #expect(contacts["results"][0]["associationTypes"][0]["typeId"] == 3)
        let lines = simulator.call("GET", "/crm/v4/objects/deals/\(deal)/associations/line_items").json
        #expect(lines["results"][0]["toObjectId"].int == Int(line))
    }

    @Test func classifiesFailuresIntoRetryOrRejectWithWhatToFix() async throws {
        // One request per ten seconds: the rejected token is not counted, the property error is, then the limit bites.
        let simulator = makeSimulator(rateLimits: .init(perTenSeconds: 1, perDay: 1000))
        try await withServer(simulator) { base in
            func failure(_ call: () async throws -> Void) async -> HubSpotAPIError? {
                do {
                    try await call()
                    return nil
                } catch {
                    return error as? HubSpotAPIError
                }
            }
            let wrongToken = await failure {
                _ = try await client(base, token: "pat-na1-secret-wrong").batchRead(.deals, ids: ["1"], properties: [], logger: logger)
            }
            #expect(wrongToken?.kind == .unauthorized)
            #expect(wrongToken?.outcome == .reject(wrongToken!.failure))
            #expect(wrongToken?.message.contains("private app access token") == true)
            #expect(wrongToken?.message.contains("secret-wrong") == false)

            let badProperty = await failure {
                _ = try await client(base).batchUpdate(.deals, [HubSpotUpdateInput(id: "1", properties: ["colour": "red"])], logger: logger)
            }
            #expect(badProperty?.kind == .invalid)
            #expect(badProperty?.properties == ["colour"])
            #expect(badProperty?.message.contains("colour") == true)
            #expect(badProperty?.message.contains("PROPERTY_DOESNT_EXIST") == true)
            #expect(badProperty?.failure.kind == .rejected)

            let limited = await failure {
                _ = try await client(base).batchRead(.deals, ids: ["1"], properties: [], logger: logger)
            }
            #expect(limited?.kind == .rateLimited)
            #expect(limited?.retryAfter == .seconds(10))
            #expect(limited?.failure.kind == .rateLimited)
            #expect(limited?.isRetryable == true)

            simulator.faults.set(FaultPlan(errorRate: 1, errorStatus: 503))
            let unavailable = await failure {
                _ = try await client(base).batchRead(.deals, ids: ["1"], properties: [], logger: logger)
            }
            #expect(unavailable?.kind == .unavailable)
            #expect(unavailable?.outcome == .retry(unavailable!.failure))
        }
    }
}
