import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WeftSimKit

@testable import WeftSimZendesk

@Suite struct ZendeskUserAndMembershipTests {
    static func simulator(multipleOrganizations: Bool) -> ZendeskSimulator {
        let clock = TestClock(1_700_000_000)
        return ZendeskSimulator(
            configuration: .init(multipleOrganizations: multipleOrganizations, idSeed: 7, now: { clock.now }))
    }

    static func organization(_ simulator: ZendeskSimulator, _ name: String) throws -> Int {
        try #require(
            simulator.call("POST", "/api/v2/organizations.json", body: #"{"organization":{"name":"\#(name)"}}"#)
                .json["organization"]["id"].int)
    }

    @Test func createUserRefusesATakenEmailWithoutTouchingTheUser() async throws {
        let simulator = Self.simulator(multipleOrganizations: false)
        let acme = try Self.organization(simulator, "Acme")
        try await app(simulator).test(.live) { client in
            let created = try await client.api(
                .post, "/api/v2/users.json",
                #"{"user":{"name":"Ada","email":"Ada@Lovelace.example","organization_id":\#(acme),"role":"end-user","skip_verify_email":true}}"#
            )
            #expect(created.status == 201)
            #expect(created.json["user"]["email"] == "ada@lovelace.example")
            #expect(created.json["user"]["organization_id"] == .int(acme))
            #expect(created.json["user"]["role"] == "end-user")

            let duplicate = try await client.api(
                .post, "/api/v2/users.json", #"{"user":{"name":"Someone","email":"ada@lovelace.example"}}"#)
            #expect(duplicate.status == 422)
            #expect(duplicate.json["error"] == "RecordInvalid")
            #expect(duplicate.json["details"]["email"][0]["error"] == "DuplicateValue")
            let id = try #require(created.json["user"]["id"].int)
            #expect(try await client.api(.get, "/api/v2/users/\(id).json").json["user"]["name"] == "Ada")

            let nameless = try await client.api(.post, "/api/v2/users.json", #"{"user":{"email":"x@y.example"}}"#)
            #expect(nameless.status == 422)
            #expect(nameless.json["details"]["name"][0]["error"] == "InvalidValue")
        }
    }

    @Test func searchFindsUsersByExactEmail() async throws {
        let simulator = Self.simulator(multipleOrganizations: false)
        _ = simulator.call("POST", "/api/v2/users.json", body: #"{"user":{"name":"Ada","email":"ada@lovelace.example"}}"#)
        _ = simulator.call("POST", "/api/v2/users.json", body: #"{"user":{"name":"Adam","email":"adam@lovelace.example"}}"#)
        try await app(simulator).test(.live) { client in
            let found = try await client.api(.get, "/api/v2/users/search.json?query=email%3AADA%40lovelace.example")
            #expect(found.status == 200)
            #expect(found.json["users"].array?.map { $0["email"] } == ["ada@lovelace.example"])
            #expect(found.json["count"] == 1)
            let none = try await client.api(.get, "/api/v2/users/search.json?query=email%3Anobody%40lovelace.example")
            #expect(none.json["users"] == [])
            #expect(try await client.api(.get, "/api/v2/users/search.json").status == 400)
        }
    }

    @Test func createOrUpdateOnAnExistingUserReplacesNameAndDefaultOrganization() async throws {
        // Why the connector never calls it for a user that may exist: it overwrites what the desk owns.
        let simulator = Self.simulator(multipleOrganizations: false)
        let first = try Self.organization(simulator, "First")
        let second = try Self.organization(simulator, "Second")
        _ = simulator.call(
            "POST", "/api/v2/users.json",
            body: #"{"user":{"name":"Ada King","email":"ada@lovelace.example","organization_id":\#(first)}}"#)
        try await app(simulator).test(.live) { client in
            let updated = try await client.api(
                .post, "/api/v2/users/create_or_update.json",
                #"{"user":{"name":"Ada","email":"ada@lovelace.example","organization_id":\#(second)}}"#)
            #expect(updated.status == 200)
            #expect(updated.json["user"]["name"] == "Ada")
            #expect(updated.json["user"]["organization_id"] == .int(second))
            let id = try #require(updated.json["user"]["id"].int)
            let memberships = try await client.api(.get, "/api/v2/users/\(id)/organization_memberships.json")
            #expect(memberships.json["organization_memberships"].array?.map { $0["organization_id"] } == [.int(second)])
        }
    }

    @Test func membershipsWithoutMultipleOrganizations() async throws {
        let simulator = Self.simulator(multipleOrganizations: false)
        let first = try Self.organization(simulator, "First")
        let second = try Self.organization(simulator, "Second")
        let user = try #require(
            simulator.call("POST", "/api/v2/users.json", body: #"{"user":{"name":"Ada","email":"ada@lovelace.example"}}"#)
                .json["user"]["id"].int)
        try await app(simulator).test(.live) { client in
            // No organization yet: the membership becomes the default.
            let created = try await client.api(
                .post, "/api/v2/organization_memberships.json",
                #"{"organization_membership":{"user_id":\#(user),"organization_id":\#(first)}}"#)
            #expect(created.status == 201)
            #expect(created.json["organization_membership"]["default"] == true)
            #expect(created.json["organization_membership"]["organization_name"] == "First")
            #expect(try await client.api(.get, "/api/v2/users/\(user).json").json["user"]["organization_id"] == .int(first))

            let again = try await client.api(
                .post, "/api/v2/organization_memberships.json",
                #"{"organization_membership":{"user_id":\#(user),"organization_id":\#(first)}}"#)
            #expect(again.status == 422)
            #expect(again.json["details"]["user_id"][0]["error"] == "DuplicateValue")

            let second = try await client.api(
                .post, "/api/v2/organization_memberships.json",
                #"{"organization_membership":{"user_id":\#(user),"organization_id":\#(second)}}"#)
            #expect(second.status == 422)
            #expect(second.json["error"] == "RecordInvalid")
            #expect(try await client.api(.get, "/api/v2/users/\(user).json").json["user"]["organization_id"] == .int(first))

            let unknown = try await client.api(
                .post, "/api/v2/organization_memberships.json",
                #"{"organization_membership":{"user_id":\#(user),"organization_id":1}}"#)
            #expect(unknown.status == 422)
            #expect(unknown.json["details"]["organization"][0]["description"] == "Organization cannot be blank")
        }
    }

    /// A user's memberships page by cursor when `page[size]` asks (as Weft's connector reads them): `meta.has_more`
    /// and `after_cursor` lead to the rest, and the pages together hold each membership once.
    @Test func membershipsPageByCursor() async throws {
        let simulator = Self.simulator(multipleOrganizations: true)
        let organizations = try ["One", "Two", "Three"].map { try Self.organization(simulator, $0) }
        let user = try #require(
            simulator.call("POST", "/api/v2/users.json", body: #"{"user":{"name":"Ada","email":"ada@lovelace.example"}}"#)
                .json["user"]["id"].int)
        try await app(simulator).test(.live) { client in
            for organization in organizations {
                let added = try await client.api(
                    .post, "/api/v2/organization_memberships.json",
                    #"{"organization_membership":{"user_id":\#(user),"organization_id":\#(organization)}}"#)
                #expect(added.status == 201)
            }
            let first = try await client.api(.get, "/api/v2/users/\(user)/organization_memberships.json?page%5Bsize%5D=2")
            #expect(first.json["organization_memberships"].array?.count == 2)
            #expect(first.json["meta"]["has_more"] == true)
            let after = try #require(first.json["meta"]["after_cursor"].string)
            let second = try await client.api(
                .get, "/api/v2/users/\(user)/organization_memberships.json?page%5Bsize%5D=2&page%5Bafter%5D=\(after)")
            #expect(second.json["meta"]["has_more"] == false)
            let seen = ((first.json["organization_memberships"].array ?? []) + (second.json["organization_memberships"].array ?? []))
                .compactMap { $0["organization_id"].int }
            #expect(Set(seen) == Set(organizations) && seen.count == 3)
        }
    }

    @Test func membershipsWithMultipleOrganizationsKeepTheDefault() async throws {
        let simulator = Self.simulator(multipleOrganizations: true)
        let zeta = try Self.organization(simulator, "Zeta")
        let alpha = try Self.organization(simulator, "Alpha")
        let user = try #require(
            simulator.call(
                "POST", "/api/v2/users.json",
                body: #"{"user":{"name":"Ada","email":"ada@lovelace.example","organization_id":\#(zeta)}}"#
            ).json["user"]["id"].int)
        try await app(simulator).test(.live) { client in
            let added = try await client.api(
                .post, "/api/v2/organization_memberships.json",
                #"{"organization_membership":{"user_id":\#(user),"organization_id":\#(alpha)}}"#)
            #expect(added.status == 201)
            #expect(added.json["organization_membership"]["default"] == .null)
            #expect(try await client.api(.get, "/api/v2/users/\(user).json").json["user"]["organization_id"] == .int(zeta))
            // Default first, then by organization name.
            let listed = try await client.api(.get, "/api/v2/users/\(user)/organization_memberships.json")
            #expect(listed.json["organization_memberships"].array?.map { $0["organization_id"] } == [.int(zeta), .int(alpha)])

            // Deleting the default organization promotes the next membership.
            #expect(try await client.api(.delete, "/api/v2/organizations/\(zeta).json").status == 204)
            #expect(try await client.api(.get, "/api/v2/users/\(user).json").json["user"]["organization_id"] == .int(alpha))
        }
    }
}
