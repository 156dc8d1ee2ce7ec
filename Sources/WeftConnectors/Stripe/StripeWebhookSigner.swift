import Crypto
public import Foundation

/// Signs webhook payloads the way Stripe does, producing a `Stripe-Signature` header value. Used by the load
/// generator, the simulator's clients and tests.
public struct StripeWebhookSigner: Sendable, CustomStringConvertible {
    // Raw secret bytes: `SymmetricKey` is not `Sendable` on every platform, so a key is made per use.
    private let keys: [[UInt8]]

    /// Creates a signer.
    /// - Parameter secrets: the secrets to sign with, one `v1` signature each, in order (during a secret roll
    ///   Stripe signs with the new and the old secret).
    public init(secrets: [String]) {
        precondition(!secrets.isEmpty, "StripeWebhookSigner needs at least one secret")
        self.keys = secrets.map { Array($0.utf8) }
    }

    /// Creates a signer with one secret.
    public init(secret: String) {
        self.init(secrets: [secret])
    }

    /// Never shows the secrets.
    public var description: String { "StripeWebhookSigner(secrets: \(keys.count))" }

    /// The header value `t=<timestamp>,v1=<hex>[,v1=<hex>…]` for `payload` signed at `timestamp`.
    /// - Parameters:
    ///   - payload: the exact body bytes that will be sent.
    ///   - timestamp: the signing time in unix seconds.
    public func signatureHeader(payload: some DataProtocol, timestamp: Int64) -> String {
        var header = "t=\(timestamp)"
        for key in keys {
            let signature = StripeWebhookVerifier.signature(payload: payload, timestamp: timestamp, key: SymmetricKey(data: key))
            header += ",v1=" + String(decoding: signature, as: UTF8.self)
        }
        return header
    }

    /// The header value for `payload` signed at `date` (truncated to whole seconds).
    public func signatureHeader(payload: some DataProtocol, at date: Date) -> String {
        signatureHeader(payload: payload, timestamp: Int64(date.timeIntervalSince1970.rounded(.down)))
    }
}
