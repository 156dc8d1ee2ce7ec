import Crypto
public import Foundation

/// Verifies a HubSpot webhook request with the v3 signature: `X-HubSpot-Signature-v3` must be
/// base64(HMAC-SHA256(client secret, method + URI + raw body + timestamp)) for one of the configured client secrets,
/// where the timestamp is `X-HubSpot-Request-Timestamp` (unix ms) exactly as sent; then the timestamp must be within
/// the window of now (HubSpot: reject if older than 5 minutes). v1/v2 signatures are refused: they have no timestamp.
///
/// The URI is the full URL HubSpot called (scheme, host, path, query), after decoding the escapes HubSpot documents:
/// `%3A` `:`, `%2F` `/`, `%3F` `?`, `%40` `@`, `%21` `!`, `%24` `$`, `%27` `'`, `%28` `(`, `%29` `)`, `%2A` `*`,
/// `%2C` `,`, `%3B` `;`. Signatures are compared in constant time over the raw bytes, before anything parses them.
public struct HubSpotWebhookVerifier: Sendable, CustomStringConvertible {
    /// The default window: 300 seconds.
    public static let defaultTolerance: Duration = .seconds(300)
    /// The v3 signature header.
    public static let signatureHeader = "X-HubSpot-Signature-v3"
    /// The timestamp header.
    public static let timestampHeader = "X-HubSpot-Request-Timestamp"
    /// The v1/v2 signature header (refused).
    public static let legacySignatureHeader = "X-HubSpot-Signature"

    // Raw secret bytes: `SymmetricKey` is not `Sendable` on every platform, so a key is made per use.
    private let keys: [[UInt8]]
    /// How far the timestamp may be from now. Zero disables the check.
    public let tolerance: Duration

    /// - Parameters:
    ///   - clientSecrets: the app's client secrets: the current one, then an old one while a rotation is under way.
    ///     Must not be empty.
    ///   - tolerance: how far the timestamp may be from now (default 300 s); zero disables the check.
    public init(clientSecrets: [String], tolerance: Duration = HubSpotWebhookVerifier.defaultTolerance) {
        precondition(!clientSecrets.isEmpty, "HubSpotWebhookVerifier needs at least one client secret")
        self.keys = clientSecrets.map { Array($0.utf8) }
        self.tolerance = tolerance
    }

    /// Never shows the secrets.
    public var description: String { "HubSpotWebhookVerifier(secrets: \(keys.count), tolerance: \(tolerance))" }

    /// Verifies one webhook request.
    /// - Parameters:
    ///   - method: the HTTP method (`POST`).
    ///   - uri: the full URL the request was sent to, as HubSpot called it (`https://host/hooks/hubspot?x=1`).
    ///   - body: the raw request body, byte for byte as received.
    ///   - signature: the `X-HubSpot-Signature-v3` header, `nil` when absent.
    ///   - timestamp: the `X-HubSpot-Request-Timestamp` header, `nil` when absent.
    ///   - legacySignature: the `X-HubSpot-Signature` header, to tell "only v1/v2 sent" from "nothing sent".
    ///   - now: the current time (injected so that tests need no clock).
    /// - Returns: the signed time.
    @discardableResult
    public func verify(
        method: String, uri: String, body: some DataProtocol, signature: String?, timestamp: String?,
        legacySignature: String? = nil, now: Date
    ) throws(HubSpotWebhookError) -> Date {
        guard let signature, !signature.isEmpty else {
            if let legacySignature, !legacySignature.isEmpty { throw HubSpotWebhookError(code: .unsupportedVersion) }
            throw HubSpotWebhookError(code: .missingHeader)
        }
        guard let timestamp, !timestamp.isEmpty else { throw HubSpotWebhookError(code: .missingHeader) }
        let candidate = Array(signature.trimmingCharacters(in: .whitespaces).utf8)
        let normalised = Self.normalise(uri)
        var matched = false
        for key in keys {
            let expected = Array(
                Self.signature(method: method.uppercased(), uri: normalised, body: body, timestamp: timestamp, key: key).utf8)
            // Non-short-circuiting so that the time spent does not depend on which secret matched.
            matched = Self.constantTimeEquals(expected, candidate) || matched
        }
        guard matched else { throw HubSpotWebhookError(code: .badSignature) }
        guard timestamp.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let milliseconds = Int64(timestamp)
        else { throw HubSpotWebhookError(code: .malformedTimestamp) }
        let signedAt = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        let window = Double(tolerance.components.seconds) + Double(tolerance.components.attoseconds) / 1e18
        if window > 0, abs(now.timeIntervalSince(signedAt)) > window { throw HubSpotWebhookError(code: .tooOld) }
        return signedAt
    }

    /// base64(HMAC-SHA256(key, method + uri + body + timestamp)).
    static func signature(method: String, uri: String, body: some DataProtocol, timestamp: String, key: [UInt8]) -> String {
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: key))
        hmac.update(data: Array((method + uri).utf8))
        hmac.update(data: Array(body))
        hmac.update(data: Array(timestamp.utf8))
        return Data(hmac.finalize()).base64EncodedString()
    }

    private static let decoded: [(String, String)] = [
        ("%3A", ":"), ("%2F", "/"), ("%3F", "?"), ("%40", "@"), ("%21", "!"), ("%24", "$"), ("%27", "'"), ("%28", "("),
        ("%29", ")"), ("%2A", "*"), ("%2C", ","), ("%3B", ";"),
    ]

    /// Decodes the escapes HubSpot's v3 instructions list (either case); every other escape stays as it is.
    static func normalise(_ uri: String) -> String {
        var result = ""
        var index = uri.startIndex
        while index < uri.endIndex {
            if uri[index] == "%", let end = uri.index(index, offsetBy: 3, limitedBy: uri.endIndex) {
                let escape = uri[index..<end].uppercased()
                if let match = decoded.first(where: { $0.0 == escape }) {
                    result += match.1
                    index = end
                    continue
                }
            }
            result.append(uri[index])
            index = uri.index(after: index)
        }
        return result
    }

    private static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
