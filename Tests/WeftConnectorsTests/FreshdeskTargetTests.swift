import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Testing
import WeftConnectors
import WeftCore
import WeftSimFreshdesk
import WeftSimKit

/// The Freshdesk target over real HTTP against the Freshdesk simulator.
@Suite struct FreshdeskTargetTests {
    static let logger = Logger(label: "test.freshdesk.target")
    static let fieldMap = DeskFieldMap(
        account: "weft_account", tier: "weft_tier", status: "weft_status", standing: "weft_standing",
        overdueAmount: "weft_overdue_amount", overdueSince: "weft_overdue_since", contractEnd: "weft_contract_end",
        supportLevel: "weft_support_level")
    static let simulatorFields: [FreshdeskSimulator.CustomField] = [
        .init(label: "Weft account"), .init(label: "Weft tier"), .init(label: "Weft status"),
        .init(label: "Weft standing"), .init(label: "Weft overdue amount"),
        .init(label: "Weft overdue since", type: .date), .init(label: "Weft contract end", type: .date),
        .init(label: "Weft support level"),
    ]

    /// Runs `body` with a simulator on a free port and a target pointed at it.
    func withDesk<T: Sendable>(
        _ configuration: FreshdeskSimulator.Configuration = .init(companyFields: Self.simulatorFields),
        fields: DeskFieldMap = Self.fieldMap,
        _ body: @escaping @Sendable (FreshdeskSimulator, FreshdeskTarget) async throws -> T
    ) async throws -> T {
        let simulator = FreshdeskSimulator(configuration: configuration)
        let router = Router()
        simulator.addRoutes(to: router)
        return try await SimulatorServer.withRunning(router: router, logger: Self.logger) { port in
            let target = FreshdeskTarget(
                configuration: FreshdeskConfiguration(
                    baseURL: "http://127.0.0.1:\(port)/", apiKey: "fd_key123", fields: fields),
                client: HTTPClient.shared, gate: OpenGate())
            return try await body(simulator, target)
        }
    }

    static func entitlement(
        customer: String = "cus_1", name: String = "Acme", domain: String? = "acme.com", tier: String? = "pro",
        status: EntitlementStatus = .active, standing: EntitlementStandingState = .good, overdue: Money? = nil,
        overdueSince: Date? = nil
    ) -> DeskEntitlement {
        DeskEntitlement(
            account: ExternalRef(system: "stripe", kind: .customer, id: customer), name: name,
            email: domain.map { "billing@\($0)" }, domain: domain, tier: tier, status: status, standing: standing,
            overdueSince: overdueSince, overdue: overdue, contractEnd: Date(timeIntervalSince1970: 1_798_675_200),
            supportLevel: standing == .overdue ? "basic" : "premium")
    }

    static func command(_ payload: TargetCommand) -> OutboxCommand {
        OutboxCommand(
            id: CommandID(1), target: "freshdesk", entityKey: EntityKey("stripe/customer/cus_1"),
            idempotencyKey: IdempotencyKey("k1"), payload: payload, traceID: TraceID("trace"), attempts: 0,
            createdAt: Date(timeIntervalSince1970: 1_767_225_600))
    }

    static func deliver(_ target: FreshdeskTarget, _ entitlement: DeskEntitlement) async -> DeliveryOutcome {
        await target.deliver([command(.syncEntitlement(entitlement))], logger: logger)[0]
    }

    static func companies(_ simulator: FreshdeskSimulator) throws -> [JSONValue] {
        let reply = simulator.call("GET", "/api/v2/companies", query: [("per_page", "100")])
        return try JSONValue.parse(Data(reply.body)).arrayValue ?? []
    }

    static func company(_ simulator: FreshdeskSimulator, _ id: String) throws -> JSONValue {
        try JSONValue.parse(Data(simulator.call("GET", "/api/v2/companies/\(id)").body))
    }

    static func createCompany(_ simulator: FreshdeskSimulator, _ json: String) throws -> String {
        let reply = simulator.call("POST", "/api/v2/companies", body: json)
        #expect(reply.status == 201)
        return String(try JSONValue.parse(Data(reply.body))["id"]?.intValue ?? -1)
    }

    static func recordID(_ outcome: DeliveryOutcome) -> String? {
        if case .delivered(let record?, _) = outcome, record.model == "company" { return record.id }
        return nil
    }

    @Test func createsTheCompanyWithItsCustomFields() async throws {
        try await withDesk { simulator, target in
            let outcome = await Self.deliver(target, Self.entitlement())
            let id = try #require(Self.recordID(outcome))
            let company = try Self.company(simulator, id)
            #expect(company["name"]?.stringValue == "Acme")
            #expect(company["domains"] == ["acme.com"])
            let fields = try #require(company["custom_fields"])
            #expect(fields["weft_account"]?.stringValue == "stripe_customer_cus_1")
            #expect(fields["weft_tier"]?.stringValue == "pro")
            #expect(fields["weft_status"]?.stringValue == "active")
            #expect(fields["weft_contract_end"]?.stringValue == "2026-12-31")
            #expect(fields["weft_overdue_amount"]?.isNull == true)
        }
    }

    /// With a lagging search index the second delivery cannot find the company by search; the unique name leads
    /// back to it.
    @Test(arguments: [0, 600])
    func aSecondDeliveryUpdatesTheSameCompany(indexLagSeconds: Int) async throws {
        let configuration = FreshdeskSimulator.Configuration(
            companyFields: Self.simulatorFields, searchIndexLagSeconds: indexLagSeconds)
        try await withDesk(configuration) { simulator, target in
            let first = try #require(Self.recordID(await Self.deliver(target, Self.entitlement(tier: "pro"))))
            let second = try #require(Self.recordID(await Self.deliver(target, Self.entitlement(tier: "enterprise"))))
            #expect(first == second)
            #expect(try Self.companies(simulator).count == 1)
            #expect(try Self.company(simulator, first)["custom_fields"]?["weft_tier"]?.stringValue == "enterprise")
        }
    }

    @Test func adoptsTheCompanyWithTheAccountsDomainWithoutRenamingIt() async throws {
        try await withDesk { simulator, target in
            let existing = try Self.createCompany(simulator, #"{"name":"Acme Corporation","domains":["acme.com"]}"#)
            let id = try #require(Self.recordID(await Self.deliver(target, Self.entitlement(name: "Acme"))))
            #expect(id == existing)
            let company = try Self.company(simulator, id)
            #expect(company["name"]?.stringValue == "Acme Corporation")
            #expect(company["custom_fields"]?["weft_account"]?.stringValue == "stripe_customer_cus_1")
            #expect(try Self.companies(simulator).count == 1)
        }
    }

    @Test func leavesADomainCompanyOfAnotherAccountAlone() async throws {
        try await withDesk { simulator, target in
            let other = try Self.createCompany(
                simulator,
                #"{"name":"Acme Holding","domains":["acme.com"],"custom_fields":{"weft_account":"stripe_customer_cus_9"}}"#)
            let id = try #require(Self.recordID(await Self.deliver(target, Self.entitlement(name: "Acme"))))
            #expect(id != other)
            let company = try Self.company(simulator, id)
            #expect(company["domains"] == [])
            #expect(try Self.company(simulator, other)["custom_fields"]?["weft_account"]?.stringValue == "stripe_customer_cus_9")
        }
    }

    @Test func aNameClashWithAnotherAccountsCompanyCreatesADistinctName() async throws {
        try await withDesk { simulator, target in
            let other = try Self.createCompany(
                simulator, #"{"name":"Acme","custom_fields":{"weft_account":"stripe_customer_cus_9"}}"#)
            let entitlement = Self.entitlement(domain: nil)
            let id = try #require(Self.recordID(await Self.deliver(target, entitlement)))
            #expect(id != other)
            #expect(try Self.company(simulator, id)["name"]?.stringValue == "Acme (stripe_customer_cus_1)")
            let again = try #require(Self.recordID(await Self.deliver(target, entitlement)))
            #expect(again == id)
            #expect(try Self.companies(simulator).count == 2)
        }
    }

    @Test func adoptsASameNamedCompanyWithoutAWeftAccount() async throws {
        try await withDesk { simulator, target in
            let existing = try Self.createCompany(simulator, #"{"name":"Acme"}"#)
            let id = try #require(Self.recordID(await Self.deliver(target, Self.entitlement(domain: nil))))
            #expect(id == existing)
            #expect(try Self.company(simulator, id)["custom_fields"]?["weft_account"]?.stringValue == "stripe_customer_cus_1")
        }
    }

    @Test func pastDueThenRecoveredClearsTheOverdueFields() async throws {
        try await withDesk { simulator, target in
            let overdue = Self.entitlement(
                status: .pastDue, standing: .overdue, overdue: Money(amountMinor: 2500, currency: CurrencyCode(rawValue: "usd")!),
                overdueSince: Date(timeIntervalSince1970: 1_767_225_600))
            let id = try #require(Self.recordID(await Self.deliver(target, overdue)))
            var fields = try #require(try Self.company(simulator, id)["custom_fields"])
            #expect(fields["weft_status"]?.stringValue == "past_due")
            #expect(fields["weft_standing"]?.stringValue == "overdue")
            #expect(fields["weft_overdue_amount"]?.stringValue == "25.00 USD")
            #expect(fields["weft_overdue_since"]?.stringValue == "2026-01-01")
            #expect(fields["weft_support_level"]?.stringValue == "basic")
            #expect(Self.recordID(await Self.deliver(target, Self.entitlement())) == id)
            fields = try #require(try Self.company(simulator, id)["custom_fields"])
            #expect(fields["weft_status"]?.stringValue == "active")
            #expect(fields["weft_standing"]?.stringValue == "good")
            #expect(fields["weft_overdue_amount"]?.isNull == true)
            #expect(fields["weft_overdue_since"]?.isNull == true)
            #expect(fields["weft_support_level"]?.stringValue == "premium")
        }
    }

    @Test func aRateLimitRetriesAfterFreshdesksRetryAfter() async throws {
        try await withDesk { simulator, target in
            simulator.faults.set(FaultPlan(rateLimitRate: 1, retryAfterSeconds: 17, pathPrefix: "/api/v2/search"))
            let outcome = await Self.deliver(target, Self.entitlement())
            guard case .retry(let failure) = outcome else {
                Issue.record("expected a retry, got \(outcome)")
                return
            }
            #expect(failure.kind == .rateLimited)
            #expect(failure.status == 429)
            #expect(failure.retryAfter == .seconds(17))
            simulator.faults.clear()
            #expect(Self.recordID(await Self.deliver(target, Self.entitlement())) != nil)
        }
    }

    @Test func theAccountsOwnRateLimitIsARetryToo() async throws {
        let configuration = FreshdeskSimulator.Configuration(
            rateLimitPerMinute: 1, companyFields: Self.simulatorFields,
            now: { Date(timeIntervalSince1970: 1_767_225_600 + 20) })
        try await withDesk(configuration) { _, target in
            guard case .retry(let failure) = await Self.deliver(target, Self.entitlement()) else {
                Issue.record("expected a retry")
                return
            }
            #expect(failure.retryAfter == .seconds(40))
        }
    }

    @Test func anUndefinedFieldIsRejectedNamingTheField() async throws {
        var fields = Self.fieldMap
        fields.tier = "weft_plan"
        try await withDesk(fields: fields) { _, target in
            guard case .reject(let failure) = await Self.deliver(target, Self.entitlement()) else {
                Issue.record("expected a reject")
                return
            }
            #expect(failure.status == 400)
            #expect(failure.message.contains("'weft_plan'"))
            #expect(failure.message.contains("Company Fields"))
        }
    }

    @Test func reportsTheFieldsFreshdeskDoesNotDefine() async throws {
        var fields = Self.fieldMap
        fields.tier = "weft_plan"
        try await withDesk(fields: fields) { simulator, target in
            let before = try await target.missingFields(logger: Self.logger)
            #expect(before == ["weft_plan"])
            simulator.defineCompanyField(.init(name: "weft_plan", label: "Weft plan"))
            let after = try await target.missingFields(logger: Self.logger)
            #expect(after == [])
        }
    }

    /// Freshdesk refuses a value that is not one of a dropdown's choices: a dropdown lacking a tier or support level
    /// Weft can write is named before the first update fails; one with every value is fine.
    @Test func fieldProblemsNameDropdownChoicesWeftNeeds() async throws {
        var simulatorFields = Self.simulatorFields.filter { $0.label != "Weft tier" && $0.label != "Weft support level" }
        simulatorFields.append(.init(label: "Weft tier", type: .dropdown, choices: ["pro", "standard"]))
        simulatorFields.append(.init(label: "Weft support level", type: .dropdown, choices: ["priority", "standard"]))
        let rules = EntitlementRules(tiers: [.init(name: "pro", rank: 1, supportLevel: "priority")])
        try await withDesk(.init(companyFields: simulatorFields)) { _, target in
            let found = try await target.fieldProblems(rules: rules, system: "freshdesk", logger: Self.logger)
            #expect(found.missing == [])
            #expect(
                found.choices == [
                    "the dropdown weft_support_level (systems.freshdesk.fields.support_level) has no choice basic, none, "
                        + "which Weft writes there: add them to the field's choices, or make it a text field"
                ])
            // With the tier "enterprise" added by the rules, the tier dropdown lacks it too.
            let more = EntitlementRules(
                tiers: [.init(name: "pro", rank: 1, supportLevel: "priority"), .init(name: "enterprise", rank: 2)])
            let again = try await target.fieldProblems(rules: more, system: "freshdesk", logger: Self.logger)
            #expect(
                again.choices.first?.hasPrefix("the dropdown weft_tier (systems.freshdesk.fields.tier) has no choice enterprise") == true)
        }
    }

    @Test func refusesCredentialsAndOtherCommands() async throws {
        try await withDesk { _, target in
            let other = await target.deliver(
                [
                    Self.command(
                        .setStanding(
                            Standing(
                                customerRef: ExternalRef(system: "stripe", kind: .customer, id: "cus_1"), state: .good,
                                since: Date(timeIntervalSince1970: 0))))
                ],
                logger: Self.logger)[0]
            guard case .reject(let failure) = other else {
                Issue.record("expected a reject")
                return
            }
            #expect(failure.message == "Freshdesk takes entitlement commands only")
        }
        let simulator = FreshdeskSimulator(configuration: .init(apiKeys: ["another"]))
        let router = Router()
        simulator.addRoutes(to: router)
        try await SimulatorServer.withRunning(router: router, logger: Self.logger) { port in
            let target = FreshdeskTarget(
                configuration: .init(baseURL: "http://127.0.0.1:\(port)", apiKey: "fd_wrong_key", fields: Self.fieldMap),
                client: HTTPClient.shared, gate: OpenGate())
            guard case .reject(let failure) = await Self.deliver(target, Self.entitlement()) else {
                Issue.record("expected a reject")
                return
            }
            #expect(failure.kind == .unauthorized)
            #expect(!failure.message.contains("fd_wrong_key"))
        }
    }

    @Test func theConfigurationRequiresTheAccountFieldAndHidesTheKey() throws {
        let missing = FreshdeskConfiguration(
            baseURL: "https://acme.freshdesk.com", apiKey: "fd_secret_key", fields: DeskFieldMap(tier: "weft_tier"))
        #expect(throws: FreshdeskConfigurationError.self) { try missing.validate() }
        do {
            try missing.validate()
        } catch {
            #expect(error.message.contains("fields.account is required"))
        }
        let valid = FreshdeskConfiguration(
            baseURL: "https://acme.freshdesk.com/", apiKey: "fd_secret_key", fields: Self.fieldMap)
        try valid.validate()
        #expect(valid.baseURL == "https://acme.freshdesk.com")
        #expect(!valid.description.contains("fd_secret_key"))
    }
}
