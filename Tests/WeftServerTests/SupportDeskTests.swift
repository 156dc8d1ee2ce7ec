import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Testing
import WeftCore
import WeftRuntime
import WeftServer
import WeftSimFreshdesk
import WeftSimKit
import WeftSimZendesk
import WeftTools

/// Dunning end to end over real HTTP: a failed Stripe payment shows as past due on the Odoo partner, the Zendesk
/// organisation and the Freshdesk company, within one pipeline pass; the recovered payment clears it everywhere; a
/// desk outage delays, never loses, the update; and the entitlement answers by the desks' own ids.
@Suite("Support desks show dunning and entitlements end to end", .serialized)
struct SupportDeskTests {
    static let zendeskToken = "zd-e2e-token"
    static let zendeskEmail = "weft@acme-desk.example"
    static let freshdeskKey = "fd-e2e-key"
    static let rules = EntitlementRules(
        tiers: [.init(name: "pro", rank: 2, products: ["prod_weft_pro"], supportLevel: "priority")], graceDays: 7)
    static let zendeskFields = DeskFieldMap(
        tier: "weft_tier", status: "weft_status", standing: "weft_standing", overdueAmount: "weft_overdue_amount",
        contractEnd: "weft_contract_end", supportLevel: "weft_support_level")
    static let freshdeskFields = DeskFieldMap(
        account: "weft_account", tier: "weft_tier", status: "weft_status", standing: "weft_standing",
        overdueAmount: "weft_overdue_amount", supportLevel: "weft_support_level")

    struct Desks: Sendable {
        let node: TestNode
        let zendesk: ZendeskSimulator
        let zendeskURL: String
        let freshdesk: FreshdeskSimulator
        let freshdeskURL: String

        /// The organisation Zendesk holds for `customer`, read over the API as an agent's tool would.
        func organization(_ customer: String) async throws -> JSONValue? {
            let answer = try await get(
                "\(zendeskURL)/api/v2/organizations/search.json?external_id=stripe_customer_\(customer)",
                authorization: "Basic "
                    + Data("\(SupportDeskTests.zendeskEmail)/token:\(SupportDeskTests.zendeskToken)".utf8).base64EncodedString())
            return answer["organizations"]?.arrayValue?.first
        }

        /// The company Freshdesk holds for `customer` (by Weft's account field).
        func company(_ customer: String) async throws -> JSONValue? {
            let answer = try await get(
                "\(freshdeskURL)/api/v2/companies?per_page=100",
                authorization: "Basic " + Data("\(SupportDeskTests.freshdeskKey):X".utf8).base64EncodedString())
            return answer.arrayValue?.first {
                $0["custom_fields"]?["weft_account"]?.stringValue == "stripe_customer_\(customer)"
            }
        }

        func get(_ url: String, authorization: String) async throws -> JSONValue {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "Authorization", value: authorization)
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else { throw HarnessError("GET \(url): \(response.status.code)") }
            return try JSONValue.parse(Data(body.readableBytesView))
        }

        func lookup(_ path: String) async throws -> (status: Int, body: JSONValue) {
            try await node.entitlementLookup(path)
        }
    }

    /// Starts Zendesk and Freshdesk simulators (with the fields an admin would create), then a Weft node whose Stripe
    /// flows go to Odoo and to both desks.
    static func withDesks(
        zendeskFieldsDefined: Bool = true, zendeskStandingChoices: [String]? = nil,
        _ body: @Sendable @escaping (Desks) async throws -> Void
    ) async throws {
        let logger = Logger(label: "e2e", factory: { _ in SwiftLogNoOpLogHandler() })
        let zendesk = ZendeskSimulator(
            configuration: .init(agentEmail: zendeskEmail, apiTokens: [zendeskToken], logger: logger))
        for key in zendeskFields.fieldNames where zendeskFieldsDefined || key != "weft_tier" {
            // The standing as a dropdown with these choices, when given; every other field as text.
            let field =
                if key == "weft_standing", let choices = zendeskStandingChoices {
                    #""type":"dropdown","custom_field_options":["#
                        + choices.map { #"{"name":"\#($0)","value":"\#($0)"}"# }.joined(separator: ",") + "]"
                } else {
                    #""type":"text""#
                }
            let created = zendesk.call(
                "POST", "/api/v2/organization_fields.json",
                body: #"{"organization_field":{"key":"\#(key)",\#(field),"title":"\#(key)"}}"#)
            #expect(created.status == 201)
        }
        let freshdesk = FreshdeskSimulator(
            configuration: .init(
                apiKeys: [freshdeskKey],
                companyFields: freshdeskFields.fieldNames.map { FreshdeskSimulator.CustomField(name: $0, label: $0) },
                logger: logger))
        let zendeskRouter = Router()
        zendesk.addRoutes(to: zendeskRouter)
        try await SimulatorServer.withRunning(router: zendeskRouter, logger: logger) { zendeskPort in
            let freshdeskRouter = Router()
            freshdesk.addRoutes(to: freshdeskRouter)
            try await SimulatorServer.withRunning(router: freshdeskRouter, logger: logger) { freshdeskPort in
                let zendeskURL = "http://127.0.0.1:\(zendeskPort)"
                let freshdeskURL = "http://127.0.0.1:\(freshdeskPort)"
                try await TestNode.with(
                    entitlements: rules,
                    extraSystems: [
                        "zendesk": .desk(
                            DeskSystemConfiguration(
                                kind: .zendesk, baseURL: zendeskURL, email: zendeskEmail, apiKey: .environment("ZD"),
                                fields: zendeskFields)),
                        "freshdesk": .desk(
                            DeskSystemConfiguration(
                                kind: .freshdesk, baseURL: freshdeskURL, apiKey: .environment("FD"), fields: freshdeskFields)),
                    ],
                    extraFlows: [
                        Flow(name: "to_zendesk", source: "stripe", target: "zendesk"),
                        Flow(name: "to_freshdesk", source: "stripe", target: "freshdesk"),
                    ],
                    extraEnvironment: ["ZD": zendeskToken, "FD": freshdeskKey]
                ) { node in
                    try await body(
                        Desks(node: node, zendesk: zendesk, zendeskURL: zendeskURL, freshdesk: freshdesk, freshdeskURL: freshdeskURL))
                }
            }
        }
    }

    static func failedPayment(_ customer: String, at t: Int64) -> [StripeTestEvent] {
        let factory = StripeEventFactory(prefix: "D\(customer)")
        return [
            factory.customerCreated(customer, name: "Desk \(customer)", email: "ops@\(customer.lowercased()).example", at: t),
            factory.subscription(
                "sub_\(customer)", customer: customer, status: "active", product: "prod_weft_pro", price: "price_weft_pro",
                amount: 2500, periodEnd: t + 30 * 86_400, at: t + 1),
            factory.invoice("in_\(customer)", customer: customer, status: "open", amount: 2500, type: "invoice.finalized", at: t + 2),
            factory.invoice(
                "in_\(customer)", customer: customer, status: "open", amount: 2500, type: "invoice.payment_failed", at: t + 3,
                attempt: 1),
        ]
    }

    static func paid(_ customer: String, at t: Int64) -> StripeTestEvent {
        StripeEventFactory(prefix: "P\(customer)").invoice(
            "in_\(customer)", customer: customer, status: "paid", amount: 2500, type: "invoice.paid", at: t)
    }

    @Test func dunningReachesOdooAndBothDesksAndRecoveryClearsIt() async throws {
        try await Self.withDesks { desks in
            let customer = "cus_D1"
            let t = Int64(Date().timeIntervalSince1970) - 86_400
            #expect(await desks.node.send(Self.failedPayment(customer, at: t)).abandoned.isEmpty)
            _ = try await desks.node.drain()

            #expect(try await desks.node.odooSummary(namePrefix: "Desk ").pastDue == 1)
            let organization = try #require(try await desks.organization(customer))
            #expect(organization["name"]?.stringValue == "Desk \(customer)")
            #expect(organization["domain_names"]?.arrayValue?.compactMap(\.stringValue) == ["cus_d1.example"])
            let orgFields = organization["organization_fields"]
            #expect(orgFields?["weft_status"]?.stringValue == "past_due")
            #expect(orgFields?["weft_standing"]?.stringValue == "overdue")
            #expect(orgFields?["weft_overdue_amount"]?.stringValue == "25.00 USD")
            #expect(orgFields?["weft_tier"]?.stringValue == "pro")
            #expect(orgFields?["weft_support_level"]?.stringValue == "priority")
            let company = try #require(try await desks.company(customer))
            #expect(company["custom_fields"]?["weft_standing"]?.stringValue == "overdue")
            #expect(company["custom_fields"]?["weft_overdue_amount"]?.stringValue == "25.00 USD")
            // The billing customer's email is an end user of the organization and a contact of the company.
            let users = try JSONValue.parse(
                Data(desks.zendesk.call("GET", "/api/v2/users/search.json?query=email:ops@cus_d1.example").body))
            #expect(
                users["users"]?.arrayValue?.map { [$0["organization_id"], $0["role"]] }
                    == [[organization["id"] ?? .null, "end-user"]])
            let contacts = try JSONValue.parse(
                Data(desks.freshdesk.call("GET", "/api/v2/contacts", query: [("email", "ops@cus_d1.example")]).body))
            #expect(contacts.arrayValue?.map { $0["company_id"] } == [company["id"] ?? .null])

            // The agent's tools ask by their own ids.
            let orgID = try #require(organization["id"]?.intValue)
            let byOrganization = try await desks.lookup("zendesk/\(orgID)")
            #expect(byOrganization.status == 200)
            #expect(byOrganization.body["account"]?.stringValue == "stripe/customer/\(customer)")
            #expect(byOrganization.body["status"]?.stringValue == "past_due")
            let companyID = try #require(company["id"]?.intValue)
            #expect(try await desks.lookup("freshdesk/\(companyID)").body["status"]?.stringValue == "past_due")
            #expect(try await desks.lookup("zendesk/\(orgID + 999)").status == 404)

            #expect(await desks.node.send([Self.paid(customer, at: t + 10)]).abandoned.isEmpty)
            _ = try await desks.node.drain()
            #expect(try await desks.node.odooSummary(namePrefix: "Desk ").pastDue == 0)
            let cleared = try #require(try await desks.organization(customer))
            #expect(cleared["id"]?.intValue == orgID)
            #expect(cleared["organization_fields"]?["weft_standing"]?.stringValue == "good")
            #expect(cleared["organization_fields"]?["weft_status"]?.stringValue == "active")
            #expect(cleared["organization_fields"]?["weft_overdue_amount"] == .null)
            let clearedCompany = try #require(try await desks.company(customer))
            #expect(clearedCompany["id"]?.intValue == companyID)
            #expect(clearedCompany["custom_fields"]?["weft_standing"]?.stringValue == "good")
            #expect(clearedCompany["custom_fields"]?["weft_overdue_amount"] == .null)
            #expect(try await desks.lookup("zendesk/\(orgID)").body["standing"]?["state"]?.stringValue == "good")
        }
    }

    /// The grace period ends with no new event from billing: the clock rechecks the account and the desk gets the
    /// lower support level.
    @Test func theSupportLevelDropsWhenTheGracePeriodEndsWithNoNewEvent() async throws {
        try await Self.withDesks { desks in
            let customer = "cus_D3"
            // The payment failed seven days ago less eight seconds: the grace period ends eight seconds from now.
            let t = Int64(Date().timeIntervalSince1970) - 7 * 86_400 + 8 - 3
            #expect(await desks.node.send(Self.failedPayment(customer, at: t)).abandoned.isEmpty)
            _ = try await desks.node.drain()
            let initial = try await desks.organization(customer)?["organization_fields"]?["weft_support_level"]?.stringValue
            try await waitUntil {
                try await desks.organization(customer)?["organization_fields"]?["weft_support_level"]?.stringValue == "basic"
            }
            let organization = try #require(try await desks.organization(customer))
            #expect(organization["organization_fields"]?["weft_standing"]?.stringValue == "overdue")
            if initial == "priority" {
                // Nothing came from billing since: the drop came from the recheck the clock queued.
                let events = try await desks.node.store.listEvents(status: nil, limit: 100)
                #expect(
                    events.contains { $0.type == PipelineProcessor.recheckType && $0.entityKey.rawValue == "stripe/customer/\(customer)" })
            }
            #expect(try await desks.lookup("stripe/\(customer)").body["support_level"]?.stringValue == "basic")
        }
    }

    /// A field the desk does not define would be dropped silently: the node refuses to start and names it.
    @Test func aDeskWithoutAConfiguredFieldStopsTheStartSayingWhatToCreate() async throws {
        await #expect {
            try await Self.withDesks(zendeskFieldsDefined: false) { _ in }
        } throws: { error in
            "\(error)".contains("the desk has no field weft_tier") && "\(error)".contains("Organization fields")
        }
    }

    /// A dropdown without a value Weft writes would keep its old value without a word (Zendesk drops an option it does
    /// not have): the node refuses to start and names the choice to add. With every choice it starts.
    @Test func aDeskDropdownLackingAValueWeftWritesStopsTheStart() async throws {
        await #expect {
            try await Self.withDesks(zendeskStandingChoices: ["good"]) { _ in }
        } throws: { error in
            "\(error)".contains(
                "systems.zendesk: the dropdown weft_standing (systems.zendesk.fields.standing) has no choice overdue")
        }
        try await Self.withDesks(zendeskStandingChoices: ["good", "overdue"]) { desks in
            let unknown = try await desks.lookup("stripe/cus_nobody")
            #expect(unknown.status == 404)
        }
    }

    /// A desk in full outage holds its update back (retried), while Odoo gets it at once; when the desk returns the
    /// update lands, once.
    @Test func aDeskOutageDelaysButNeverLosesTheUpdate() async throws {
        try await Self.withDesks { desks in
            let customer = "cus_D2"
            let t = Int64(Date().timeIntervalSince1970) - 86_400
            desks.zendesk.faults.set(.init(outageSeconds: 600))
            #expect(await desks.node.send(Self.failedPayment(customer, at: t)).abandoned.isEmpty)
            // Odoo and Freshdesk are updated while Zendesk refuses every call.
            try await waitUntil { try await desks.node.odooSummary(namePrefix: "Desk ").pastDue == 1 }
            try await waitUntil { try await desks.company(customer)?["custom_fields"]?["weft_standing"]?.stringValue == "overdue" }
            let pending = try await desks.node.store.listCommands(filter: CommandFilter(target: "zendesk"), limit: 10)
            #expect(!pending.isEmpty && pending.allSatisfy { $0.status != .delivered && $0.status != .dead })
            desks.zendesk.faults.clear()
            _ = try await desks.node.drain()
            let organization = try #require(try await desks.organization(customer))
            #expect(organization["organization_fields"]?["weft_standing"]?.stringValue == "overdue")
            let all = try desks.zendesk.call("GET", "/api/v2/organizations.json?page[size]=100").json()
            #expect(all["organizations"]?.arrayValue?.count == 1)
        }
    }
}

/// Polls `condition` until it holds (the pipeline is asynchronous); fails after 60 s.
func waitUntil(_ condition: @Sendable () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now.advanced(by: .seconds(60))
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw HarnessError("condition not met within 60 s")
}

extension ZendeskSimulator.CallResult {
    func json() throws -> JSONValue { try JSONValue.parse(Data(body)) }
}
