import Foundation
import NIOHTTP1
import Testing
import WeftSimKit
import _CryptoExtras

@testable import WeftSimSalesforce

@Suite struct SalesforceAuthTests {
    private func token(_ base: String, _ form: String) async throws -> Answer {
        try await request(.POST, base + "/services/oauth2/token", form: form)
    }

    private func jwtForm(_ jwt: String) -> String {
        "grant_type=\(formEncode("urn:ietf:params:oauth:grant-type:jwt-bearer"))&assertion=\(jwt)"
    }

    @Test func jwtBearerIssuesAWorkingToken() async throws {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock)
        try await withOrg(simulator, clock: clock) { base, _ in
            let answer = try await token(base, jwtForm(try assertion(exp: clock.seconds + 180)))
            #expect(answer.status == 200)
            let json = answer.json
            let accessToken = try #require(json["access_token"].string)
            #expect(accessToken.hasPrefix(String(simulator.configuration.organizationID.prefix(15)) + "!"))
            #expect(json["instance_url"].string == base)
            #expect(json["token_type"] == "Bearer")
            #expect(json["scope"] == "api")
            #expect(json["issued_at"].string == String(clock.now))
            #expect(json["signature"].string?.isEmpty == false)
            #expect(json["id"].string?.hasPrefix(base + "/id/" + simulator.configuration.organizationID + "/005") == true)
            #expect(json["refresh_token"] == .null)
            let versions = try await request(.GET, base + "/services/data/")
            #expect(versions.json.array?.map { $0["version"] } == ["59.0", "60.0", "61.0", "62.0"])
            #expect(versions.json[3]["url"] == "/services/data/v62.0")
            let limits = try await request(.GET, base + api + "/limits", token: accessToken)
            #expect(limits.status == 200)
        }
    }

    @Test func jwtBearerRefusals() async throws {
        let clock = TestClock()
        try await withOrg(makeSimulator(clock: clock), clock: clock) { base, _ in
            let exp = clock.seconds + 120
            let otherKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            let cases: [(String, String, String)] = [
                (try assertion(exp: exp, key: otherKey), "invalid_grant", "invalid signature"),
                (try assertion(iss: "unknown-app", exp: exp), "invalid_client_id", "client identifier invalid"),
                (try assertion(sub: "someone@else.example", exp: exp), "invalid_grant", "user hasn't approved this consumer"),
                (try assertion(exp: clock.seconds - 1), "invalid_grant", "expired authorization code"),
                (try assertion(aud: "https://evil.example.com", exp: exp), "invalid_grant", "audience is invalid"),
                ("not.a-jwt", "invalid_grant", "invalid assertion"),
            ]
            for (jwt, error, description) in cases {
                let answer = try await token(base, jwtForm(jwt))
                #expect(answer.status == 400)
                #expect(answer.json["error"].string == error)
                #expect(answer.json["error_description"].string == description)
            }
            let sandbox = try await token(base, jwtForm(try assertion(aud: "https://test.salesforce.com", exp: exp)))
            #expect(sandbox.status == 200)
            let unsupported = try await token(base, "grant_type=password&username=a&password=b")
            #expect(unsupported.json["error"] == "unsupported_grant_type")
        }
    }

    @Test func clientCredentials() async throws {
        let clock = TestClock()
        try await withOrg(makeSimulator(clock: clock), clock: clock) { base, _ in
            let ok = try await token(
                base, "grant_type=client_credentials&client_id=\(formEncode(consumerKey))&client_secret=\(clientSecret)")
            #expect(ok.status == 200)
            let accessToken = try #require(ok.json["access_token"].string)
            let query = try await request(.GET, base + api + "/query?q=" + soql("SELECT Id FROM Account"), token: accessToken)
            #expect(query.status == 200)
            let wrong = try await token(base, "grant_type=client_credentials&client_id=\(formEncode(consumerKey))&client_secret=nope")
            #expect(wrong.status == 400)
            #expect(wrong.json["error"] == "invalid_client")
            #expect(wrong.json["error_description"] == "invalid client credentials")
            let unknown = try await token(base, "grant_type=client_credentials&client_id=nobody&client_secret=x")
            #expect(unknown.json["error"] == "invalid_client_id")
        }
    }

    @Test func expiredAndMissingSessionsAnswer401() async throws {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock)
        try await withOrg(simulator, clock: clock) { base, token in
            let url = base + api + "/sobjects/Account/describe"
            #expect(try await request(.GET, url, token: token).status == 200)
            // Activity keeps the session alive; an idle hour ends it.
            clock.advance(ms: 3_000_000)
            #expect(try await request(.GET, url, token: token).status == 200)
            clock.advance(ms: 3_600_000)
            let expired = try await request(.GET, url, token: token)
            #expect(expired.status == 401)
            #expect(expired.json == [["message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"]])
            let missing = try await request(.GET, url)
            #expect(missing.status == 401)
            let fresh = try await login(base, clock: clock)
            #expect(try await request(.GET, url, token: fresh).status == 200)
            simulator.expireSessions()
            #expect(try await request(.GET, url, token: fresh).json[0]["errorCode"] == "INVALID_SESSION_ID")
        }
    }
}
