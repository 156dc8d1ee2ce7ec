public import NIOHTTP1

/// Header values that must never reach logs.
public enum HeaderRedaction {
    /// Lower-cased names of headers whose values are secrets.
    public static let sensitiveNames: Set<String> = [
        "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "x-odoo-api-key",
        "stripe-signature", "x-hubspot-signature", "x-hubspot-signature-v3", "x-auth-token",
    ]

    /// The headers as `name: value` pairs with secret values replaced by `<redacted>`, for debug logging.
    public static func redacted(_ headers: HTTPHeaders) -> [String] {
        headers.map { name, value in
            sensitiveNames.contains(name.lowercased()) ? "\(name): <redacted>" : "\(name): \(value)"
        }
    }
}
