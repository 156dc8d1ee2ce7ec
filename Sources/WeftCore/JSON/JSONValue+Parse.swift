public import Foundation

/// Why bytes are not a JSON document.
public struct JSONParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Byte offset of the problem.
    public var offset: Int
    public var reason: String

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

extension JSONValue {
    /// Parses one JSON document (RFC 8259; a bare scalar is accepted, as Foundation's decoder does).
    ///
    /// Same values as decoding `JSONValue` through `JSONDecoder`, about ten times faster: a number whose value is a
    /// whole number that fits `Int64` is `.int` (also when written `1.0` or `1e2`), any other finite number `.double`;
    /// a number outside `Double`'s range, invalid UTF-8, a lone surrogate escape or nesting deeper than 512 is an error.
    /// Of duplicate member names the first wins. Unlike Foundation's decoder, a trailing comma (`[1,]`) is rejected, as
    /// RFC 8259 requires.
    public static func parse(_ data: Data) throws -> JSONValue {
        try data.withUnsafeBytes { raw throws(JSONParseError) -> JSONValue in
            var parser = JSONBytesParser(bytes: raw)
            return try parser.document()
        }
    }
}

/// Which members of a JSON document to keep when parsing it (`JSONValue.parse(_:keeping:)`).
public indirect enum JSONProjection: Sendable, Hashable {
    /// The whole value.
    case all
    /// Of an object, only these members, each projected in turn (the rest are checked and skipped, never built);
    /// of an array, each element so; any other value whole.
    case members([String: JSONProjection])
}

extension JSONValue {
    /// Parses one JSON document, as `parse(_:)` does (the same errors for the same bytes), but builds only the members
    /// `projection` keeps: reading a few members of a large body costs about a scan of it.
    public static func parse(_ data: Data, keeping projection: JSONProjection) throws -> JSONValue {
        try data.withUnsafeBytes { raw throws(JSONParseError) -> JSONValue in
            var parser = JSONBytesParser(bytes: raw)
            parser.skipWhitespace()
            let value = try parser.value(keeping: projection)
            parser.skipWhitespace()
            guard parser.index == raw.count else { throw parser.fail("unexpected data after the document") }
            return value
        }
    }
}

/// A recursive-descent parser over raw bytes.
struct JSONBytesParser {
    let bytes: UnsafeRawBufferPointer
    var index = 0
    var depth = 0
    static let maximumDepth = 512

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: index, reason: reason) }

    mutating func document() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        let value = try self.value()
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected data after the document") }
        return value
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func value() throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("unexpected character")
        }
    }

    /// The value at `index`, with only the members `projection` keeps.
    mutating func value(keeping projection: JSONProjection) throws(JSONParseError) -> JSONValue {
        guard case .members(let kept) = projection, index < bytes.count else { return try value() }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            var members: [String: JSONValue] = [:]
            try forEachMember { key, parser throws(JSONParseError) in
                guard let inner = kept[key], members[key] == nil else { return try parser.skipValue() }
                members[key] = try parser.value(keeping: inner)
            }
            return .object(members)
        case UInt8(ascii: "["):
            var elements: [JSONValue] = []
            try forEachElement { parser throws(JSONParseError) in elements.append(try parser.value(keeping: projection)) }
            return .array(elements)
        default:
            return try value()
        }
    }

    /// Checks the value at `index` and moves past it without building it.
    mutating func skipValue() throws(JSONParseError) {
        guard index < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): try forEachMember { _, parser throws(JSONParseError) in try parser.skipValue() }
        case UInt8(ascii: "["): try forEachElement { parser throws(JSONParseError) in try parser.skipValue() }
        case UInt8(ascii: "\""): try skipString()
        default: _ = try value()
        }
    }

    /// Moves past the string at `index`, checking it as `string()` does; builds it only when it has escapes.
    mutating func skipString() throws(JSONParseError) {
        let start = index
        index += 1
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeRawBufferPointer(rebasing: bytes[(start + 1)..<index])
                index += 1
                // Plain ASCII needs no check; anything else must be valid UTF-8, as `string()` requires.
                if !slice.allSatisfy({ $0 < 0x80 }), String(validating: slice, as: UTF8.self) == nil {
                    throw fail("invalid UTF-8 in a string")
                }
                return
            }
            if byte == UInt8(ascii: "\\") {
                index = start
                _ = try string()
                return
            }
            if byte < 0x20 { throw fail("unescaped control character in a string") }
            index += 1
        }
        throw fail("unterminated string")
    }

    /// Walks the object at `index`: `body` is called with each member's name and the parser at its value, which it
    /// must consume (parse or skip).
    mutating func forEachMember(_ body: (String, inout JSONBytesParser) throws(JSONParseError) -> Void) throws(JSONParseError) {
        try forEachMember(name: { parser throws(JSONParseError) in try parser.string() }, body)
    }

    /// Walks the object at `index` as `forEachMember(_:)` does, with each member's name read by `name` (which is
    /// called at its opening quote and must consume it).
    mutating func forEachMember<Name>(
        name: (inout JSONBytesParser) throws(JSONParseError) -> Name,
        _ body: (Name, inout JSONBytesParser) throws(JSONParseError) -> Void
    ) throws(JSONParseError) {
        try enter()
        defer { depth -= 1 }
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
            let key = try name(&self)
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            skipWhitespace()
            try body(key, &self)
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
            index += 1
            return
        }
    }

    /// Walks the array at `index`: `body` is called with the parser at each element, which it must consume.
    mutating func forEachElement(_ body: (inout JSONBytesParser) throws(JSONParseError) -> Void) throws(JSONParseError) {
        try enter()
        defer { depth -= 1 }
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            try body(&self)
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
            index += 1
            return
        }
    }

    mutating func literal(_ word: StaticString, _ value: JSONValue) throws(JSONParseError) -> JSONValue {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail("unexpected end of input") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw fail("unexpected character")
        }
        index += count
        return value
    }

    mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > Self.maximumDepth { throw fail("nested deeper than \(Self.maximumDepth) levels") }
    }

    mutating func object() throws(JSONParseError) -> JSONValue {
        // Collected first and hashed once each into a table of the right size: inserting as they come hashed every
        // name twice (a check and a store) and grew the table, rehashing it, up to six times for a Stripe object.
        var pairs: [(String, JSONValue)] = []
        pairs.reserveCapacity(8)
        try forEachMember { key, parser throws(JSONParseError) in pairs.append((key, try parser.value())) }
        // The first of duplicate names wins, as with Foundation's decoder.
        return .object(Dictionary(pairs, uniquingKeysWith: { first, _ in first }))
    }

    mutating func array() throws(JSONParseError) -> JSONValue {
        var elements: [JSONValue] = []
        try forEachElement { parser throws(JSONParseError) in elements.append(try parser.value()) }
        return .array(elements)
    }

    mutating func string() throws(JSONParseError) -> String {
        index += 1
        let start = index
        // Fast path: no escapes. Plain ASCII (member names, ids, most values) is valid UTF-8 as it stands and skips
        // the generic validation.
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
                index += 1
                if ascii { return String(decoding: slice.assumingMemoryBound(to: UInt8.self), as: UTF8.self) }
                guard let text = String(validating: slice, as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw fail("unescaped control character in a string") }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        var buffer = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: buffer, as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw fail("unexpected end of input") }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(escaped)
                case UInt8(ascii: "b"): buffer.append(0x08)
                case UInt8(ascii: "f"): buffer.append(0x0C)
                case UInt8(ascii: "n"): buffer.append(0x0A)
                case UInt8(ascii: "r"): buffer.append(0x0D)
                case UInt8(ascii: "t"): buffer.append(0x09)
                case UInt8(ascii: "u"): buffer.append(contentsOf: try unicodeEscape())
                default: throw fail("invalid escape")
                }
            default:
                if byte < 0x20 { throw fail("unescaped control character in a string") }
                buffer.append(byte)
                index += 1
            }
        }
        throw fail("unterminated string")
    }

    /// The code point of `\uXXXX` (a surrogate pair takes two), as UTF-8; `index` is just after the `u`.
    mutating func unicodeEscape() throws(JSONParseError) -> [UInt8] {
        var scalar = try hex4()
        if (0xD800..<0xDC00).contains(scalar) {
            guard index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                throw fail("a high surrogate escape without its low surrogate")
            }
            index += 2
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw fail("a high surrogate escape without its low surrogate") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(scalar) {
            throw fail("a lone low surrogate escape")
        }
        guard let unicode = Unicode.Scalar(scalar) else { throw fail("invalid code point") }
        return Array(String(Character(unicode)).utf8)
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("unexpected end of input") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    mutating func number() throws(JSONParseError) -> JSONValue {
        let start = index
        var integral = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else {
            throw fail("invalid number")
        }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            integral = false
            index += 1
            let digits = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            guard index > digits else { throw fail("invalid number") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            integral = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            let digits = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            guard index > digits else { throw fail("invalid number") }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if integral, let value = Int64(text) { return .int(value) }
        guard let double = Double(text), double.isFinite else {
            index = start
            throw fail("number out of range")
        }
        if double.rounded(.towardZero) == double, let whole = Int64(exactly: double) { return .int(whole) }
        return .double(double)
    }
}
