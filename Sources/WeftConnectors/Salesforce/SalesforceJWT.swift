import Crypto
import Foundation
import WeftCore
import _CryptoExtras

/// The RS256 assertion of the OAuth 2.0 JWT bearer flow: header `{"alg":"RS256"}`, claims `iss` (consumer key), `sub`
/// (username), `aud` (login URL) and `exp` (now + 3 minutes, Salesforce's maximum), each part base64url without
/// padding, signed with RSASSA-PKCS1-v1_5 over SHA-256.
enum SalesforceJWT {
    /// Lifetime of an assertion; Salesforce refuses an `exp` more than 3 minutes ahead.
    static let lifetime: TimeInterval = 180

    /// Builds and signs the assertion.
    static func assertion(
        consumerKey: String, username: String, audience: String, privateKey: _RSA.Signing.PrivateKey, now: Date
    ) throws -> String {
        let header = base64URL(Data(#"{"alg":"RS256"}"#.utf8))
        let claims: JSONValue = [
            "iss": .string(consumerKey), "sub": .string(username), "aud": .string(audience),
            "exp": .int(Int64((now.timeIntervalSince1970 + lifetime).rounded(.down))),
        ]
        let signingInput = header + "." + base64URL(claims.serialized())
        let signature = try privateKey.signature(for: Data(signingInput.utf8), padding: .insecurePKCS1v1_5)
        return signingInput + "." + base64URL(signature.rawRepresentation)
    }

    /// Base64url without padding (RFC 7515 §2).
    static func base64URL(_ data: Data) -> String {
        var text = data.base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }
}
