import Crypto
import Foundation

/// Zendesk's webhook signature: `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(secret, timestamp + raw body)),
/// with the timestamp sent as `X-Zendesk-Webhook-Signature-Timestamp`.
public enum ZendeskWebhookSignature {
    /// The signature of `body` sent at `timestamp` (ISO 8601, e.g. `2023-11-14T22:13:20Z`).
    public static func sign(body: [UInt8], timestamp: String, secret: String) -> String {
        var payload = Array(timestamp.utf8)
        payload.append(contentsOf: body)
        let mac = HMAC<SHA256>.authenticationCode(for: payload, using: SymmetricKey(data: Array(secret.utf8)))
        return Data(mac).base64EncodedString()
    }
}
