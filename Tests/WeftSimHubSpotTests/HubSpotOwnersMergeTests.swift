import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1
import Testing
import WeftConnectors
import WeftCore
import WeftSimKit

@testable import WeftSimHubSpot

private let owners: [HubSpotSimulator.Configuration.Owner] = [
    .init(id: 501, email: "ada@acme.test", firstName: "Ada", lastName: "Lovelace", teams: ["EMEA Sales", "Key Accounts"]),
    .init(id: 502, email: "bob@acme.test", firstName: "Bob", lastName: "Builder"),
    .init(id: 503, email: "cy@acme.test", firstName: "Cy"),
    .init(id: 504, email: "gone@acme.test", firstName: "Gone", archived: true),
]

private func accountsSimulator(
    clock: TestClock = TestClock(), webhooks: HubSpotSimulator.Configuration.Webhooks = .init()
) -> HubSpotSimulator {
    HubSpotSimulator(
        configuration: .init(
            accessTokens: [token], rateLimits: .init(perTenSeconds: 190, perDay: 10_000, searchPerSecond: 100),
            customProperties: ["companies": ["vat_number", "payment_terms"]], idSeed: 11, now: { clock.now },
            webhooks: webhooks, owners: owners))
}

private func create(_ simulator: HubSpotSimulator, _ type: String, _ properties: String) throws -> String {
    let result = simulator.call("POST", "/crm/v3/objects/\(type)", body: #"{"properties":\#(properties)}"#)
    return try #require(result.json["id"].string)
}

@Suite struct HubSpotOwnersMergeTests {
    @Test func ownersAreListedByEmailPagedAndReadByID() async throws {
        let simulator = accountsSimulator()
        try await withServer(simulator) { base in
            let first = try await request(.GET, base + "/crm/v3/owners?limit=2")
            #expect(first.status == 200)
            #expect(first.json["results"].array?.compactMap { $0["id"].string } == ["501", "502"])
            let after = try #require(first.json["paging"]["next"]["after"].string)
            let second = try await request(.GET, base + "/crm/v3/owners/?limit=2&after=\(after)")
            // The deactivated owner is not listed; the last page has no `paging`.
            #expect(second.json["results"].array?.compactMap { $0["id"].string } == ["503"])
            #expect(second.json["paging"].isNull)

            let byEmail = try await request(.GET, base + "/crm/v3/owners?email=ADA%40acme.test")
            let ada = byEmail.json["results"][0]
            #expect(byEmail.json["results"].array?.count == 1)
            #expect(ada["id"] == "501")
            #expect(ada["email"] == "ada@acme.test")
            #expect(ada["firstName"] == "Ada")
            #expect(ada["lastName"] == "Lovelace")
            #expect(ada["type"] == "PERSON")
            #expect(ada["userId"].int == 1_000_501)
            #expect(ada["archived"] == false)
            #expect(ada["teams"][0]["name"] == "EMEA Sales")
            #expect(ada["teams"][0]["primary"] == true)
            #expect(ada["teams"][1]["primary"] == false)

            let one = try await request(.GET, base + "/crm/v3/owners/502")
            #expect(one.json["email"] == "bob@acme.test")
            let byUser = try await request(.GET, base + "/crm/v3/owners/1000503?idProperty=userId")
            #expect(byUser.json["id"] == "503")
            let missing = try await request(.GET, base + "/crm/v3/owners/999")
            #expect(missing.status == 404)
            #expect(missing.json["category"] == "OBJECT_NOT_FOUND")
            let archived = try await request(.GET, base + "/crm/v3/owners?archived=true")
            #expect(archived.json["results"].array?.compactMap { $0["id"].string } == ["504"])
            #expect(try await request(.GET, base + "/crm/v3/owners", auth: nil).status == 401)
        }
    }

    @Test func recordsTakeActiveOwnerIDsAndConfiguredCustomProperties() async throws {
        let simulator = accountsSimulator()
        let company = try create(simulator, "companies", #"{"name":"Acme"}"#)
        try await withServer(simulator) { base in
            let owned = try await request(
                .PATCH, base + "/crm/v3/objects/companies/\(company)",
                #"{"properties":{"hubspot_owner_id":"501","vat_number":"DE123","payment_terms":"30 Days","industry":"RETAIL"}}"#)
            #expect(owned.status == 200)
            #expect(owned.json["properties"]["hubspot_owner_id"] == "501")
            #expect(owned.json["properties"]["payment_terms"] == "30 Days")
            for bad in ["999", "504"] {
                let refused = try await request(
                    .PATCH, base + "/crm/v3/objects/companies/\(company)", #"{"properties":{"hubspot_owner_id":"\#(bad)"}}"#)
                #expect(refused.status == 400)
                #expect(refused.json["errors"][0]["code"] == "INVALID_OPTION")
                #expect(refused.json["errors"][0]["context"]["propertyName"] == ["hubspot_owner_id"])
            }
            let cleared = try await request(
                .PATCH, base + "/crm/v3/objects/companies/\(company)", #"{"properties":{"hubspot_owner_id":""}}"#)
            #expect(cleared.json["properties"]["hubspot_owner_id"].isNull)
            let unknown = try await request(
                .PATCH, base + "/crm/v3/objects/companies/\(company)", #"{"properties":{"credit_limit":"5"}}"#)
            #expect(unknown.status == 400)
            #expect(unknown.json["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST")
        }
    }

    @Test func aCompanyMergeMakesANewRecordThatTheOldIDsLeadTo() async throws {
        let receiver = WebhookReceiver()
        try await SimulatorServer.withRunning(router: receiver.router(), logger: .init(label: "test.receiver")) { port in
            let simulator = accountsSimulator(
                webhooks: .init(
                    targetURL: "http://127.0.0.1:\(port)/hooks/hubspot", clientSecret: "s",
                    subscriptions: [.init(id: 9, subscriptionType: "company.merge")], retryBaseDelay: .milliseconds(1)))
            let keep = try create(simulator, "companies", #"{"name":"Acme","industry":"RETAIL"}"#)
            let gone = try create(simulator, "companies", #"{"name":"Acme Inc","vat_number":"DE123","phone":"+49 30 1"}"#)
            let first = try create(simulator, "contacts", #"{"email":"a@acme.io"}"#)
            let second = try create(simulator, "contacts", #"{"email":"b@acme.io"}"#)
            _ = simulator.call(
                "PUT", "/crm/v4/objects/contacts/\(first)/associations/companies/\(keep)",
                body: #"[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":1}]"#)
            _ = simulator.call(
                "PUT", "/crm/v4/objects/contacts/\(second)/associations/companies/\(gone)",
                body: #"[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":1}]"#)
            try await withServer(simulator) { base in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await simulator.runDelivery() }
                    let merged = try await request(
                        .POST, base + "/crm/v3/objects/companies/merge",
                        #"{"primaryObjectId":"\#(keep)","objectIdToMerge":"\#(gone)"}"#)
                    #expect(merged.status == 200)
                    let made = try #require(merged.json["id"].string)
                    #expect(made != keep && made != gone)
                    // The primary's values win; the other record fills what the primary lacks.
                    let read = try await request(
                        .GET,
                        base + "/crm/v3/objects/companies/\(keep)?properties=name,industry,vat_number,phone,hs_merged_object_ids")
                    #expect(read.status == 200)
                    #expect(read.json["id"].string == made)
                    #expect(read.json["properties"]["name"] == "Acme")
                    #expect(read.json["properties"]["industry"] == "RETAIL")
                    #expect(read.json["properties"]["vat_number"] == "DE123")
                    #expect(read.json["properties"]["hs_merged_object_ids"].string == "\(keep);\(gone)")
                    let batch = try await request(
                        .POST, base + "/crm/v3/objects/companies/batch/read",
                        #"{"inputs":[{"id":"\#(gone)"}],"properties":["name"]}"#)
                    #expect(batch.json["results"].array?.compactMap { $0["id"].string } == [made])
                    // The originals are archived: lists and searches show only the merged record.
                    let listed = try await request(.GET, base + "/crm/v3/objects/companies")
                    #expect(listed.json["results"].array?.compactMap { $0["id"].string } == [made])
                    // Both contacts moved; each keeps its one primary company.
                    let links = try await request(.GET, base + "/crm/v4/objects/companies/\(made)/associations/contacts")
                    #expect(Set(links.json["results"].array?.compactMap { $0["toObjectId"].int } ?? []) == [Int(first)!, Int(second)!])
                    let primary = try await request(.GET, base + "/crm/v4/objects/contacts/\(second)/associations/companies")
                    #expect(primary.json["results"][0]["toObjectId"].int == Int(made))
                    #expect(primary.json["results"][0]["associationTypes"][0]["typeId"] == 1)

                    let requests = await collectEvents(receiver, count: 1)
                    let event = requests[0].json[0]
                    #expect(event["subscriptionType"] == "company.merge")
                    #expect(event["objectId"].int == Int(made))
                    #expect(event["primaryObjectId"].int == Int(keep))
                    #expect(event["mergedObjectIds"] == [.int(Int(gone)!)])
                    #expect(event["newObjectId"].int == Int(made))
                    #expect(event["numberOfPropertiesMoved"].int == 2)
                    #expect(event["changeSource"] == "INTEGRATION")
                    let parsed = try #require(try HubSpotWebhookEvent.parse(requests[0].body).first)
                    #expect(parsed.survivingObjectID == Int64(made))
                    #expect(parsed.retiredObjectIDs == [Int64(keep)!, Int64(gone)!])
                    group.cancelAll()
                }
            }
        }
    }

    @Test func companiesAndContactsAreSearchedByModificationTime() async throws {
        let clock = TestClock()
        let simulator = accountsSimulator(clock: clock)
        let companies = try (0..<3).map { try create(simulator, "companies", #"{"name":"C\#($0)"}"#) }
        let contacts = try (0..<3).map { try create(simulator, "contacts", #"{"email":"p\#($0)@x.io"}"#) }
        clock.advance(ms: 5_000)
        _ = simulator.call("PATCH", "/crm/v3/objects/companies/\(companies[1])", body: #"{"properties":{"phone":"1"}}"#)
        _ = simulator.call("PATCH", "/crm/v3/objects/contacts/\(contacts[2])", body: #"{"properties":{"phone":"2"}}"#)
        let since = clock.now
        try await withServer(simulator) { base in
            for (type, property, expected) in [
                ("companies", "hs_lastmodifieddate", companies[1]), ("contacts", "lastmodifieddate", contacts[2]),
            ] {
                let found = try await request(
                    .POST, base + "/crm/v3/objects/\(type)/search",
                    #"{"filterGroups":[{"filters":[{"propertyName":"\#(property)","operator":"GTE","value":"\#(since)"}]}],"#
                        + #""sorts":[{"propertyName":"\#(property)","direction":"ASCENDING"}],"limit":200}"#)
                #expect(found.json["total"] == 1)
                #expect(found.json["results"][0]["id"].string == expected)
            }
        }
    }

    @Test func companyContactsAreReadInOneAssociationBatch() async throws {
        let simulator = accountsSimulator()
        let acme = try create(simulator, "companies", #"{"name":"Acme"}"#)
        let lonely = try create(simulator, "companies", #"{"name":"Lonely"}"#)
        let people = try (0..<2).map { try create(simulator, "contacts", #"{"email":"p\#($0)@acme.io"}"#) }
        for person in people {
            _ = simulator.call("PUT", "/crm/v4/objects/contacts/\(person)/associations/default/companies/\(acme)")
        }
        try await withServer(simulator) { base in
            let answer = try await request(
                .POST, base + "/crm/v4/associations/companies/contacts/batch/read",
                #"{"inputs":[{"id":"\#(acme)"},{"id":"\#(lonely)"}]}"#)
            #expect(answer.status == 207)
            #expect(answer.json["results"][0]["from"]["id"].string == acme)
            #expect(answer.json["results"][0]["to"].array?.compactMap { $0["toObjectId"].int } == people.map { Int($0)! })
            #expect(answer.json["results"][0]["to"][0]["associationTypes"][0]["typeId"] == 280)
            #expect(answer.json["errors"][0]["context"]["fromObjectIds"] == [.string(lonely)])
        }
    }

    @Test func propertyChangesOfCompaniesAndContactsSayWhereTheyCameFrom() async throws {
        let receiver = WebhookReceiver()
        try await withWebhooks(
            receiver: receiver,
            subscriptions: [
                .init(id: 1, subscriptionType: "company.propertyChange", propertyName: "name"),
                .init(id: 2, subscriptionType: "contact.propertyChange", propertyName: "jobtitle"),
            ]
        ) { simulator, base, _ in
            let company = try create(simulator, "companies", #"{"name":"Acme"}"#)
            let contact = try create(simulator, "contacts", #"{"email":"a@acme.io"}"#)
            _ = try await request(.PATCH, base + "/crm/v3/objects/companies/\(company)", #"{"properties":{"name":"Acme AG"}}"#)
            let api = await collectEvents(receiver, count: 1)[0].json[0]
            _ = simulator.call("PATCH", "/crm/v3/objects/contacts/\(contact)", body: #"{"properties":{"jobtitle":"CFO"}}"#)
            let user = await collectEvents(receiver, count: 1)[0].json[0]
            #expect(api["subscriptionType"] == "company.propertyChange")
            #expect(api["objectId"].int == Int(company))
            #expect(api["propertyValue"] == "Acme AG")
            #expect(api["changeSource"] == "INTEGRATION")
            #expect(api["sourceId"] == "54321")
            #expect(user["subscriptionType"] == "contact.propertyChange")
            #expect(user["propertyValue"] == "CFO")
            #expect(user["changeSource"] == "CRM_UI")
            #expect(user["sourceId"] == "userId:1001")
        }
    }
}

/// An owner whose address has a non-ASCII letter is found by it (the query carries it percent-encoded as UTF-8).
@Suite struct HubSpotOwnerLookupTests {
    @Test func anInternationalizedAddressIsSentEscapedAndFound() async throws {
        let simulator = HubSpotSimulator(
            configuration: .init(
                accessTokens: [token], owners: [.init(id: 601, email: "zoë@exämple.test", firstName: "Zoë")]))
        try await withServer(simulator) { base in
            let client = HubSpotClient(
                http: OutboundHTTPClient(client: HTTPClient.shared, gate: OpenGate()),
                configuration: HubSpotConfiguration(baseURL: base, accessToken: token))
            let found = try await client.owners(email: "zoë@exämple.test", logger: Logger(label: "test.hubspot.owners"))
            #expect(found.map(\.id) == ["601"])
        }
    }
}
