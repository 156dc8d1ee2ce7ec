import WeftSimKit

/// Makes Stripe-looking ids (`cus_QXg1o8vcGmoR32`) from a seedable generator, so runs can be reproduced.
struct IDGenerator: Sendable {
    private var random: SplitMix

    init(seed: UInt64) {
        self.random = SplitMix(seed: seed)
    }

    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// Prefixes whose ids are 14 characters long after the prefix; the rest get 24 like Stripe's.
    private static let shortPrefixes: Set<String> = ["cus", "prod", "si", "req"]

    mutating func make(_ prefix: String) -> String {
        let length = Self.shortPrefixes.contains(prefix) ? 14 : 24
        var bytes = Array(prefix.utf8)
        bytes.append(UInt8(ascii: "_"))
        for _ in 0..<length { bytes.append(Self.alphabet[Int(random.next() % 62)]) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A lowercase hex/alnum token (client secrets, webhook secrets).
    mutating func token(_ length: Int) -> String {
        String(decoding: (0..<length).map { _ in Self.alphabet[Int(random.next() % 62)] }, as: UTF8.self)
    }

    /// An uppercase hex string (invoice prefixes).
    mutating func hex(_ length: Int) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: (0..<length).map { _ in digits[Int(random.next() % 16)] }, as: UTF8.self)
    }
}

/// The simulators' shared seedable generator.
typealias SplitMix = SplitMix64
