import Crypto
public import Foundation

/// Verifies the `Stripe-Signature` header of a webhook request, with the exact semantics of stripe-python's
/// `WebhookSignature.verify_header`.
///
/// - The header is split on `,`, then each element on `=` (at most two splits; the value is the part between the
///   first and the second `=`). The first `t` element is the timestamp (a base-10 integer); every `v1` element is a
///   candidate signature; other schemes (`v0`, …) are ignored.
/// - The signed payload is `"<t>.<raw body>"` (with `t` re-printed in decimal), and the expected signature is the
///   lower-case hex HMAC-SHA256 of it keyed with the whole secret string, `whsec_` prefix included.
/// - The webhook is authentic when **any** `v1` signature equals the expected signature under **any** configured
///   secret (the current one and rolled ones in their grace period). Comparison is constant-time.
/// - Only then is the timestamp checked: it is rejected when it is older than `tolerance`. Like stripe-python, a
///   timestamp in the future is **not** rejected, and a zero tolerance disables the check.
///
/// Signatures are checked over the raw bytes exactly as received, before anything parses them.
public struct StripeWebhookVerifier: Sendable, CustomStringConvertible {
    /// Stripe's default tolerance: 300 seconds.
    public static let defaultTolerance: Duration = .seconds(300)

    /// One HMAC per secret, keyed once: keying hashes the padded key twice, which cost about as much as the body's
    /// own hash. Each verification copies it, and the copy's hash states are copied on their first update (they are
    /// copy-on-write), so the stored one is never changed and may be shared across threads.
    private let macs: [KeyedMAC]
    /// How old a signed timestamp may be. Zero disables the check.
    public let tolerance: Duration

    /// Creates a verifier.
    /// - Parameters:
    ///   - secrets: the endpoint's signing secrets (`whsec_…`): the current one first, then rolled ones still in
    ///     their grace period. Must not be empty.
    ///   - tolerance: how old a signed timestamp may be; zero disables the check (as in stripe-python).
    public init(secrets: [String], tolerance: Duration = StripeWebhookVerifier.defaultTolerance) {
        precondition(!secrets.isEmpty, "StripeWebhookVerifier needs at least one secret")
        self.macs = secrets.map { KeyedMAC(HMAC<SHA256>(key: SymmetricKey(data: Array($0.utf8)))) }
        self.tolerance = tolerance
    }

    /// Creates a verifier with one secret.
    /// - Parameters:
    ///   - secret: the endpoint's signing secret (`whsec_…`).
    ///   - tolerance: how old a signed timestamp may be; zero disables the check.
    public init(secret: String, tolerance: Duration = StripeWebhookVerifier.defaultTolerance) {
        self.init(secrets: [secret], tolerance: tolerance)
    }

    /// Never shows the secrets.
    public var description: String { "StripeWebhookVerifier(secrets: \(macs.count), tolerance: \(tolerance))" }

    /// Verifies one webhook.
    /// - Parameters:
    ///   - payload: the raw request body, byte for byte as received.
    ///   - signatureHeader: the value of the `Stripe-Signature` header, `nil` when absent.
    ///   - now: the current time (injected so that tests need no clock).
    /// - Returns: the signed timestamp (unix seconds).
    @discardableResult
    public func verify(
        payload: some DataProtocol, signatureHeader: String?, now: Date
    ) throws(StripeWebhookError) -> Int64 {
        guard let signatureHeader else { throw StripeWebhookError(code: .missingHeader) }
        guard let parsed = StripeSignatureHeader(parsing: signatureHeader) else {
            throw StripeWebhookError(code: .malformedHeader)
        }
        guard !parsed.v1.isEmpty else {
            throw StripeWebhookError(code: .noV1Signature, timestamp: parsed.timestamp)
        }
        var matched = false
        for mac in macs {
            let expected = Self.signature(payload: payload, timestamp: parsed.timestamp, keyed: mac.hmac)
            for candidate in parsed.v1 {
                // Non-short-circuiting so that the time spent does not depend on which pair matched.
                matched = Self.constantTimeEquals(expected, candidate) || matched
            }
        }
        guard matched else { throw StripeWebhookError(code: .noMatchingSignature, timestamp: parsed.timestamp) }
        let toleranceSeconds = Double(tolerance.components.seconds) + Double(tolerance.components.attoseconds) * 1e-18
        if toleranceSeconds > 0, Double(parsed.timestamp) < now.timeIntervalSince1970 - toleranceSeconds {
            throw StripeWebhookError(code: .timestampOutsideTolerance, timestamp: parsed.timestamp)
        }
        return parsed.timestamp
    }

    /// The lower-case hex HMAC-SHA256 of `"<timestamp>.<payload>"`, as ASCII bytes.
    static func signature(payload: some DataProtocol, timestamp: Int64, key: SymmetricKey) -> [UInt8] {
        signature(payload: payload, timestamp: timestamp, keyed: HMAC<SHA256>(key: key))
    }

    /// `signature(payload:timestamp:key:)` with an HMAC already keyed (and not yet updated).
    static func signature(payload: some DataProtocol, timestamp: Int64, keyed: HMAC<SHA256>) -> [UInt8] {
        var hmac = keyed
        hmac.update(data: Array("\(timestamp).".utf8))
        for region in payload.regions { hmac.update(data: region) }
        let mac = hmac.finalize()
        return mac.withUnsafeBytes { bytes in
            var hex: [UInt8] = []
            hex.reserveCapacity(bytes.count * 2)
            for byte in bytes {
                hex.append(hexDigits[Int(byte >> 4)])
                hex.append(hexDigits[Int(byte & 0x0f)])
            }
            return hex
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Compares two byte strings in time that depends only on their lengths (like `hmac.compare_digest`).
    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: some Collection<UInt8>) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for (left, right) in zip(lhs, rhs) { difference |= left ^ right }
        return difference == 0
    }
}

/// An HMAC keyed with one secret and not updated since. `HMAC` is not `Sendable`, but it is a value whose hash states
/// are copy-on-write, and the verifier only ever copies it.
private struct KeyedMAC: @unchecked Sendable {
    let hmac: HMAC<SHA256>

    init(_ hmac: HMAC<SHA256>) {
        self.hmac = hmac
    }
}

/// A parsed `Stripe-Signature` header: `t=<unix>,v1=<hex>[,v1=<hex>…]`.
struct StripeSignatureHeader: Hashable, Sendable {
    var timestamp: Int64
    /// Every `v1` value, as UTF-8 bytes.
    var v1: [[UInt8]]

    /// Parses like stripe-python's `_get_timestamp_and_signatures`; `nil` where it would raise.
    init?(parsing header: String) {
        var timestamp: Int64?
        var v1: [[UInt8]] = []
        // Split on bytes: `,` and `=` are ASCII, so they never occur inside a multi-byte character, and Python splits on
        // code points (a `Character` split would not split where a combining mark follows the separator).
        for item in header.utf8.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            // Python `item.split("=", 2)`: the value is what lies between the first and the second `=`.
            let parts = item.split(separator: UInt8(ascii: "="), maxSplits: 2, omittingEmptySubsequences: false)
            let key = parts[0]
            if key.elementsEqual("t".utf8) {
                guard parts.count > 1 else { return nil }
                if timestamp == nil {
                    guard let value = Self.pythonInt(parts[1]) else { return nil }
                    timestamp = value
                }
            } else if key.elementsEqual("v1".utf8) {
                guard parts.count > 1 else { return nil }
                v1.append(Array(parts[1]))
            }
        }
        guard let timestamp else { return nil }
        self.timestamp = timestamp
        self.v1 = v1
    }

    /// Python's `int(text)` for ASCII input: surrounding whitespace, an optional sign, digits with single
    /// underscores between them.
    static func pythonInt(_ text: Substring.UTF8View) -> Int64? {
        var bytes = text
        // Python's ASCII whitespace: space, \t, \n, \v, \f, \r.
        func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0d).contains(byte) }
        while let first = bytes.first, isWhitespace(first) { bytes = bytes.dropFirst() }
        while let last = bytes.last, isWhitespace(last) { bytes = bytes.dropLast() }
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            negative = first == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        guard let first = bytes.first, let last = bytes.last, first != UInt8(ascii: "_"), last != UInt8(ascii: "_")
        else { return nil }
        var value: Int64 = 0
        var previousUnderscore = false
        for byte in bytes {
            if byte == UInt8(ascii: "_") {
                guard !previousUnderscore else { return nil }
                previousUnderscore = true
                continue
            }
            previousUnderscore = false
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return negative ? -value : value
    }
}
