/// Standard base64 (RFC 4648, with padding), without Foundation.
enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "_"))] = 63
        return table
    }()

    /// Encodes bytes; `lineLength` inserts a newline after every that many output characters and at the end, as
    /// Python's `base64.encodebytes` does (76).
    static func encode(_ bytes: [UInt8], lineLength: Int? = nil) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4 + (lineLength.map { bytes.count / $0 + 1 } ?? 0))
        var column = 0
        func emit(_ byte: UInt8) {
            output.append(byte)
            column += 1
            if let lineLength, column == lineLength {
                output.append(UInt8(ascii: "\n"))
                column = 0
            }
        }
        var index = 0
        while index + 2 < bytes.count {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            emit(alphabet[Int(chunk >> 18 & 63)])
            emit(alphabet[Int(chunk >> 12 & 63)])
            emit(alphabet[Int(chunk >> 6 & 63)])
            emit(alphabet[Int(chunk & 63)])
            index += 3
        }
        let remaining = bytes.count - index
        if remaining > 0 {
            let first = UInt32(bytes[index]) << 16
            let chunk = remaining == 2 ? first | UInt32(bytes[index + 1]) << 8 : first
            emit(alphabet[Int(chunk >> 18 & 63)])
            emit(alphabet[Int(chunk >> 12 & 63)])
            emit(remaining == 2 ? alphabet[Int(chunk >> 6 & 63)] : UInt8(ascii: "="))
            emit(UInt8(ascii: "="))
        }
        if lineLength != nil, column > 0 { output.append(UInt8(ascii: "\n")) }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes base64 text, ignoring whitespace; `nil` for any other invalid character.
    static func decode(_ text: some Sequence<UInt8>) -> [UInt8]? {
        var output: [UInt8] = []
        var accumulator: UInt32 = 0
        var bits = 0
        for byte in text {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"):
                continue
            case UInt8(ascii: "="):
                bits = bits >= 6 ? bits - 6 : 0
                continue
            default:
                let value = reverse[Int(byte)]
                if value == 0xFF { return nil }
                accumulator = accumulator << 6 | UInt32(value)
                bits += 6
                if bits >= 8 {
                    bits -= 8
                    output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                }
            }
        }
        return output
    }
}
