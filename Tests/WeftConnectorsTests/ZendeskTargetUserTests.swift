import AsyncHTTPClient
import Foundation
import Testing
import WeftConnectors
import WeftCore
import WeftSimKit
import WeftSimZendesk

/// The user step of `syncEntitlement`: the billing customer's email becomes an end user of the organization.
@Suite struct ZendeskTargetUserTests {
    typealias T = ZendeskTargetTests

    static func simulator(multipleOrganizations: Bool = false) -> ZendeskSimulator {
        let simulator = ZendeskSimulator(
            configuration: .init(multipleOrganizations: multipleOrganizations, idSeed: 3, now: { 1_767_225_640 }))
        for key in T.fields.fieldNames {
            _ = simulator.call(
                "POST", "/api/v2/organization_fields.json",
                body: #"{"organization_field":{"key":"\#(key)","type":"text","title":"\#(key)"}}"#)
        }
        return simulator
    }

    static func customer(email: String?, name: String = "Lovelace Ltd", id: String = "cus_ada") -> DeskEntitlement {
        DeskEntitlement(
            account: ExternalRef(system: "stripe", kind: .customer, id: id), name: name, email: email,
            domain: email.flatMap(DeskEntitlement.companyDomain(ofEmail:)), tier: "gold", status: .active,
            standing: .good, contractEnd: nil, supportLevel: "premium")
    }

    /// The end users with `email` (the agent is never one).
    static func users(_ simulator: ZendeskSimulator, email: String) throws -> [JSONValue] {
        let reply = simulator.call("GET", "/api/v2/users/search.json?query=email:\(email)")
        return try JSONValue.parse(Data(reply.body))["users"]?.arrayValue ?? []
    }

    static func memberships(_ simulator: ZendeskSimulator, user: Int64) throws -> [Int64] {
        let reply = simulator.call("GET", "/api/v2/users/\(user)/organization_memberships.json")
        return (try JSONValue.parse(Data(reply.body))["organization_memberships"]?.arrayValue ?? [])
            .compactMap { $0["organization_id"]?.intValue }
    }

    static func seedUser(_ simulator: ZendeskSimulator, _ user: String) throws -> Int64 {
        let reply = simulator.call("POST", "/api/v2/users.json", body: #"{"user":\#(user)}"#)
        return try #require(try JSONValue.parse(Data(reply.body))["user"]?["id"]?.intValue)
    }

    static func note(_ outcome: DeliveryOutcome) -> String? {
        if case .delivered(_, let note) = outcome { return note }
        return nil
    }

    @Test func newCustomerBecomesAnEndUserOfItsNewOrganizationOnce() async throws {
        let simulator = Self.simulator()
        try await T.withTarget(simulator) { target in
            let outcome = await T.deliver(target, Self.customer(email: "Ada@Lovelace.example"))
            let organization = try #require(T.recordID(outcome).flatMap { Int64($0) })
            #expect(Self.note(outcome) == nil)
            var users = try Self.users(simulator, email: "ada@lovelace.example")
            #expect(users.count == 1)
            let user = try #require(users.first)
            #expect(user["name"] == "Lovelace Ltd")
            #expect(user["role"] == "end-user")
            #expect(user["organization_id"]?.intValue == organization)

            // A redelivery (crash before Weft recorded the outcome) finds both and creates nothing.
            #expect(T.recordID(await T.deliver(target, Self.customer(email: "ada@lovelace.example"))) == String(organization))
            users = try Self.users(simulator, email: "ada@lovelace.example")
            #expect(users.count == 1)
            #expect(try T.organizations(simulator).count == 1)
            let creates = simulator.requestLog.all.filter { $0.method == "POST" && $0.path.hasPrefix("/api/v2/users") }
            #expect(creates.count == 1)
        }
    }

    @Test func existingUserWithoutOrganizationJoinsItAndKeepsItsName() async throws {
        let simulator = Self.simulator()
        let user = try Self.seedUser(simulator, #"{"name":"Ada King","email":"ada@gmail.com"}"#)
        try await T.withTarget(simulator) { target in
            let outcome = await T.deliver(target, Self.customer(email: "ada@gmail.com"))
            let organization = try #require(T.recordID(outcome).flatMap { Int64($0) })
            let found = try #require(try Self.users(simulator, email: "ada@gmail.com").first)
            #expect(found["id"]?.intValue == user)
            #expect(found["name"] == "Ada King")
            #expect(found["organization_id"]?.intValue == organization)
        }
    }

    @Test func userInAnotherOrganizationStaysThereWhenMultipleOrganizationsAreOff() async throws {
        let simulator = Self.simulator()
        let other = try T.create(simulator, #"{"name":"Analytical Engines"}"#)
        let user = try Self.seedUser(simulator, #"{"name":"Ada","email":"ada@gmail.com","organization_id":\#(other)}"#)
        try await T.withTarget(simulator) { target in
            let outcome = await T.deliver(target, Self.customer(email: "ada@gmail.com"))
            #expect(T.recordID(outcome) != nil)
            let note = try #require(Self.note(outcome))
            #expect(note.contains("stays in organization \(other)"))
            #expect(try Self.memberships(simulator, user: user) == [other])
            // The redelivery leaves it so too, without an error.
            #expect(Self.note(await T.deliver(target, Self.customer(email: "ada@gmail.com")))?.contains("stays") == true)
        }
    }

    @Test func userInAnotherOrganizationGainsAMembershipWhenMultipleOrganizationsAreOn() async throws {
        let simulator = Self.simulator(multipleOrganizations: true)
        let other = try T.create(simulator, #"{"name":"Analytical Engines"}"#)
        let user = try Self.seedUser(simulator, #"{"name":"Ada","email":"ada@gmail.com","organization_id":\#(other)}"#)
        try await T.withTarget(simulator) { target in
            let outcome = await T.deliver(target, Self.customer(email: "ada@gmail.com"))
            let organization = try #require(T.recordID(outcome).flatMap { Int64($0) })
            #expect(Self.note(outcome) == nil)
            #expect(try Self.memberships(simulator, user: user) == [other, organization])
            let found = try #require(try Self.users(simulator, email: "ada@gmail.com").first)
            #expect(found["organization_id"]?.intValue == other)

            // Already a (non-default) member: the redelivery adds nothing.
            _ = await T.deliver(target, Self.customer(email: "ada@gmail.com"))
            #expect(try Self.memberships(simulator, user: user) == [other, organization])
        }
    }

    @Test func customerWithoutEmailMakesNoUser() async throws {
        let simulator = Self.simulator()
        try await T.withTarget(simulator) { target in
            let outcome = await T.deliver(target, Self.customer(email: nil))
            #expect(T.recordID(outcome) != nil)
            let users = simulator.requestLog.all.filter { $0.path.hasPrefix("/api/v2/users") }
            #expect(users.isEmpty)
        }
    }

    @Test func aFailedUserStepRetriesTheCommandAndTheRetryCompletesIt() async throws {
        let simulator = Self.simulator()
        simulator.faults.set(FaultPlan(errorRate: 1, errorStatus: 503, pathPrefix: "/api/v2/users"))
        try await T.withTarget(simulator) { target in
            let failed = await T.deliver(target, Self.customer(email: "ada@lovelace.example"))
            guard case .retry(let failure) = failed else {
                Issue.record("expected a retry, got \(failed)")
                return
            }
            #expect(failure.status == 503)
            #expect(try T.organizations(simulator).count == 1)

            simulator.faults.clear()
            let outcome = await T.deliver(target, Self.customer(email: "ada@lovelace.example"))
            let organization = try #require(T.recordID(outcome).flatMap { Int64($0) })
            #expect(try T.organizations(simulator).count == 1)
            #expect(try Self.users(simulator, email: "ada@lovelace.example").map { $0["organization_id"]?.intValue } == [organization])
        }
    }

    @Test func refusedCredentialsAreRejected() async throws {
        let simulator = Self.simulator()
        let outcome = try await T.withTarget(simulator, token: "revoked") { target in
            await T.deliver(target, Self.customer(email: "ada@lovelace.example"))
        }
        guard case .reject(let failure) = outcome else {
            Issue.record("expected a rejection, got \(outcome)")
            return
        }
        #expect(failure.kind == .unauthorized)
        #expect(try Self.users(simulator, email: "ada@lovelace.example").isEmpty)
    }
}
