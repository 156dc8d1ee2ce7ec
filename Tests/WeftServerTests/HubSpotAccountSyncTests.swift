import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import Prometheus
import Testing
import WeftConnectors
import WeftCore
import WeftRuntime
import WeftServer
import WeftSimHubSpot
import WeftSimKit
import WeftTools

/// HubSpot companies and contacts ↔ Odoo partners, both ways under field ownership, over real HTTP: the HubSpot
/// simulator (API and signed webhooks), a Weft node, the Odoo simulator.
@Suite(.serialized) struct HubSpotAccountSyncTests {
    static let token = "pat-na1-accounts"
    static let clientSecret = "hubspot-accounts-client-secret"
    /// HubSpot owns what sales people keep; Odoo owns the legal and financial fields.
    static let ownership = OwnershipRules(owners: [
        "account.name": "hubspot", "account.domain": "hubspot", "account.phone": "hubspot", "account.segment": "hubspot",
        "account.owner": "hubspot", "account.address": "odoo", "account.taxID": "odoo", "account.paymentTerms": "odoo",
        "contact.*": "hubspot",
    ])

    static func withAccounts(
        identity: [String]? = nil, registry: PrometheusCollectorRegistry? = nil,
        accounts: HubSpotAccountProperties = HubSpotAccountProperties(segment: nil, owner: nil, paymentTerms: nil),
        _ body: @Sendable @escaping (HubSpotSimulator, TestNode) async throws -> Void
    ) async throws {
        let hubspot = HubSpotSimulator(
            configuration: .init(
                accessTokens: [token], customProperties: ["companies": ["vat_number"]],
                webhooks: .init(
                    clientSecret: clientSecret,
                    subscriptions: [
                        .init(id: 1, subscriptionType: "company.creation"),
                        .init(id: 2, subscriptionType: "company.propertyChange", propertyName: "name"),
                        .init(id: 3, subscriptionType: "company.propertyChange", propertyName: "phone"),
                        .init(id: 4, subscriptionType: "company.propertyChange", propertyName: "vat_number"),
                        .init(id: 5, subscriptionType: "company.propertyChange", propertyName: "address"),
                        .init(id: 6, subscriptionType: "contact.creation"),
                        .init(id: 7, subscriptionType: "contact.propertyChange", propertyName: "phone"),
                        .init(id: 8, subscriptionType: "company.merge"),
                        .init(id: 9, subscriptionType: "company.propertyChange", propertyName: "industry"),
                    ])))
        let router = Router()
        hubspot.addRoutes(to: router)
        try await SimulatorServer.withRunning(router: router, logger: Logger(label: "hubspot", factory: { _ in SwiftLogNoOpLogHandler() }))
        {
            port in
            let crm = HubSpotSystemConfiguration(
                baseURL: "http://127.0.0.1:\(port)", accessToken: .environment("HUBSPOT_TOKEN"),
                clientSecrets: [.environment("HUBSPOT_SECRET")], currency: CurrencyCode(rawValue: "EUR")!,
                taxIDProperty: "vat_number", rateLimit: nil, catchUpInterval: .seconds(3600))
            var withAccounts = crm
            withAccounts.accounts = accounts
            try await TestNode.with(
                extraSystems: ["hubspot": .hubspot(withAccounts)],
                extraFlows: [
                    Flow(name: "crm_to_erp", source: "hubspot", target: "odoo"),
                    Flow(name: "erp_to_crm", source: "odoo", target: "hubspot"),
                ],
                extraEnvironment: ["HUBSPOT_TOKEN": token, "HUBSPOT_SECRET": clientSecret],
                odooStatusInterval: .milliseconds(200), ownership: ownership, odooIdentity: identity,
                logger: ProcessInfo.processInfo.environment["WEFT_TEST_LOG"] != nil
                    ? Logger(label: "e2e", factory: { StreamLogHandler.standardError(label: $0) })
                    : Logger(label: "e2e", factory: { _ in SwiftLogNoOpLogHandler() }),
                registry: registry
            ) { node in
                hubspot.setWebhookTarget("\(node.weftURL)/hooks/hubspot")
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await hubspot.runDelivery() }
                    defer { group.cancelAll() }
                    try await body(hubspot, node)
                }
            }
        }
    }

    static func create(_ hubspot: HubSpotSimulator, _ type: String, _ properties: [String: String], associations: String = "[]")
        throws -> String
    {
        let props = properties.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
        let result = hubspot.call(
            "POST", "/crm/v3/objects/\(type)", body: #"{"properties":{\#(props)},"associations":\#(associations)}"#)
        guard result.status == 201, let id = try JSONValue.parse(Data(result.body))["id"]?.stringValue else {
            throw HarnessError("creating a \(type) answered \(result.status): \(String(decoding: result.body, as: UTF8.self))")
        }
        return id
    }

    /// A company with one contact, as a sales person would create them.
    static func seedCompany(_ hubspot: HubSpotSimulator, name: String, domain: String, vat: String? = nil) throws -> (
        company: String, contact: String
    ) {
        var properties = ["name": name, "domain": domain, "phone": "+49 30 1"]
        if let vat { properties["vat_number"] = vat }
        let company = try create(hubspot, "companies", properties)
        let link = #"[{"to":{"id":"\#(company)"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":1}]}]"#
        let contact = try create(
            hubspot, "contacts", ["email": "ada@\(domain)", "firstname": "Ada", "lastname": "Buyer"], associations: link)
        return (company, contact)
    }

    static func company(_ hubspot: HubSpotSimulator, _ id: String) throws -> JSONValue {
        let result = hubspot.call(
            "GET", "/crm/v3/objects/companies/\(id)?properties=name,phone,vat_number,address,city,zip,country,domain")
        guard result.status == 200 else { throw HarnessError("GET company \(id) answered \(result.status)") }
        return try JSONValue.parse(Data(result.body))["properties"] ?? .null
    }

    static func patch(_ hubspot: HubSpotSimulator, _ type: String, _ id: String, _ properties: String) throws {
        let result = hubspot.call("PATCH", "/crm/v3/objects/\(type)/\(id)", body: #"{"properties":\#(properties)}"#)
        guard result.status == 200 else { throw HarnessError("PATCH \(type)/\(id) answered \(result.status)") }
    }

    /// The company partner bound to a HubSpot company.
    static func partner(_ node: TestNode, company: String) async throws -> JSONValue? {
        let bindings = try await node.odooRead(
            "ir.model.data", [["module", "=", "weft"], ["name", "=", .string("hubspot_account_\(company)")]], fields: ["res_id"])
        guard let id = bindings.first?["res_id"]?.intValue else { return nil }
        return try await node.odooRead(
            "res.partner", [["id", "=", .int(id)], ["active", "in", [true, false]]],
            fields: ["name", "vat", "street", "city", "website", "phone", "child_ids", "is_company"]
        ).first
    }

    static func odooWrite(_ node: TestNode, _ id: Int64, _ values: JSONValue) async throws {
        _ = try await node.http.odoo(
            node.odooURL, apiKey: TestNode.odooKey, database: nil, model: "res.partner", method: "write",
            body: ["ids": [.int(id)], "vals": values])
    }

    static func odooCreatePartner(_ node: TestNode, _ values: JSONValue) async throws -> Int64 {
        let result = try await node.http.odoo(
            node.odooURL, apiKey: TestNode.odooKey, database: nil, model: "res.partner", method: "create",
            body: ["vals_list": [values]])
        guard let id = result.arrayValue?.first?.intValue else { throw HarnessError("partner create answered \(result)") }
        return id
    }

    static func exceptions(_ node: TestNode) async throws -> [JSONValue] {
        try await node.adminJSON("/v1/exceptions")["exceptions"]?.arrayValue ?? []
    }

    /// Weft's writes: company updates in HubSpot, partner writes in Odoo (less the test's own).
    static func hubspotCompanyWrites(_ hubspot: HubSpotSimulator) -> Int {
        hubspot.requestLog.all.filter { $0.method == "POST" && $0.path.hasSuffix("/companies/batch/update") }.count
    }

    static func odooPartnerWrites(_ node: TestNode) -> Int {
        node.requests.all.filter { $0.path.hasSuffix("/res.partner/write") }.count
    }

    @Test func accountEditsOnBothSidesHonourOwnership() async throws {
        try await Self.withAccounts { hubspot, node in
            let seeded = try Self.seedCompany(hubspot, name: "Acme GmbH", domain: "acme.example", vat: "DE-FROM-CRM")
            await hubspot.waitUntilDeliveriesSettled()
            // HubSpot → Odoo: the company partner with what HubSpot owns, its contact as a child.
            try await waitUntil { try await Self.partner(node, company: seeded.company)?["name"]?.stringValue == "Acme GmbH" }
            let found = try await Self.partner(node, company: seeded.company)
            let created = try #require(found)
            let partnerID = try #require(created["id"]?.intValue)
            #expect(created["is_company"] == true)
            #expect(created["phone"]?.stringValue == "+49 30 1")
            // Odoo owns the VAT: HubSpot's value is not written.
            #expect(created["vat"] == false)
            try await waitUntil {
                try await node.odooCount("res.partner", [["parent_id", "=", .int(partnerID)], ["email", "=", "ada@acme.example"]]) == 1
            }

            // Odoo → HubSpot: the accountant sets the VAT and the legal address; a non-owner rename is dropped.
            try await Self.odooWrite(
                node, partnerID, ["vat": "DE123456789", "street": "Unter den Linden 1", "city": "Berlin", "name": "ACME (Odoo)"])
            try await waitUntil {
                let company = try Self.company(hubspot, seeded.company)
                return company["vat_number"]?.stringValue == "DE123456789" && company["address"]?.stringValue == "Unter den Linden 1"
            }
            let shown = try Self.company(hubspot, seeded.company)
            #expect(shown["name"]?.stringValue == "Acme GmbH")
            #expect(shown["city"]?.stringValue == "Berlin")

            // HubSpot → Odoo again: a rename by the owner reaches Odoo; a VAT typed in HubSpot (not its field) does not.
            try Self.patch(hubspot, "companies", seeded.company, #"{"name":"Acme Group GmbH","vat_number":"TYPO"}"#)
            await hubspot.waitUntilDeliveriesSettled()
            try await waitUntil { try await Self.partner(node, company: seeded.company)?["name"]?.stringValue == "Acme Group GmbH" }
            let renamed = try await Self.partner(node, company: seeded.company)
            #expect(renamed?["vat"]?.stringValue == "DE123456789")
            // One partner for the company: nothing was created twice.
            let companies = try await node.odooCount("res.partner", [["name", "=like", "Acme%"], ["is_company", "=", true]])
            #expect(companies == 1)
        }
    }

    /// HubSpot's `industry` holds HubSpot's own values; Odoo's industries have their own names. `segment_values`
    /// translates: the partner gets the Odoo industry the map names, and a value neither the map nor Odoo knows is
    /// refused naming the value and the map, leaving the partner as it was.
    @Test func hubSpotIndustriesReachOdooThroughTheSegmentMap() async throws {
        let accounts = HubSpotAccountProperties(
            segment: "industry", owner: nil, paymentTerms: nil,
            segmentValues: try ValueMap([
                .init(system: "COMPUTER_SOFTWARE", canonical: "Information and communication"),
                .init(system: "RETAIL", canonical: "Wholesale/Retail"),
            ]))
        try await Self.withAccounts(accounts: accounts) { hubspot, node in
            let company = try Self.create(hubspot, "companies", ["name": "Mapped GmbH", "industry": "COMPUTER_SOFTWARE"])
            await hubspot.waitUntilDeliveriesSettled()
            @Sendable func industry() async throws -> String? {
                let bindings = try await node.odooRead(
                    "ir.model.data", [["module", "=", "weft"], ["name", "=", .string("hubspot_account_\(company)")]],
                    fields: ["res_id"])
                guard let id = bindings.first?["res_id"]?.intValue else { return nil }
                let partner = try await node.odooRead("res.partner", [["id", "=", .int(id)]], fields: ["industry_id"]).first
                return partner?["industry_id"]?.arrayValue?.dropFirst().first?.stringValue
            }
            try await waitUntil { try await industry() == "Information and communication" }

            try Self.patch(hubspot, "companies", company, #"{"industry":"RETAIL"}"#)
            await hubspot.waitUntilDeliveriesSettled()
            try await waitUntil { try await industry() == "Wholesale/Retail" }

            // Neither named in the map nor an Odoo industry: refused, naming both ways out.
            try Self.patch(hubspot, "companies", company, #"{"industry":"MINING_METALS"}"#)
            await hubspot.waitUntilDeliveriesSettled()
            @Sendable func refusal() async throws -> String? {
                let dead = try await node.adminJSON("/v1/commands?status=dead").arrayValue ?? []
                return dead.lazy.compactMap { $0["last_error"]?.stringValue }.first { $0.contains("MINING_METALS") }
            }
            try await waitUntil { try await refusal() != nil }
            let message = try await refusal() ?? ""
            #expect(message.contains("accounts.segment_values"), "\(message)")
            #expect(try await industry() == "Wholesale/Retail")
        }
    }

    /// A map value HubSpot's dropdown lacks would be refused on every write: the node refuses to start and names it.
    @Test func aSegmentMapNamingValuesHubSpotLacksStopsTheStart() async throws {
        let accounts = HubSpotAccountProperties(
            segment: "industry", owner: nil, paymentTerms: nil,
            segmentValues: try ValueMap([.init(system: "Software", canonical: "Information and communication")]))
        await #expect {
            try await Self.withAccounts(accounts: accounts) { _, _ in Issue.record("the node started") }
        } throws: { error in
            "\(error)".contains("systems.hubspot.accounts.segment_values names Software")
                && "\(error)".contains("company property industry has no option")
        }
    }

    @Test func aLongStreamOfEditsOnBothSidesEndsEqualWithBoundedWrites() async throws {
        try await Self.withAccounts { hubspot, node in
            let seeded = try Self.seedCompany(hubspot, name: "Loop AG", domain: "loop.example")
            await hubspot.waitUntilDeliveriesSettled()
            try await waitUntil { try await Self.partner(node, company: seeded.company) != nil }
            let loop = try await Self.partner(node, company: seeded.company)
            let partnerID = try #require(loop?["id"]?.intValue)
            let baseHubSpotWrites = Self.hubspotCompanyWrites(hubspot)
            let baseOdooWrites = Self.odooPartnerWrites(node)
            // 40 edits, interleaved, each side editing its own fields, without waiting for the other side.
            var crmEdits = 0
            var erpEdits = 0
            for round in 0..<20 {
                try Self.patch(hubspot, "companies", seeded.company, #"{"phone":"+49 30 \#(round)","name":"Loop AG \#(round)"}"#)
                crmEdits += 1
                try await Self.odooWrite(node, partnerID, ["street": .string("Ring \(round)"), "vat": .string("CH-\(round)")])
                erpEdits += 1
            }
            await hubspot.waitUntilDeliveriesSettled()
            // Both sides end equal: each shows the last value of every field, from its owner.
            try await waitUntil {
                let company = try Self.company(hubspot, seeded.company)
                let partner = try await Self.partner(node, company: seeded.company)
                return company["address"]?.stringValue == "Ring 19" && company["vat_number"]?.stringValue == "CH-19"
                    && partner?["name"]?.stringValue == "Loop AG 19" && partner?["phone"]?.stringValue == "+49 30 19"
            }
            // Quiet: two more reads of each side find nothing to do, and nothing is pending.
            let settledAt = Date()
            try await waitUntil {
                let reached = try await node.store.cursor(CatchUpService.reachedCursorName("odoo")).flatMap { Int64($0) } ?? 0
                return Double(reached) / 1000 > settledAt.timeIntervalSince1970 + 0.5
            }
            try await waitUntil {
                for status in [CommandStatus.pending, .inFlight]
                where try await !node.store.listCommands(filter: CommandFilter(status: status), limit: 1).isEmpty {
                    return false
                }
                for status in [EventStatus.pending, .processing] where try await !node.store.listEvents(status: status, limit: 1).isEmpty {
                    return false
                }
                return true
            }
            let hubspotWrites = Self.hubspotCompanyWrites(hubspot) - baseHubSpotWrites
            let weftOdooWrites = Self.odooPartnerWrites(node) - baseOdooWrites - erpEdits
            // At most one write per edit on the other side (coalesced edits need fewer): no ping-pong.
            #expect(hubspotWrites <= erpEdits, "HubSpot writes \(hubspotWrites) for \(erpEdits) Odoo edits")
            #expect(weftOdooWrites <= crmEdits, "Odoo writes \(weftOdooWrites) for \(crmEdits) HubSpot edits")
            #expect(hubspotWrites >= 1 && weftOdooWrites >= 1)
            // And it stays quiet.
            let before = (Self.hubspotCompanyWrites(hubspot), Self.odooPartnerWrites(node))
            let quietFrom = Date()
            try await waitUntil {
                let reached = try await node.store.cursor(CatchUpService.reachedCursorName("odoo")).flatMap { Int64($0) } ?? 0
                return Double(reached) / 1000 > quietFrom.timeIntervalSince1970 + 0.5
            }
            #expect(Self.hubspotCompanyWrites(hubspot) == before.0)
            #expect(Self.odooPartnerWrites(node) == before.1)
        }
    }

    @Test func anExistingPartnerIsFoundByVATAndAnAmbiguousOneIsAnException() async throws {
        let registry = PrometheusCollectorRegistry()
        try await withMetricsFactory(PrometheusMetricsFactory(registry: registry)) {
            try await Self.ambiguousPartner(registry: registry)
        }
    }

    static func ambiguousPartner(registry: PrometheusCollectorRegistry) async throws {
        try await Self.withAccounts(identity: ["vat", "email_domain"], registry: registry) { hubspot, node in
            // Odoo knew the customer before the CRM did, under the same VAT (written differently).
            let existing = try await Self.odooCreatePartner(node, ["name": "Acme NV", "is_company": true, "vat": "BE0123456789"])
            let acme = try Self.seedCompany(hubspot, name: "Acme", domain: "acme-nv.example", vat: "BE 0123.456.789")
            // Two Odoo partners share a web domain: which one is the CRM's company is a person's call.
            _ = try await Self.odooCreatePartner(node, ["name": "Twin One", "is_company": true, "website": "https://twin.example"])
            _ = try await Self.odooCreatePartner(node, ["name": "Twin Two", "is_company": true, "website": "https://www.twin.example/"])
            let twin = try Self.seedCompany(hubspot, name: "Twin", domain: "twin.example")
            await hubspot.waitUntilDeliveriesSettled()
            try await waitUntil { try await Self.partner(node, company: acme.company)?["id"]?.intValue == existing }
            // The existing partner now carries HubSpot's name (HubSpot owns it) and keeps its VAT.
            try await waitUntil { try await Self.partner(node, company: acme.company)?["name"]?.stringValue == "Acme" }
            let matched = try await Self.partner(node, company: acme.company)
            #expect(matched?["vat"]?.stringValue == "BE0123456789")
            let sameVAT = try await node.odooCount("res.partner", [["is_company", "=", true], ["vat", "=", "BE0123456789"]])
            #expect(sameVAT == 1)
            // The twin: nothing created, an exception that names the candidates.
            try await waitUntil { try await Self.exceptions(node).contains { $0["type"]?.stringValue == "account_ambiguous" } }
            let listed = try await Self.exceptions(node)
            let exception = try #require(listed.first { $0["type"]?.stringValue == "account_ambiguous" })
            #expect(exception["subject"]?.stringValue == "hubspot/account/\(twin.company)")
            let twinPartner = try await Self.partner(node, company: twin.company)
            #expect(twinPartner == nil)
            let twins = try await node.odooCount("res.partner", [["name", "=like", "Twin%"], ["is_company", "=", true]])
            #expect(twins == 2)
            // The gauge counts what the list shows: the dead sync is ambiguous, not also "not synced" (nor a
            // `command_dead_sync_account`).
            var request = HTTPClientRequest(url: "\(node.weftURL)/metrics")
            request.method = .GET
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 22))
            func gauge(_ type: String) -> Double? {
                text.split(separator: "\n").first { $0.hasPrefix("weft_business_exceptions{") && $0.contains("type=\"\(type)\"") }
                    .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
            }
            #expect(gauge("account_ambiguous") == 1, "\(text)")
            #expect(gauge("account_not_synced") == 0, "\(text)")
            #expect(!text.contains("command_dead_sync_account"), "\(text)")
        }
    }

    @Test func aMergeInHubSpotRepointsTheMergedCompanysBinding() async throws {
        try await Self.withAccounts { hubspot, node in
            let first = try Self.seedCompany(hubspot, name: "Merge One", domain: "merge-one.example")
            let second = try Self.seedCompany(hubspot, name: "Merge Two", domain: "merge-two.example")
            await hubspot.waitUntilDeliveriesSettled()
            try await waitUntil {
                let one = try await Self.partner(node, company: first.company)
                let two = try await Self.partner(node, company: second.company)
                return one != nil && two != nil
            }
            let firstPartner = try await Self.partner(node, company: first.company)
            let survivorPartner = try #require(firstPartner?["id"]?.intValue)
            let merged = hubspot.call(
                "POST", "/crm/v3/objects/companies/merge",
                body: #"{"primaryObjectId":"\#(first.company)","objectIdToMerge":"\#(second.company)"}"#)
            #expect(merged.status == 200)
            let survivor = try JSONValue.parse(Data(merged.body))["id"]?.stringValue ?? first.company
            await hubspot.waitUntilDeliveriesSettled()
            // Both HubSpot ids now lead to the survivor's partner.
            try await waitUntil {
                let merged = try await Self.partner(node, company: second.company)
                let surviving = try await Self.partner(node, company: survivor)
                return merged?["id"]?.intValue == survivorPartner && surviving?["id"]?.intValue == survivorPartner
            }
        }
    }
}
