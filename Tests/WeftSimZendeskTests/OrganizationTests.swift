import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WeftSimKit

@testable import WeftSimZendesk

@Suite struct ZendeskOrganizationTests {
    @Test func authenticatesAPITokensAndOAuthOnly() async throws {
        let simulator = makeSimulator()
        try await app(simulator).test(.live) { client in
            let anonymous = try await client.api(.get, "/api/v2/organizations.json", auth: nil)
            #expect(anonymous.status == 401)
            #expect(anonymous.json == ["error": "Couldn't authenticate you"])
            let wrongToken = "Basic " + Data("agent@example.com/token:nope".utf8).base64EncodedString()
            #expect(try await client.api(.get, "/api/v2/organizations.json", auth: wrongToken).status == 401)
            let password = "Basic " + Data("agent@example.com:zd_tok".utf8).base64EncodedString()
            #expect(try await client.api(.get, "/api/v2/organizations.json", auth: password).status == 401)
            #expect(try await client.api(.get, "/api/v2/organizations.json", auth: "Bearer wrong").status == 401)

            let token = try await client.api(.get, "/api/v2/organizations.json")
            #expect(token.status == 200)
            #expect(token.headers[HTTPField.Name("X-Rate-Limit")!] == "400")
            #expect(token.headers[HTTPField.Name("X-Rate-Limit-Remaining")!] == "399")
            #expect(try await client.api(.get, "/api/v2/organizations", auth: "Bearer oauth_tok").status == 200)
        }
    }

    @Test func createOrUpdateCreatesThenUpdatesByExternalIDOrID() async throws {
        let simulator = makeSimulator()
        try await app(simulator).test(.live) { client in
            let created = try await client.api(
                .post, "/api/v2/organizations/create_or_update.json",
                #"{"organization":{"name":"Acme","external_id":"stripe_customer_cus_1","domain_names":["Acme.com"]}}"#)
            #expect(created.status == 201)
            let org = created.json["organization"]
            #expect(org["name"] == "Acme")
            #expect(org["domain_names"] == ["acme.com"])
            #expect(org["created_at"] == "2023-11-14T22:13:20Z")
            let id = try #require(org["id"].int)

            let updated = try await client.api(
                .post, "/api/v2/organizations/create_or_update.json",
                #"{"organization":{"external_id":"STRIPE_customer_cus_1","notes":"vip"}}"#)
            #expect(updated.status == 200)
            #expect(updated.json["organization"]["id"].int == id)
            #expect(updated.json["organization"]["notes"] == "vip")

            let byID = try await client.api(
                .post, "/api/v2/organizations/create_or_update.json", #"{"organization":{"id":\#(id),"details":"HQ"}}"#)
            #expect(byID.status == 200)
            #expect(byID.json["organization"]["details"] == "HQ")
            #expect(try await client.api(.get, "/api/v2/organizations.json").json["count"] == 1)
        }
    }

    @Test func namesAreUniqueWithZendesksErrorShape() async throws {
        let simulator = makeSimulator()
        try await app(simulator).test(.live) { client in
            #expect(try await client.api(.post, "/api/v2/organizations.json", #"{"organization":{"name":"Acme"}}"#).status == 201)
            let clash = try await client.api(.post, "/api/v2/organizations.json", #"{"organization":{"name":"ACME"}}"#)
            #expect(clash.status == 422)
            #expect(clash.json["error"] == "RecordInvalid")
            #expect(clash.json["description"] == "Record validation errors")
            #expect(clash.json["details"]["name"] == [["description": "Name: ACME has already been taken", "error": "DuplicateValue"]])
            // create_or_update matches by id or external_id only, so a name alone clashes too.
            let upsert = try await client.api(
                .post, "/api/v2/organizations/create_or_update.json", #"{"organization":{"name":"Acme"}}"#)
            #expect(upsert.status == 422)
            let missing = try await client.api(.get, "/api/v2/organizations/999.json")
            #expect(missing.status == 404)
            #expect(missing.json == ["error": "RecordNotFound", "description": "Not found"])
        }
    }

    @Test func cursorPaginationWalksEveryOrganizationOnce() async throws {
        let simulator = makeSimulator()
        for index in 1...5 {
            _ = simulator.call("POST", "/api/v2/organizations.json", body: #"{"organization":{"name":"Org \#(index)"}}"#)
        }
        try await app(simulator).test(.live) { client in
            var names: [String] = []
            var uri = "/api/v2/organizations.json?page%5Bsize%5D=2"
            var pages = 0
            while true {
                let page = try await client.api(.get, uri)
                #expect(page.status == 200)
                names += page.json["organizations"].array?.compactMap { $0["name"].string } ?? []
                pages += 1
                guard page.json["meta"]["has_more"] == true, let after = page.json["meta"]["after_cursor"].string else {
                    #expect(page.json["links"]["next"] == .null)
                    break
                }
                #expect(page.json["links"]["next"].string?.contains("page%5Bafter%5D=") == true)
                uri =
                    "/api/v2/organizations.json?page[size]=2&page[after]=\(after.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
            }
            #expect(names == (1...5).map { "Org \($0)" })
            #expect(pages == 3)
            let tooBig = try await client.api(.get, "/api/v2/organizations.json?page[size]=101")
            #expect(tooBig.status == 400)
            let offset = try await client.api(.get, "/api/v2/organizations.json?per_page=2&page=3")
            #expect(offset.json["organizations"].array?.count == 1)
            #expect(offset.json["next_page"] == .null)
            #expect(offset.json["count"] == 5)
            // Offset pagination stops at page 100, whatever the page size: deeper is a 400 that says to page by cursor.
            #expect(try await client.api(.get, "/api/v2/organizations.json?per_page=1&page=100").status == 200)
            for query in ["per_page=100&page=101", "per_page=10&page=101"] {
                let deep = try await client.api(.get, "/api/v2/organizations.json?\(query)")
                #expect(deep.status == 400)
                #expect(deep.json["errors"][0]["code"] == "InvalidPaginationDepth")
                #expect(deep.json["errors"][0]["detail"].string?.contains("Cursor Pagination") == true)
            }
        }
    }

    @Test func searchMatchesExternalIDOrNameExactlyIgnoringCase() async throws {
        let simulator = makeSimulator()
        _ = simulator.call(
            "POST", "/api/v2/organizations.json", body: #"{"organization":{"name":"Acme Inc","external_id":"ERP-42"}}"#)
        _ = simulator.call("POST", "/api/v2/organizations.json", body: #"{"organization":{"name":"Acme"}}"#)
        try await app(simulator).test(.live) { client in
            let byExternalID = try await client.api(.get, "/api/v2/organizations/search.json?external_id=erp-42")
            #expect(byExternalID.json["organizations"].array?.map { $0["name"] } == ["Acme Inc"])
            #expect(byExternalID.json["count"] == 1)
            let byName = try await client.api(.get, "/api/v2/organizations/search.json?name=acme")
            #expect(byName.json["organizations"].array?.map { $0["name"] } == ["Acme"])
            let none = try await client.api(.get, "/api/v2/organizations/search.json?external_id=ERP-4")
            #expect(none.json["organizations"] == [])
            #expect(try await client.api(.get, "/api/v2/organizations/search.json").status == 400)
        }
    }

    @Test func domainsShowOnTheListAndMapNewUsers() async throws {
        let simulator = makeSimulator()
        let org = simulator.call(
            "POST", "/api/v2/organizations.json", body: #"{"organization":{"name":"Beta","domain_names":["beta.io"]}}"#
        ).json["organization"]
        try await app(simulator).test(.live) { client in
            let listed = try await client.api(.get, "/api/v2/organizations.json?page[size]=100")
            let withDomain = listed.json["organizations"].array?.filter { $0["domain_names"].array?.contains("beta.io") == true }
            #expect(withDomain?.map { $0["id"] } == [org["id"]])

            let user = try await client.api(
                .post, "/api/v2/users/create_or_update.json", #"{"user":{"name":"Bo","email":"bo@BETA.io"}}"#)
            #expect(user.status == 201)
            #expect(user.json["user"]["organization_id"] == org["id"])
            let again = try await client.api(
                .post, "/api/v2/users/create_or_update.json", #"{"user":{"email":"bo@beta.io","external_id":"u1"}}"#)
            #expect(again.status == 200)
            #expect(again.json["user"]["id"] == user.json["user"]["id"])
            let byExternalID = try await client.api(
                .post, "/api/v2/users/create_or_update.json", #"{"user":{"external_id":"u1","name":"Bob"}}"#)
            #expect(byExternalID.json["user"]["name"] == "Bob")
            let id = try #require(user.json["user"]["id"].int)
            #expect(try await client.api(.get, "/api/v2/users/\(id).json").json["user"]["name"] == "Bob")
        }
    }

    @Test func organizationFieldsKeepDefinedKeysOnly() async throws {
        let simulator = makeSimulator()
        try await app(simulator).test(.live) { client in
            let field = try await client.api(
                .post, "/api/v2/organization_fields.json",
                #"{"organization_field":{"key":"weft_tier","type":"text","title":"Tier"}}"#)
            #expect(field.status == 201)
            #expect(field.json["organization_field"]["key"] == "weft_tier")
            _ = try await client.api(
                .post, "/api/v2/organization_fields.json",
                #"{"organization_field":{"key":"weft_contract_end","type":"date","title":"Contract end"}}"#)
            let duplicate = try await client.api(
                .post, "/api/v2/organization_fields.json",
                #"{"organization_field":{"key":"weft_tier","type":"text","title":"Again"}}"#)
            #expect(duplicate.status == 422)
            let listed = try await client.api(.get, "/api/v2/organization_fields.json")
            #expect(listed.json["organization_fields"].array?.compactMap { $0["key"].string } == ["weft_tier", "weft_contract_end"])

            let created = try await client.api(
                .post, "/api/v2/organizations.json",
                #"{"organization":{"name":"Acme","organization_fields":{"weft_tier":"gold","weft_contract_end":"2026-12-31","undefined_key":"x"}}}"#
            )
            #expect(created.status == 201)
            #expect(
                created.json["organization"]["organization_fields"]
                    == ["weft_tier": "gold", "weft_contract_end": "2026-12-31T00:00:00+00:00"])
            let id = try #require(created.json["organization"]["id"].int)
            let cleared = try await client.api(
                .put, "/api/v2/organizations/\(id).json", #"{"organization":{"organization_fields":{"weft_tier":null}}}"#)
            #expect(cleared.json["organization"]["organization_fields"]["weft_tier"] == .null)
            #expect(cleared.json["organization"]["organization_fields"]["weft_contract_end"] == "2026-12-31T00:00:00+00:00")
            let badDate = try await client.api(
                .put, "/api/v2/organizations/\(id).json",
                #"{"organization":{"organization_fields":{"weft_contract_end":"soon"}}}"#)
            #expect(badDate.status == 422)
            #expect(badDate.json["details"]["base"][0]["description"] == "Contract end: is invalid")
        }
    }
}
