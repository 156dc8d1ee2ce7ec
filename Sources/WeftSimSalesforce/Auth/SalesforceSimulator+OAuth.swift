import Crypto
import Foundation
import Synchronization
import WeftSimKit
import _CryptoExtras

extension SalesforceSimulator {
    /// A refused token request: `{"error","error_description"}` with status 400.
    struct OAuthError: Error {
        var error: String
        var description: String

        static let invalidAssertion = OAuthError(error: "invalid_grant", description: "invalid assertion")
        static let unknownClient = OAuthError(error: "invalid_client_id", description: "client identifier invalid")
    }

    /// `POST /services/oauth2/token`: the JWT bearer and client credentials grants.
    func token(body: [UInt8], query: String?, baseURL: String, now: Int) -> Reply {
        var params = Self.decodeForm(query ?? "")
        for (key, value) in Self.decodeForm(String(decoding: body, as: UTF8.self)) { params[key] = value }
        let result: Result<(app: ConnectedApp, clientID: String, username: String), OAuthError>
        switch params["grant_type"] {
        case "urn:ietf:params:oauth:grant-type:jwt-bearer":
            result = Result { () throws(OAuthError) in try verifyAssertion(params["assertion"] ?? "", now: now) }
        case "client_credentials":
            result = Result { () throws(OAuthError) in try clientCredentials(params) }
        case nil, "":
            result = .failure(OAuthError(error: "unsupported_grant_type", description: "grant type not supported"))
        default:
            result = .failure(OAuthError(error: "unsupported_grant_type", description: "grant type not supported"))
        }
        let headers = [
            ("Content-Type", "application/json;charset=UTF-8"), ("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private"),
        ]
        switch result {
        case .failure(let error):
            let body: JSON = ["error": .string(error.error), "error_description": .string(error.description)]
            return Reply(status: 400, headers: headers, body: body.bytes)
        case .success(let grant):
            let orgID = configuration.organizationID
            let (token, userID) = state.withLock { state -> (String, String) in
                state.now = now
                let userID = state.userID(for: grant.username)
                var random = ""
                let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._")
                for _ in 0..<96 { random.append(alphabet[Int(state.random.next() % UInt64(alphabet.count))]) }
                let token = String(orgID.prefix(15)) + "!AQ" + random
                state.sessions[token] = Session(username: grant.username, userID: userID, lastUsed: now)
                return (token, userID)
            }
            let identity = "\(baseURL)/id/\(orgID)/\(userID)"
            let issuedAt = String(now)
            let key = SymmetricKey(data: Array((grant.app.clientSecret ?? grant.clientID).utf8))
            let signature = Data(HMAC<SHA256>.authenticationCode(for: Array((identity + issuedAt).utf8), using: key))
                .base64EncodedString()
            let body: JSON = [
                "access_token": .string(token), "signature": .string(signature), "scope": .string(grant.app.scopes),
                "instance_url": .string(baseURL), "id": .string(identity), "token_type": "Bearer", "issued_at": .string(issuedAt),
            ]
            return Reply(status: 200, headers: headers, body: body.bytes)
        }
    }

    private func clientCredentials(_ params: [String: String]) throws(OAuthError) -> (app: ConnectedApp, clientID: String, username: String)
    {
        guard let clientID = params["client_id"], let app = configuration.connectedApps[clientID] else { throw .unknownClient }
        guard let secret = app.clientSecret, let given = params["client_secret"], Self.constantTimeEqual(secret, given) else {
            throw OAuthError(error: "invalid_client", description: "invalid client credentials")
        }
        guard let runAs = app.clientCredentialsRunAs else {
            throw OAuthError(error: "invalid_grant", description: "no client credentials user enabled")
        }
        return (app, clientID, runAs)
    }

    /// Checks a JWT bearer assertion: RS256 signature by the app's certificate, `iss` the consumer key, `aud` an
    /// accepted login URL, `exp` not passed (and at most a few minutes ahead), `sub` a pre-authorized user.
    private func verifyAssertion(_ assertion: String, now: Int) throws(OAuthError) -> (
        app: ConnectedApp, clientID: String, username: String
    ) {
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let headerBytes = Self.base64URL(parts[0]), let claimBytes = Self.base64URL(parts[1]),
            let signature = Self.base64URL(parts[2]), let header = try? JSON.parse(headerBytes),
            let claims = try? JSON.parse(claimBytes), claims.object != nil
        else { throw .invalidAssertion }
        guard header["alg"].string == "RS256" else {
            throw OAuthError(error: "invalid_grant", description: "invalid assertion: algorithm not supported")
        }
        guard let issuer = claims["iss"].string, let app = configuration.connectedApps[issuer] else { throw .unknownClient }
        guard let pem = app.jwtPublicKeyPEM, let key = try? _RSA.Signing.PublicKey(pemRepresentation: pem) else {
            throw OAuthError(error: "invalid_client", description: "invalid client credentials")
        }
        let signed = Array((parts[0] + "." + parts[1]).utf8)
        guard key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: signed, padding: .insecurePKCS1v1_5)
        else { throw OAuthError(error: "invalid_grant", description: "invalid signature") }
        let audiences = claims["aud"].array?.compactMap(\.string) ?? [claims["aud"].string].compactMap { $0 }
        let accepted = Set(configuration.audiences.map { Self.trimSlash($0) })
        guard audiences.contains(where: { accepted.contains(Self.trimSlash($0)) }) else {
            throw OAuthError(error: "invalid_grant", description: "audience is invalid")
        }
        guard let exp = claims["exp"].number else { throw .invalidAssertion }
        let nowSeconds = Double(now) / 1000
        guard exp > nowSeconds else { throw OAuthError(error: "invalid_grant", description: "expired authorization code") }
        // Salesforce wants exp within 3 minutes; a little clock skew on top is tolerated.
        guard exp <= nowSeconds + 300 else { throw .invalidAssertion }
        guard let subject = claims["sub"].string, app.preAuthorizedUsernames.contains(subject) else {
            throw OAuthError(error: "invalid_grant", description: "user hasn't approved this consumer")
        }
        return (app, issuer, subject)
    }

    private static func trimSlash(_ text: String) -> String { text.hasSuffix("/") ? String(text.dropLast()) : text }

    static func base64URL(_ text: String) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64.append("=") }
        return Data(base64Encoded: base64).map { Array($0) }
    }

    private static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
