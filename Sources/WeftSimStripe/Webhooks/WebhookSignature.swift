import Crypto

/// Stripe's webhook signature: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256("<t>.<body>")>[,v1=…]`.
enum WebhookSignature {
    /// The lowercase hex HMAC-SHA256 of `"<timestamp>.<body>"` keyed with the whole secret (including `whsec_`).
    static func sign(body: [UInt8], timestamp: Int, secret: String) -> String {
        var payload = Array(String(timestamp).utf8)
        payload.append(UInt8(ascii: "."))
        payload.append(contentsOf: body)
        let mac = HMAC<SHA256>.authenticationCode(for: payload, using: SymmetricKey(data: Array(secret.utf8)))
        return mac.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The header value, one `v1` per secret.
    static func header(body: [UInt8], timestamp: Int, secrets: [String]) -> String {
        (["t=\(timestamp)"] + secrets.map { "v1=" + sign(body: body, timestamp: timestamp, secret: $0) })
            .joined(separator: ",")
    }
}
