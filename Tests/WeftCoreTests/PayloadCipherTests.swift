import Foundation
import Testing
import WeftCore

@Suite("Payload encryption at rest")
struct PayloadCipherTests {
    static let keyA = Data(repeating: 0xA5, count: 32).base64EncodedString()
    static let keyB = Data((0..<32).map { UInt8($0) }).base64EncodedString()
    let plaintext = Data(#"{"id":"evt_1","data":{"object":{"email":"ada@example.com"}}}"#.utf8)

    @Test func sealsAndOpensBoundToTheEvent() throws {
        let cipher = try PayloadCipher(keys: [try .init(id: "2026-12", base64: Self.keyA)])
        let sealed = try cipher.seal(plaintext, context: "stripe/evt_1")
        #expect(PayloadCipher.isSealed(sealed))
        #expect(sealed.range(of: Data("ada@example.com".utf8)) == nil)
        #expect(try cipher.open(sealed, context: "stripe/evt_1") == plaintext)
        // Two seals of the same payload differ (fresh nonce).
        #expect(try cipher.seal(plaintext, context: "stripe/evt_1") != sealed)
        // Moved to another event, or altered: refused.
        #expect(throws: PayloadCipherError.self) { try cipher.open(sealed, context: "stripe/evt_2") }
        var altered = sealed
        altered[altered.count - 1] ^= 1
        #expect(throws: PayloadCipherError.self) { try cipher.open(altered, context: "stripe/evt_1") }
        // Plaintext stored before encryption was configured passes through.
        #expect(try cipher.open(plaintext, context: "stripe/evt_1") == plaintext)
    }

    @Test func rotationSealsWithTheFirstKeyAndOpensWithAny() throws {
        let old = try PayloadCipher(keys: [try .init(id: "old", base64: Self.keyA)])
        let sealedOld = try old.seal(plaintext, context: "c")
        let rotated = try PayloadCipher(keys: [try .init(id: "new", base64: Self.keyB), try .init(id: "old", base64: Self.keyA)])
        #expect(rotated.sealingKeyID == "new")
        #expect(try rotated.open(sealedOld, context: "c") == plaintext)
        let sealedNew = try rotated.seal(plaintext, context: "c")
        // Without the new key, what it sealed cannot be read, and the error names the key, not its bytes.
        let error = #expect(throws: PayloadCipherError.self) { try old.open(sealedNew, context: "c") }
        #expect(error?.code == .keyNotConfigured)
        #expect(error?.description.contains("'new'") == true)
        #expect(error?.description.contains(Self.keyB) == false)
        #expect(throws: PayloadCipherError.self) { try PayloadCipher.openWithoutKeys(sealedNew) }
        #expect(try PayloadCipher.openWithoutKeys(plaintext) == plaintext)
    }

    @Test func rejectsBadKeys() {
        #expect(throws: PayloadCipherError.self) { try PayloadCipher.Key(id: "k", base64: "c2hvcnQ=") }
        #expect(throws: PayloadCipherError.self) { try PayloadCipher.Key(id: "", base64: Self.keyA) }
        #expect(throws: PayloadCipherError.self) { try PayloadCipher.Key(id: "k", base64: "not base64!") }
        #expect(throws: PayloadCipherError.self) { try PayloadCipher(keys: []) }
        #expect(throws: PayloadCipherError.self) {
            try PayloadCipher(keys: [try .init(id: "k", base64: Self.keyA), try .init(id: "k", base64: Self.keyB)])
        }
    }
}
