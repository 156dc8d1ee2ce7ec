import Crypto
import Foundation

/// HubSpot's request signatures.
///
/// - v3 (`X-HubSpot-Signature-v3`): base64(HMAC-SHA256(client secret, method + URI + body + timestamp)), with the
///   timestamp (unix ms) sent as `X-HubSpot-Request-Timestamp`.
/// - v1 (`X-HubSpot-Signature` with `X-HubSpot-Signature-Version: v1`): hex SHA-256(client secret + body).
/// - v2: hex SHA-256(client secret + method + URI + body).
public enum HubSpotWebhookSignature {
    /// The v3 signature.
    public static func v3(method: String, uri: String, body: [UInt8], timestamp: String, secret: String) -> String {
        var payload = Array((method + uri).utf8)
        payload.append(contentsOf: body)
        payload.append(contentsOf: timestamp.utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: payload, using: SymmetricKey(data: Array(secret.utf8)))
        return Data(mac).base64EncodedString()
    }

    /// The v1 signature.
    public static func v1(body: [UInt8], secret: String) -> String {
        hex(SHA256.hash(data: Array(secret.utf8) + body))
    }

    /// The v2 signature.
    public static func v2(method: String, uri: String, body: [UInt8], secret: String) -> String {
        hex(SHA256.hash(data: Array((secret + method + uri).utf8) + body))
    }

    private static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }
}
