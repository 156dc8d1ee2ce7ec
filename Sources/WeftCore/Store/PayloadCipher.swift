import Crypto
public import Foundation

/// Encrypts stored event payloads (which may hold personal data) with AES-256-GCM, under named keys so keys can be
/// rotated: the first key seals new payloads, every key opens what it sealed. Each payload is bound to its event
/// (`context`, e.g. system and event id) as authenticated data, so a sealed payload cannot be moved to another row.
///
/// Stored form: `0x00 'W' 0x01`, the key id's length (1 byte) and UTF-8 bytes, then nonce (12) ‖ ciphertext ‖ tag (16).
/// A payload not starting with `0x00` (JSON never does) is plaintext written before encryption was configured, and
/// is returned as is.
public struct PayloadCipher: Sendable {
    /// One named key.
    public struct Key: Sendable {
        public var id: String
        /// The key bytes (`SymmetricKey` is not `Sendable`; one is made per operation).
        let bytes: [UInt8]
        var key: SymmetricKey { SymmetricKey(data: bytes) }

        /// - Parameters:
        ///   - id: a short name stored beside each payload (1–255 bytes of UTF-8), e.g. `2026-12`.
        ///   - base64: the 32-byte key, base64-encoded (e.g. `openssl rand -base64 32`).
        public init(id: String, base64: String) throws(PayloadCipherError) {
            guard !id.isEmpty, id.utf8.count <= 255 else {
                throw PayloadCipherError(code: .invalidKey, detail: "a key id must have 1 to 255 bytes")
            }
            guard let bytes = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 32
            else {
                throw PayloadCipherError(code: .invalidKey, detail: "key '\(id)' must be 32 bytes, base64-encoded")
            }
            self.id = id
            self.bytes = [UInt8](bytes)
        }

        /// A new random key, base64-encoded (for throwaway stores: the demo, the crash test).
        public static func randomBase64() -> String {
            var generator = SystemRandomNumberGenerator()
            return Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
        }
    }

    let sealing: Key
    let keys: [String: Key]

    /// - Parameter keys: the first seals; all open. Ids must be distinct.
    public init(keys: [Key]) throws(PayloadCipherError) {
        guard let first = keys.first else { throw PayloadCipherError(code: .invalidKey, detail: "no key given") }
        var byID: [String: Key] = [:]
        for key in keys {
            guard byID.updateValue(key, forKey: key.id) == nil else {
                throw PayloadCipherError(code: .invalidKey, detail: "key id '\(key.id)' is given twice")
            }
        }
        self.sealing = first
        self.keys = byID
    }

    /// The id of the key new payloads are sealed with.
    public var sealingKeyID: String { sealing.id }

    static let magic: [UInt8] = [0x00, 0x57, 0x01]

    /// Whether `stored` is a sealed payload (rather than plaintext from before encryption was configured).
    public static func isSealed(_ stored: Data) -> Bool { stored.starts(with: magic) }

    /// Seals `plaintext` with the first key, bound to `context`.
    public func seal(_ plaintext: Data, context: String) throws(PayloadCipherError) -> Data {
        let box: AES.GCM.SealedBox
        do {
            box = try AES.GCM.seal(plaintext, using: sealing.key, authenticating: Data(context.utf8))
        } catch {
            throw PayloadCipherError(code: .sealFailed, detail: "AES-GCM refused to seal")
        }
        guard let combined = box.combined else {
            throw PayloadCipherError(code: .sealFailed, detail: "AES-GCM gave no combined form")
        }
        var stored = Data(Self.magic)
        stored.append(UInt8(sealing.id.utf8.count))
        stored.append(contentsOf: sealing.id.utf8)
        stored.append(combined)
        return stored
    }

    /// Opens what `seal` produced for the same `context`; plaintext passes through unchanged.
    public func open(_ stored: Data, context: String) throws(PayloadCipherError) -> Data {
        try Self.open(stored, context: context, keys: keys)
    }

    /// Opens with no cipher configured: plaintext passes, a sealed payload is an error naming its key.
    public static func openWithoutKeys(_ stored: Data) throws(PayloadCipherError) -> Data {
        try open(stored, context: "", keys: [:])
    }

    static func open(_ stored: Data, context: String, keys: [String: Key]) throws(PayloadCipherError) -> Data {
        guard isSealed(stored) else { return stored }
        let bytes = [UInt8](stored)
        guard bytes.count > magic.count else { throw PayloadCipherError(code: .malformed, detail: "truncated header") }
        let idLength = Int(bytes[magic.count])
        let idStart = magic.count + 1
        guard bytes.count >= idStart + idLength + 12 + 16 else {
            throw PayloadCipherError(code: .malformed, detail: "truncated payload")
        }
        let id = String(decoding: bytes[idStart..<(idStart + idLength)], as: UTF8.self)
        guard let key = keys[id] else {
            throw PayloadCipherError(
                code: .keyNotConfigured,
                detail: "the payload is sealed with key '\(id)', which is not configured (store.payload_keys)")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: Data(bytes[(idStart + idLength)...]))
            return try AES.GCM.open(box, using: key.key, authenticating: Data(context.utf8))
        } catch {
            throw PayloadCipherError(
                code: .authenticationFailed,
                detail: "the payload sealed with key '\(id)' does not authenticate (altered, or stored for another event)")
        }
    }
}

/// Why a payload could not be sealed or opened. Never carries key material or payload bytes.
public struct PayloadCipherError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case invalidKey = "invalid_key"
        case keyNotConfigured = "key_not_configured"
        case authenticationFailed = "authentication_failed"
        case malformed
        case sealFailed = "seal_failed"
    }

    public var code: Code
    public var detail: String

    public var description: String { "payload encryption (\(code.rawValue)): \(detail)" }
}
