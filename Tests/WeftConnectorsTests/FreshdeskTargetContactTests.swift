import AsyncHTTPClient
import Foundation
import Hummingbird
import Testing
import WeftConnectors
import WeftCore
import WeftSimFreshdesk
import WeftSimKit

/// The contact step of `syncEntitlement`: the billing customer's email becomes a contact of the company.
@Suite struct FreshdeskTargetContactTests {
    typealias T = FreshdeskTargetTests

    static func customer(email: String?, name: String = "Lovelace Ltd", id: String = "cus_ada") -> DeskEntitlement {
        DeskEntitlement(
            account: ExternalRef(system: "stripe", kind: .customer, id: id), name: name, email: email,
            domain: email.flatMap(DeskEntitlement.companyDomain(ofEmail:)), tier: "pro", status: .active,
            standing: .good, contractEnd: nil, supportLevel: "premium")
    }

    static func contacts(_ simulator: FreshdeskSimulator, email: String) throws -> [JSONValue] {
        let reply = simulator.call("GET", "/api/v2/contacts", query: [("email", email)])
        return try JSONValue.parse(Data(reply.body)).arrayValue ?? []
    }

    static func seedContact(_ simulator: FreshdeskSimulator, _ json: String) throws -> Int64 {
        let reply = simulator.call("POST", "/api/v2/contacts", body: json)
        #expect(reply.status == 201)
        return try #require(try JSONValue.parse(Data(reply.body))["id"]?.intValue)
    }

    static func note(_ outcome: DeliveryOutcome) -> String? {
        if case .delivered(_, let note) = outcome { return note }
        return nil
    }

    static func companyID(_ outcome: DeliveryOutcome) -> Int64? {
        if case .delivered(let record, _) = outcome { return record.flatMap { Int64($0.id) } }
        return nil
    }

    @Test func newCustomerBecomesAContactOfItsNewCompanyOnce() async throws {
        try await T().withDesk { simulator, target in
            let outcome = await T.deliver(target, Self.customer(email: "Ada@Lovelace.example"))
            let company = try #require(Self.companyID(outcome))
            #expect(Self.note(outcome) == nil)
            var contacts = try Self.contacts(simulator, email: "ada@lovelace.example")
            #expect(contacts.count == 1)
            #expect(contacts.first?["name"] == "Lovelace Ltd")
            #expect(contacts.first?["company_id"]?.intValue == company)

            // Redelivery: the same company and contact, nothing created or written.
            let creates = { simulator.requestLog.all.filter { $0.method != "GET" }.count }
            let before = creates()
            #expect(Self.companyID(await T.deliver(target, Self.customer(email: "ada@lovelace.example"))) == company)
            #expect(creates() == before)
            contacts = try Self.contacts(simulator, email: "ada@lovelace.example")
            #expect(contacts.count == 1)
            #expect(try T.companies(simulator).count == 1)
        }
    }

    @Test func aFailedContactStepRetriesTheCommandAndTheRetryCompletesIt() async throws {
        try await T().withDesk { simulator, target in
            let contact = try Self.seedContact(simulator, #"{"name":"Ada King","email":"ada@gmail.com"}"#)
            // The company step passes; writing the contact's company answers 503.
            simulator.faults.set(FaultPlan(errorRate: 1, errorStatus: 503, pathPrefix: "/api/v2/contacts/"))
            let failed = await T.deliver(target, Self.customer(email: "ada@gmail.com"))
            guard case .retry(let failure) = failed else {
                Issue.record("expected a retry, got \(failed)")
                return
            }
            #expect(failure.status == 503)
            #expect(try T.companies(simulator).count == 1)

            simulator.faults.clear()
            let outcome = await T.deliver(target, Self.customer(email: "ada@gmail.com"))
            let company = try #require(Self.companyID(outcome))
            #expect(try T.companies(simulator).count == 1)
            let contacts = try Self.contacts(simulator, email: "ada@gmail.com")
            #expect(contacts.map { $0["id"]?.intValue } == [contact])
            #expect(contacts.first?["company_id"]?.intValue == company)
        }
    }

    @Test func existingContactWithoutCompanyJoinsItAndKeepsItsName() async throws {
        try await T().withDesk { simulator, target in
            let contact = try Self.seedContact(simulator, #"{"name":"Ada King","email":"ada@gmail.com"}"#)
            let outcome = await T.deliver(target, Self.customer(email: "ada@gmail.com"))
            let company = try #require(Self.companyID(outcome))
            let found = try #require(try Self.contacts(simulator, email: "ada@gmail.com").first)
            #expect(found["id"]?.intValue == contact)
            #expect(found["name"] == "Ada King")
            #expect(found["company_id"]?.intValue == company)
        }
    }

    @Test func contactOfAnotherCompanyIsLeftThereWithANote() async throws {
        try await T().withDesk { simulator, target in
            let other = try T.createCompany(simulator, #"{"name":"Analytical Engines"}"#)
            let contact = try Self.seedContact(
                simulator, #"{"name":"Ada","email":"ada@gmail.com","company_id":\#(other)}"#)
            let outcome = await T.deliver(target, Self.customer(email: "ada@gmail.com"))
            #expect(Self.companyID(outcome) != nil)
            let note = try #require(Self.note(outcome))
            #expect(note.contains("contact \(contact)"))
            #expect(note.contains("stays in company \(other)"))
            #expect(try Self.contacts(simulator, email: "ada@gmail.com").first?["company_id"]?.intValue == Int64(other))
        }
    }

    @Test func customerWithoutEmailMakesNoContact() async throws {
        try await T().withDesk { simulator, target in
            let outcome = await T.deliver(target, Self.customer(email: nil))
            #expect(Self.companyID(outcome) != nil)
            #expect(simulator.requestLog.all.filter { $0.path.hasPrefix("/api/v2/contacts") }.isEmpty)
        }
    }

    @Test func refusedCredentialsAreRejected() async throws {
        let simulator = FreshdeskSimulator(configuration: .init(apiKeys: ["another"], companyFields: T.simulatorFields))
        let router = Router()
        simulator.addRoutes(to: router)
        let outcome = try await SimulatorServer.withRunning(router: router, logger: T.logger) { port in
            let target = FreshdeskTarget(
                configuration: .init(baseURL: "http://127.0.0.1:\(port)", apiKey: "fd_wrong_key", fields: T.fieldMap),
                client: HTTPClient.shared, gate: OpenGate())
            return await T.deliver(target, Self.customer(email: "ada@lovelace.example"))
        }
        guard case .reject(let failure) = outcome else {
            Issue.record("expected a rejection, got \(outcome)")
            return
        }
        #expect(failure.kind == .unauthorized)
        #expect(!failure.message.contains("fd_wrong_key"))
        #expect(try Self.contacts(simulator, email: "ada@lovelace.example").isEmpty)
    }
}
