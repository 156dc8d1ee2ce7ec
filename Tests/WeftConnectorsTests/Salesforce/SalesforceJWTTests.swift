import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import Testing
import WeftCore
import _CryptoExtras

@testable import WeftConnectors

@Suite struct SalesforceJWTTests {
    private static func decode(_ part: Substring) throws -> Data {
        var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return try #require(Data(base64Encoded: text))
    }

    @Test func assertionIsAnRS256JWTWithTheFlowsClaimsSignedByTheKey() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let jwt = try SalesforceJWT.assertion(
            consumerKey: "3MVG9consumer", username: "weft@acme.example", audience: "https://test.salesforce.com",
            privateKey: key, now: now)
        let parts = jwt.split(separator: ".", omittingEmptySubsequences: false)
        #expect(parts.count == 3)
        #expect(!jwt.contains("=") && !jwt.contains("+") && !jwt.contains("/"))

        let header = try JSONValue.parse(Self.decode(parts[0]))
        #expect(header == ["alg": "RS256"])
        let claims = try JSONValue.parse(Self.decode(parts[1]))
        #expect(claims["iss"] == "3MVG9consumer")
        #expect(claims["sub"] == "weft@acme.example")
        #expect(claims["aud"] == "https://test.salesforce.com")
        #expect(claims["exp"]?.intValue == 1_700_000_180)

        let signature = _RSA.Signing.RSASignature(rawRepresentation: try Self.decode(parts[2]))
        let signingInput = Data("\(parts[0]).\(parts[1])".utf8)
        #expect(key.publicKey.isValidSignature(signature, for: signingInput, padding: .insecurePKCS1v1_5))
        // PKCS#1 v1.5 over SHA-256 (RS256), not PSS.
        #expect(!key.publicKey.isValidSignature(signature, for: signingInput, padding: .PSS))
        // A changed claim no longer verifies.
        let forged = Data("\(parts[0]).\(SalesforceJWT.base64URL(Data(#"{"sub":"admin@acme.example"}"#.utf8)))".utf8)
        #expect(!key.publicKey.isValidSignature(signature, for: forged, padding: .insecurePKCS1v1_5))
        // Another key's public half does not verify it.
        let other = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        #expect(!other.publicKey.isValidSignature(signature, for: signingInput, padding: .insecurePKCS1v1_5))
    }

    @Test func aKeyThatIsNotAnRSAPEMFailsWithoutEchoingIt() async throws {
        let pem = "-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYMATERIAL\n-----END PRIVATE KEY-----"
        let configuration = SalesforceConfiguration(
            instanceURL: "https://127.0.0.1:1",
            authentication: .jwtBearer(consumerKey: "3MVG9consumer", username: "weft@acme.example", privateKeyPEM: pem))
        let authenticator = SalesforceAuthenticator(
            configuration: configuration, http: OutboundHTTPClient(client: HTTPClient.shared, gate: OpenGate()))
        let error = await #expect(throws: SalesforceAPIError.self) {
            _ = try await authenticator.token(logger: Logger(label: "test.salesforce.jwt"))
        }
        #expect(error?.kind == .unauthorized)
        #expect(error?.outcome == .reject(error!.failure))
        #expect(error.map { !"\($0)".contains("TOPSECRET") } == true)
        #expect(await authenticator.tokenRequests == 1)
    }

    /// A rate gate that holds every request until its task is cancelled (or a minute passes), and says when one is held.
    final class HoldingGate: RequestGate {
        let held: AsyncStream<Void>
        private let continuation: AsyncStream<Void>.Continuation

        init() { (held, continuation) = AsyncStream<Void>.makeStream() }

        func acquire() async throws {
            continuation.yield()
            try await Task.sleep(for: .seconds(60))
        }

        func didReceiveRateLimit(retryAfter: Duration?) {}
    }

    /// A caller cancelled while the token request waits (at the rate limit, or for an org that does not answer) stops
    /// waiting with the cancellation: the request runs in a task of its own, shared by concurrent callers, which the
    /// caller's cancellation did not reach, so a graceful shutdown waited for it to time out.
    @Test func aCallerCancelledWhileItsTokenIsRequestedGetsTheCancellation() async throws {
        let gate = HoldingGate()
        let authenticator = SalesforceAuthenticator(
            configuration: SalesforceConfiguration(
                instanceURL: "http://127.0.0.1:1", authentication: .clientCredentials(clientID: "3MVG9app", clientSecret: "secret")),
            http: OutboundHTTPClient(client: HTTPClient.shared, gate: gate))
        let caller = Task { try await authenticator.token(logger: Logger(label: "test.salesforce.auth")) }
        var held = gate.held.makeAsyncIterator()
        _ = await held.next()
        caller.cancel()
        let result = await caller.result
        guard case .failure(let error) = result else {
            Issue.record("a token was returned to a cancelled caller")
            return
        }
        #expect((error as? SalesforceAPIError)?.kind == .cancelled, "\(error)")
        #expect(await authenticator.tokenRequests == 1)
    }

    @Test func configurationDescriptionsNeverShowTheKeyOrSecret() {
        let pem = "-----BEGIN PRIVATE KEY-----\nTOPSECRETKEYMATERIAL\n-----END PRIVATE KEY-----"
        let jwt = SalesforceConfiguration(
            instanceURL: "https://acme.my.salesforce.com/",
            authentication: .jwtBearer(consumerKey: "3MVG9abcdefghijklmnop", username: "weft@acme.example", privateKeyPEM: pem))
        let secret = SalesforceConfiguration(
            instanceURL: "https://acme.my.salesforce.com",
            authentication: .clientCredentials(clientID: "3MVG9abcdefghijklmnop", clientSecret: "sfsecret-0123456789"))
        for text in [
            "\(jwt)", String(reflecting: jwt), "\(jwt.authentication)", "\(secret)", String(reflecting: secret),
            "\(secret.authentication)", dumped(jwt), dumped(secret),
        ] {
            #expect(!text.contains("TOPSECRET"))
            #expect(!text.contains("sfsecret"))
            #expect(!text.contains("3MVG9abcdefghijklmnop"))
        }
        #expect("\(jwt)".contains("weft@acme.example"))
        #expect(jwt.instanceURL == "https://acme.my.salesforce.com")
        #expect(jwt.tokenURL == "https://login.salesforce.com/services/oauth2/token")
        #expect(secret.tokenURL == "https://acme.my.salesforce.com/services/oauth2/token")
        #expect(jwt.dataPath == "/services/data/v62.0")
        #expect(SalesforceAccessToken(accessToken: "00Dxx!AQ0secret", instanceURL: "https://x").description.contains("!AQ0") == false)
    }

    private func dumped(_ value: some Any) -> String {
        var text = ""
        dump(value, to: &text)
        return text
    }
}
