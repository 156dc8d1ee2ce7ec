/// Salesforce record ids: a 3-character key prefix naming the object, then 12 characters, then (in the 18-character
/// form) a 3-character suffix that makes the id case-insensitively unique. The suffix encodes, for each 5-character
/// chunk of the 15-character id, which positions hold an upper-case letter (bit i for position i), as one character of
/// `A…Z0…5`.
public enum SalesforceID {
    private static let suffixAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345")
    private static let base62 = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    /// The 18-character form of a 15- or 18-character id, or `nil` when `id` is not a well-formed id.
    public static func normalise(_ id: String) -> String? {
        let chars = Array(id)
        guard chars.count == 15 || chars.count == 18, chars.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })
        else { return nil }
        let base = String(chars[0..<15])
        let full = base + suffix(of: base)
        if chars.count == 18, full.lowercased() != id.lowercased() { return nil }
        return full
    }

    /// The 3-character case-safe suffix of a 15-character id.
    public static func suffix(of id15: String) -> String {
        let chars = Array(id15)
        var result = ""
        for chunk in 0..<3 {
            var flags = 0
            for position in 0..<5 {
                let character = chars[chunk * 5 + position]
                if character.isASCII, character.isUppercase { flags |= 1 << position }
            }
            result.append(suffixAlphabet[flags])
        }
        return result
    }

    /// The 18-character id with key prefix `prefix` and serial number `serial`, on pod `pod` (2 characters).
    static func make(prefix: String, pod: String, serial: Int) -> String {
        var digits: [Character] = []
        var value = serial
        for _ in 0..<9 {
            digits.append(base62[value % 62])
            value /= 62
        }
        let base = prefix + pod + "0" + String(digits.reversed())
        return base + suffix(of: base)
    }
}
