import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import WeftSimFreshdesk

/// Contacts as the support-desk connector uses them: the email filter, unique emails (409 naming the holder) and
/// `company_id` on create and update.
@Suite struct FreshdeskContactTests {
    typealias T = FreshdeskSimulatorTests

    func withSimulator(
        _ body: @escaping @Sendable (FreshdeskSimulator, any TestClientProtocol) async throws -> Void
    ) async throws {
        let simulator = FreshdeskSimulator(configuration: .init(companyFields: T.fields))
        let router = Router()
        simulator.addRoutes(to: router)
        let app = Application(router: router, logger: Logger(label: "test.freshdesk.contacts"))
        try await app.test(.live) { client in try await body(simulator, client) }
    }

    @Test func emailFilterIsExactAndIgnoresCase() async throws {
        try await withSimulator { _, client in
            #expect(
                try await T.send(client, .post, "/api/v2/contacts", #"{"name":"Ada","email":"Ada@Lovelace.example"}"#)
                    .status == .created)
            _ = try await T.send(client, .post, "/api/v2/contacts", #"{"name":"Adam","email":"adam@lovelace.example"}"#)
            let found = T.json(try await T.send(client, .get, "/api/v2/contacts?email=ADA%40lovelace.example").body)
            let contacts = try #require(found as? [[String: Any]])
            #expect(contacts.map { $0["email"] as? String } == ["ada@lovelace.example"])
            let none = T.json(try await T.send(client, .get, "/api/v2/contacts?email=ad%40lovelace.example").body)
            #expect((none as? [Any])?.isEmpty == true)
        }
    }

    @Test func aTakenEmailIsA409NamingTheContact() async throws {
        try await withSimulator { _, client in
            let created = T.object(
                try await T.send(client, .post, "/api/v2/contacts", #"{"name":"Ada","email":"ada@lovelace.example"}"#).body)
            let id = try #require(created["id"] as? Int)
            let duplicate = try await T.send(
                client, .post, "/api/v2/contacts", #"{"name":"Ada L","email":"ADA@lovelace.example"}"#)
            #expect(duplicate.status == .conflict)
            #expect(
                String(buffer: duplicate.body)
                    == #"{"description":"Validation failed","errors":[{"additional_info":{"user_id":\#(id)},"code":"duplicate_value","field":"email","message":"has already been taken"}]}"#
            )
        }
    }

    @Test func companyIsSetOnCreateOrLaterAndMustExist() async throws {
        try await withSimulator { _, client in
            let company = T.object(try await T.send(client, .post, "/api/v2/companies", #"{"name":"Lovelace Ltd"}"#).body)
            let companyID = try #require(company["id"] as? Int)
            let withCompany = T.object(
                try await T.send(
                    client, .post, "/api/v2/contacts",
                    #"{"name":"Ada","email":"ada@lovelace.example","company_id":\#(companyID)}"#
                ).body)
            #expect(withCompany["company_id"] as? Int == companyID)

            let bare = T.object(
                try await T.send(client, .post, "/api/v2/contacts", #"{"name":"Bo","email":"bo@elsewhere.example"}"#).body)
            #expect(bare["company_id"] is NSNull)
            let bareID = try #require(bare["id"] as? Int)
            let updated = try await T.send(client, .put, "/api/v2/contacts/\(bareID)", #"{"company_id":\#(companyID)}"#)
            #expect(updated.status == .ok)
            #expect(T.object(updated.body)["company_id"] as? Int == companyID)
            #expect(T.object(updated.body)["name"] as? String == "Bo")

            let unknown = try await T.send(client, .put, "/api/v2/contacts/\(bareID)", #"{"company_id":1}"#)
            #expect(unknown.status == .badRequest)
            #expect(String(buffer: unknown.body).contains("There is no company matching the given company_id"))
        }
    }
}
