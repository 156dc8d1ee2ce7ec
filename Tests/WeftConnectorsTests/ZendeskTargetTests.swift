import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Synchronization
import Testing
import WeftConnectors
import WeftCore
import WeftSimKit
import WeftSimZendesk

@Suite struct ZendeskTargetTests {
    static let logger = Logger(label: "test.zendesk.target")
    static let fields = DeskFieldMap(
        tier: "weft_tier", status: "weft_status", standing: "weft_standing", overdueAmount: "weft_overdue_amount",
        overdueSince: "weft_overdue_since", contractEnd: "weft_contract_end", supportLevel: "weft_support_level")

    /// Records what the target told its gate.
    final class RecordingGate: RequestGate {
        private let pauses = Mutex<[Duration?]>([])
        var rateLimits: [Duration?] { pauses.withLock { $0 } }
        func acquire() async throws { try Task.checkCancellation() }
        func didReceiveRateLimit(retryAfter: Duration?) { pauses.withLock { $0.append(retryAfter) } }
    }

    /// A simulator with the Weft organization fields defined (all but those in `skipping`).
    static func simulator(rateLimit: Int = 400, now: Int = 1_767_225_640, skipping: Set<String> = []) -> ZendeskSimulator {
        let simulator = ZendeskSimulator(configuration: .init(rateLimitPerMinute: rateLimit, idSeed: 3, now: { now }))
        let types = ["weft_overdue_since": "date", "weft_contract_end": "date"]
        for key in fields.fieldNames where !skipping.contains(key) {
            _ = simulator.call(
                "POST", "/api/v2/organization_fields.json",
                body: #"{"organization_field":{"key":"\#(key)","type":"\#(types[key] ?? "text")","title":"\#(key)"}}"#)
        }
        return simulator
    }

    /// Runs `body` with the simulator served on a free port and a target pointed at it.
    static func withTarget<T: Sendable>(
        _ simulator: ZendeskSimulator, token: String = "zd_tok", fields: DeskFieldMap = ZendeskTargetTests.fields,
        gate: any RequestGate = OpenGate(), _ body: @escaping @Sendable (ZendeskTarget) async throws -> T
    ) async throws -> T {
        let router = Router()
        simulator.addRoutes(to: router)
        return try await SimulatorServer.withRunning(router: router, logger: logger) { port in
            let target = ZendeskTarget(
                configuration: ZendeskConfiguration(
                    baseURL: "http://127.0.0.1:\(port)/", auth: .apiToken(email: "agent@example.com", token: token),
                    fields: fields),
                client: HTTPClient.shared, gate: gate)
            return try await body(target)
        }
    }

    static func entitlement(
        _ id: String = "cus_1", name: String = "Acme", domain: String? = "acme.com", tier: String = "gold",
        standing: EntitlementStandingState = .good
    ) -> DeskEntitlement {
        DeskEntitlement(
            account: ExternalRef(system: "stripe", kind: .customer, id: id), name: name,
            email: domain.map { "billing@\($0)" }, domain: domain, tier: tier,
            status: standing == .overdue ? .pastDue : .active, standing: standing,
            overdueSince: standing == .overdue ? Date(timeIntervalSince1970: 1_766_000_000) : nil,
            overdue: standing == .overdue ? Money(amountMinor: 2500, currency: CurrencyCode(rawValue: "USD")!) : nil,
            contractEnd: Date(timeIntervalSince1970: 1_798_675_200), supportLevel: "premium")
    }

    static func deliver(_ target: ZendeskTarget, _ entitlement: DeskEntitlement) async -> DeliveryOutcome {
        let command = OutboxCommand(
            id: CommandID(1), target: "zendesk", entityKey: EntityKey.of(entitlement.account),
            idempotencyKey: IdempotencyKey("k1"), payload: .syncEntitlement(entitlement), traceID: TraceID("trace"),
            attempts: 0, createdAt: Date(timeIntervalSince1970: 1_767_225_600))
        return await target.deliver([command], logger: logger)[0]
    }

    static func organizations(_ simulator: ZendeskSimulator) throws -> [JSONValue] {
        let reply = simulator.call("GET", "/api/v2/organizations.json?per_page=100")
        return try JSONValue.parse(Data(reply.body))["organizations"]?.arrayValue ?? []
    }

    static func create(_ simulator: ZendeskSimulator, _ organization: String) throws -> Int64 {
        let reply = simulator.call("POST", "/api/v2/organizations.json", body: #"{"organization":\#(organization)}"#)
        return try #require(try JSONValue.parse(Data(reply.body))["organization"]?["id"]?.intValue)
    }

    static func recordID(_ outcome: DeliveryOutcome) -> String? {
        if case .delivered(let record, _) = outcome { return record?.id }
        return nil
    }

    // MARK: Creating and updating

    @Test func createsTheOrganizationWithItsFieldsThenUpdatesIt() async throws {
        let simulator = Self.simulator()
        try await Self.withTarget(simulator) { target in
            let first = await Self.deliver(target, Self.entitlement())
            let id = try #require(Self.recordID(first))
            var orgs = try Self.organizations(simulator)
            #expect(orgs.count == 1)
            let org = try #require(orgs.first)
            #expect(org["id"]?.intValue.map(String.init) == id)
            #expect(org["name"] == "Acme")
            #expect(org["external_id"] == "stripe_customer_cus_1")
            #expect(org["domain_names"] == ["acme.com"])
            let values = try #require(org["organization_fields"])
            #expect(values["weft_tier"] == "gold")
            #expect(values["weft_status"] == "active")
            #expect(values["weft_standing"] == "good")
            #expect(values["weft_contract_end"] == "2026-12-31T00:00:00+00:00")
            #expect(values["weft_support_level"] == "premium")
            #expect(values["weft_overdue_amount"] == .null)

            // Redelivery (e.g. after a crash before Weft recorded it) and a newer command: still one organization.
            #expect(Self.recordID(await Self.deliver(target, Self.entitlement())) == id)
            let second = await Self.deliver(target, Self.entitlement(name: "Acme Group", tier: "platinum"))
            #expect(Self.recordID(second) == id)
            orgs = try Self.organizations(simulator)
            #expect(orgs.count == 1)
            #expect(orgs.first?["organization_fields"]?["weft_tier"] == "platinum")
            // Weft created it, so it follows the billing name.
            #expect(orgs.first?["name"] == "Acme Group")
        }
    }

    @Test func pastDueThenRecoveredClearsTheOverdueFields() async throws {
        let simulator = Self.simulator()
        try await Self.withTarget(simulator) { target in
            _ = await Self.deliver(target, Self.entitlement(standing: .overdue))
            var values = try #require(try Self.organizations(simulator).first?["organization_fields"])
            #expect(values["weft_standing"] == "overdue")
            #expect(values["weft_status"] == "past_due")
            #expect(values["weft_overdue_amount"] == "25.00 USD")
            #expect(values["weft_overdue_since"] == "2025-12-17T00:00:00+00:00")

            _ = await Self.deliver(target, Self.entitlement(standing: .good))
            values = try #require(try Self.organizations(simulator).first?["organization_fields"])
            #expect(values["weft_standing"] == "good")
            #expect(values["weft_status"] == "active")
            #expect(values["weft_overdue_amount"] == .null)
            #expect(values["weft_overdue_since"] == .null)
        }
    }

    // MARK: Adopting

    @Test func adoptsTheLowestFreeOrganizationMatchedByDomainWithoutRenamingIt() async throws {
        let simulator = Self.simulator()
        _ = try Self.create(simulator, #"{"name":"Taken","external_id":"crm_77","domain_names":["beta.io"]}"#)
        let adopted = try Self.create(simulator, #"{"name":"Beta Corp","domain_names":["beta.io"]}"#)
        _ = try Self.create(simulator, #"{"name":"Beta Labs","domain_names":["beta.io","labs.io"]}"#)
        try await Self.withTarget(simulator) { target in
            let outcome = await Self.deliver(target, Self.entitlement("cus_2", name: "Beta", domain: "beta.io"))
            #expect(Self.recordID(outcome) == String(adopted))
            let orgs = try Self.organizations(simulator)
            #expect(orgs.count == 3)
            let org = try #require(orgs.first(where: { $0["id"]?.intValue == adopted }))
            #expect(org["name"] == "Beta Corp")
            #expect(org["external_id"] == "stripe_customer_cus_2")
            #expect(org["organization_fields"]?["weft_tier"] == "gold")

            // Later deliveries find it by external id and still never rename it.
            _ = await Self.deliver(target, Self.entitlement("cus_2", name: "Beta Renamed", domain: "beta.io"))
            let again = try Self.organizations(simulator).first(where: { $0["id"]?.intValue == adopted })
            #expect(again?["name"] == "Beta Corp")
        }
    }

    @Test func nameClashAdoptsAFreeSameNamedOrganizationElseDisambiguates() async throws {
        let simulator = Self.simulator()
        let free = try Self.create(simulator, #"{"name":"Gamma"}"#)
        _ = try Self.create(simulator, #"{"name":"Delta","external_id":"crm_1"}"#)
        try await Self.withTarget(simulator) { target in
            let adopted = await Self.deliver(target, Self.entitlement("cus_3", name: "Gamma", domain: nil))
            #expect(Self.recordID(adopted) == String(free))

            let disambiguated = await Self.deliver(target, Self.entitlement("cus_4", name: "Delta", domain: nil))
            let id = try #require(Self.recordID(disambiguated))
            let org = try Self.organizations(simulator).first(where: { $0["id"]?.intValue.map(String.init) == id })
            #expect(org?["name"] == "Delta (cus_4)")
            #expect(org?["external_id"] == "stripe_customer_cus_4")
            // The next delivery keeps the disambiguated name instead of trying the taken one again.
            _ = await Self.deliver(target, Self.entitlement("cus_4", name: "Delta", domain: nil))
            #expect(try Self.organizations(simulator).count == 3)
        }
    }

    // MARK: Failures

    @Test func rateLimitIsRetriedAfterZendesksRetryAfter() async throws {
        // One request a minute, 40 s into the minute: the lookup passes, the create gets 429 with Retry-After: 20.
        let simulator = Self.simulator(rateLimit: 1, now: 1_767_225_640)
        let gate = RecordingGate()
        let outcome = try await Self.withTarget(simulator, gate: gate) { target in
            await Self.deliver(target, Self.entitlement(domain: nil))
        }
        guard case .retry(let failure) = outcome else {
            Issue.record("expected a retry, got \(outcome)")
            return
        }
        #expect(failure.kind == .rateLimited)
        #expect(failure.status == 429)
        #expect(failure.retryAfter == .seconds(20))
        #expect(gate.rateLimits == [.seconds(20)])
        #expect(try Self.organizations(simulator).isEmpty)
    }

    @Test func serverErrorsAreRetried() async throws {
        let simulator = Self.simulator()
        simulator.faults.set(FaultPlan(errorRate: 1, errorStatus: 503))
        let outcome = try await Self.withTarget(simulator) { target in await Self.deliver(target, Self.entitlement()) }
        guard case .retry(let failure) = outcome else {
            Issue.record("expected a retry, got \(outcome)")
            return
        }
        #expect(failure.kind == .unavailable)
        #expect(failure.status == 503)
    }

    @Test func validationErrorsAreRejectedWithWhatToFix() async throws {
        // The tier is mapped onto a date field: Zendesk refuses "gold".
        let simulator = Self.simulator()
        _ = simulator.call(
            "POST", "/api/v2/organization_fields.json",
            body: #"{"organization_field":{"key":"weft_tier_date","type":"date","title":"Tier"}}"#)
        var fields = Self.fields
        fields.tier = "weft_tier_date"
        let outcome = try await Self.withTarget(simulator, fields: fields) { target in
            await Self.deliver(target, Self.entitlement())
        }
        guard case .reject(let failure) = outcome else {
            Issue.record("expected a rejection, got \(outcome)")
            return
        }
        #expect(failure.kind == .rejected)
        #expect(failure.status == 422)
        #expect(failure.message.contains("Tier: is invalid"))
    }

    @Test func refusedCredentialsAreRejectedNotRetried() async throws {
        let simulator = Self.simulator()
        let outcome = try await Self.withTarget(simulator, token: "revoked") { target in
            await Self.deliver(target, Self.entitlement())
        }
        guard case .reject(let failure) = outcome else {
            Issue.record("expected a rejection, got \(outcome)")
            return
        }
        #expect(failure.kind == .unauthorized)
        #expect(failure.status == 401)
        #expect(failure.message.contains("API token"))
        #expect(!failure.message.contains("revoked"))
    }

    @Test func otherCommandsAreRejected() async throws {
        let simulator = Self.simulator()
        let outcome = try await Self.withTarget(simulator) { target in
            let standing = Standing(
                customerRef: ExternalRef(system: "stripe", kind: .customer, id: "cus_1"), state: .good,
                since: Date(timeIntervalSince1970: 1_767_225_600))
            let command = OutboxCommand(
                id: CommandID(2), target: "zendesk", entityKey: EntityKey("stripe/customer/cus_1"),
                idempotencyKey: IdempotencyKey("k2"), payload: .setStanding(standing), traceID: TraceID("t"),
                attempts: 0, createdAt: Date(timeIntervalSince1970: 1_767_225_600))
            return await target.deliver([command], logger: Self.logger)[0]
        }
        guard case .reject(let failure) = outcome else {
            Issue.record("expected a rejection, got \(outcome)")
            return
        }
        #expect(failure.message == "Zendesk takes entitlement commands only")
    }

    @Test func missingFieldsNamesTheKeysZendeskLacks() async throws {
        let simulator = Self.simulator(skipping: ["weft_support_level", "weft_overdue_since"])
        let missing = try await Self.withTarget(simulator) { target in
            try await target.missingFields(logger: Self.logger)
        }
        #expect(missing == ["weft_overdue_since", "weft_support_level"])
    }

    /// A dropdown lacking a value Weft writes would keep its old value without a word (Zendesk ignores an option it
    /// does not have), and a dropdown where Weft writes an amount would never show it: both are named.
    @Test func fieldProblemsNameDropdownsThatCannotShowWhatWeftWrites() async throws {
        let simulator = Self.simulator(skipping: ["weft_standing", "weft_overdue_amount", "weft_support_level"])
        func dropdown(_ key: String, _ values: [String]) {
            let options = values.map { #"{"name":"\#($0)","value":"\#($0)"}"# }.joined(separator: ",")
            let created = simulator.call(
                "POST", "/api/v2/organization_fields.json",
                body: #"{"organization_field":{"key":"\#(key)","type":"dropdown","title":"\#(key)","custom_field_options":[\#(options)]}}"#)
            #expect(created.status == 201)
        }
        dropdown("weft_standing", ["good"])
        dropdown("weft_overdue_amount", ["small", "large"])
        dropdown("weft_support_level", ["priority", "standard", "basic", "none"])
        let rules = EntitlementRules(tiers: [.init(name: "pro", rank: 1, supportLevel: "priority")])
        let found = try await Self.withTarget(simulator) { target in
            try await target.fieldProblems(rules: rules, system: "zendesk", logger: Self.logger)
        }
        #expect(found.missing == [])
        #expect(
            found.choices == [
                "the dropdown weft_standing (systems.zendesk.fields.standing) has no choice overdue, which Weft writes "
                    + "there: add it to the field's choices, or make it a text field",
                "the field weft_overdue_amount (systems.zendesk.fields.overdue_amount) is a dropdown, but Weft writes text "
                    + "or a date there: make it a text or date field, or name another",
            ])
    }

    @Test func descriptionHidesTheToken() {
        let configuration = ZendeskConfiguration(
            baseURL: "https://acme.zendesk.com", auth: .apiToken(email: "agent@acme.com", token: "s3cr3t"),
            fields: Self.fields)
        #expect(!configuration.description.contains("s3cr3t"))
        #expect(configuration.description.contains("agent@acme.com"))
        let oauth = ZendeskConfiguration(baseURL: "https://acme.zendesk.com", auth: .oauth(token: "oauth_s3cr3t"))
        #expect(!oauth.description.contains("oauth_s3cr3t"))
    }
}
