/// Finds the raw bytes of each element of a Stripe list's top-level `data` array without re-serialising them, so
/// that the inbox stores each event exactly as Stripe rendered it.
enum StripeListSlicer {
    /// The byte ranges of the elements of the top-level `data` array; `nil` when the body is not a JSON object with
    /// a `data` array.
    static func dataElements(_ bytes: [UInt8]) -> [Range<Int>]? {
        var index = skipWhitespace(bytes, 0)
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        var result: [Range<Int>]?
        while true {
            index = skipWhitespace(bytes, index)
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "}") { return result }
            guard bytes[index] == UInt8(ascii: "\""), let keyEnd = skipString(bytes, index) else { return nil }
            let isData = bytes[(index + 1)..<(keyEnd - 1)].elementsEqual("data".utf8)
            index = skipWhitespace(bytes, keyEnd)
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index = skipWhitespace(bytes, index + 1)
            guard index < bytes.count else { return nil }
            if isData && bytes[index] == UInt8(ascii: "[") {
                guard let (elements, end) = arrayElements(bytes, index) else { return nil }
                result = elements
                index = end
            } else {
                guard let end = skipValue(bytes, index) else { return nil }
                index = end
            }
            index = skipWhitespace(bytes, index)
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
            } else if bytes[index] != UInt8(ascii: "}") {
                return nil
            }
        }
    }

    private static func arrayElements(_ bytes: [UInt8], _ start: Int) -> ([Range<Int>], Int)? {
        var elements: [Range<Int>] = []
        var index = skipWhitespace(bytes, start + 1)
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: "]") { return (elements, index + 1) }
        while true {
            guard let end = skipValue(bytes, index) else { return nil }
            elements.append(index..<end)
            index = skipWhitespace(bytes, end)
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "]") { return (elements, index + 1) }
            guard bytes[index] == UInt8(ascii: ",") else { return nil }
            index = skipWhitespace(bytes, index + 1)
        }
    }

    private static func skipWhitespace(_ bytes: [UInt8], _ start: Int) -> Int {
        var index = start
        while index < bytes.count,
            bytes[index] == 0x20 || bytes[index] == 0x0a || bytes[index] == 0x0d || bytes[index] == 0x09
        {
            index += 1
        }
        return index
    }

    /// The index after the string starting at `start` (a `"`).
    private static func skipString(_ bytes: [UInt8], _ start: Int) -> Int? {
        var index = start + 1
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\\"): index += 2
            case UInt8(ascii: "\""): return index + 1
            default: index += 1
            }
        }
        return nil
    }

    /// The index after the value starting at `start`.
    private static func skipValue(_ bytes: [UInt8], _ start: Int) -> Int? {
        guard start < bytes.count else { return nil }
        switch bytes[start] {
        case UInt8(ascii: "\""):
            return skipString(bytes, start)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var index = start
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    guard let end = skipString(bytes, index) else { return nil }
                    index = end
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return index + 1 }
                default:
                    break
                }
                index += 1
            }
            return nil
        default:
            var index = start
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0a, 0x0d, 0x09: return index
                default: index += 1
                }
            }
            return index
        }
    }
}
