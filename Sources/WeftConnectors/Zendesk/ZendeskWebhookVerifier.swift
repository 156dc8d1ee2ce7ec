import Crypto
public import Foundation

/// Verifies a Zendesk webhook request: `X-Zendesk-Webhook-Signature` must be base64(HMAC-SHA256(secret,
/// timestamp + raw body)) for one of the configured secrets, where the timestamp is the
/// `X-Zendesk-Webhook-Signature-Timestamp` header exactly as sent; then the timestamp must be within the freshness
/// window of now (Zendesk signs but leaves replay protection to the receiver).
///
/// Signatures are checked over the raw bytes exactly as received, before anything parses them, in constant time.
public struct ZendeskWebhookVerifier: Sendable, CustomStringConvertible {
    /// The default freshness window: 300 seconds either way.
    public static let defaultTolerance: Duration = .seconds(300)
    /// The signature header.
    public static let signatureHeader = "X-Zendesk-Webhook-Signature"
    /// The timestamp header.
    public static let timestampHeader = "X-Zendesk-Webhook-Signature-Timestamp"

    // Raw secret bytes: `SymmetricKey` is not `Sendable` on every platform, so a key is made per use.
    private let keys: [[UInt8]]
    /// How far the signed timestamp may be from now. Zero disables the check.
    public let tolerance: Duration

    /// - Parameters:
    ///   - secrets: the webhook's signing secrets: the current one, then an old one while a rotation is under way.
    ///     Must not be empty.
    ///   - tolerance: how far the signed timestamp may be from now (default 300 s); zero disables the check.
    public init(secrets: [String], tolerance: Duration = ZendeskWebhookVerifier.defaultTolerance) {
        precondition(!secrets.isEmpty, "ZendeskWebhookVerifier needs at least one secret")
        self.keys = secrets.map { Array($0.utf8) }
        self.tolerance = tolerance
    }

    /// Never shows the secrets.
    public var description: String { "ZendeskWebhookVerifier(secrets: \(keys.count), tolerance: \(tolerance))" }

    /// Verifies one webhook.
    /// - Parameters:
    ///   - payload: the raw request body, byte for byte as received.
    ///   - signature: the `X-Zendesk-Webhook-Signature` header, `nil` when absent.
    ///   - timestamp: the `X-Zendesk-Webhook-Signature-Timestamp` header, `nil` when absent.
    ///   - now: the current time (injected so that tests need no clock).
    /// - Returns: the signed time.
    @discardableResult
    public func verify(
        payload: some DataProtocol, signature: String?, timestamp: String?, now: Date
    ) throws(ZendeskWebhookError) -> Date {
        guard let signature, let timestamp, !signature.isEmpty, !timestamp.isEmpty else {
            throw ZendeskWebhookError(code: .missingHeader)
        }
        let candidate = Array(signature.trimmingCharacters(in: .whitespaces).utf8)
        var matched = false
        for key in keys {
            let expected = Array(Self.signature(payload: payload, timestamp: timestamp, key: key).utf8)
            // Non-short-circuiting so that the time spent does not depend on which secret matched.
            matched = Self.constantTimeEquals(expected, candidate) || matched
        }
        guard matched else { throw ZendeskWebhookError(code: .badSignature) }
        guard let signedAt = Self.parseTimestamp(timestamp) else { throw ZendeskWebhookError(code: .malformedTimestamp) }
        let window = tolerance.timeIntervalValue
        if window > 0, abs(now.timeIntervalSince(signedAt)) > window { throw ZendeskWebhookError(code: .tooOld) }
        return signedAt
    }

    /// base64(HMAC-SHA256(key, timestamp + payload)).
    static func signature(payload: some DataProtocol, timestamp: String, key: [UInt8]) -> String {
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: key))
        hmac.update(data: Array(timestamp.utf8))
        hmac.update(data: Array(payload))
        return Data(hmac.finalize()).base64EncodedString()
    }

    private static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }

    /// `2023-11-14T22:13:20Z` (fractional seconds and `+00:00` accepted).
    static func parseTimestamp(_ text: String) -> Date? {
        let chars = Array(text.utf8)
        guard chars.count >= 20, chars[4] == UInt8(ascii: "-"), chars[7] == UInt8(ascii: "-"),
            chars[10] == UInt8(ascii: "T") || chars[10] == UInt8(ascii: "t"), chars[13] == UInt8(ascii: ":"),
            chars[16] == UInt8(ascii: ":")
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(chars[index]) else { return nil }
                value = value * 10 + Int(chars[index] - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
            let minute = number(14..<16), let second = number(17..<19), (1...12).contains(month), (1...31).contains(day),
            hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < chars.count, chars[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            while index < chars.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(chars[index]) {
                fraction += Double(chars[index] - UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
        }
        let zone = String(decoding: chars[index...], as: UTF8.self)
        guard zone == "Z" || zone == "z" || zone == "+00:00" else { return nil }
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = Double(days * 86_400 + hour * 3600 + minute * 60 + second) + fraction
        return Date(timeIntervalSince1970: seconds)
    }
}

extension Duration {
    fileprivate var timeIntervalValue: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
