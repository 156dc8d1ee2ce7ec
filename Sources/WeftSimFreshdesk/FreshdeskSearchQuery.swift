/// Freshdesk's filter query language: `"domain:'acme.com' AND (weft_tier:'pro' OR seats:>10)"`.
///
/// The whole query sits in double quotes; terms are `field:value`, `field:>value` (at least) and `field:<value` (at
/// most); values are `'strings'`, integers, `true`/`false` or `null`; `AND` binds tighter than `OR`; parentheses
/// group. Text compares case-insensitively and exactly.
indirect enum FreshdeskSearchQuery: Sendable {
    /// How a field compares.
    enum Kind: Sendable { case text, number, boolean, date }
    enum Relation: Sendable { case equal, atLeast, atMost }

    case term(field: String, relation: Relation, value: FDJSON, kind: Kind)
    case and(FreshdeskSearchQuery, FreshdeskSearchQuery)
    case or(FreshdeskSearchQuery, FreshdeskSearchQuery)

    struct ParseError: Error { var message: String }

    /// Parses `raw` (with its surrounding double quotes) for `fields`.
    static func parse(_ raw: String, fields: [String: Kind]) throws(ParseError) -> FreshdeskSearchQuery {
        guard raw.count >= 2, raw.hasPrefix("\""), raw.hasSuffix("\"") else {
            throw ParseError(message: "It should be a valid query enclosed in double quotes")
        }
        guard raw.count <= 512 else { throw ParseError(message: "It should have at most 512 characters") }
        var parser = Parser(chars: Array(raw.dropFirst().dropLast()), fields: fields)
        let query = try parser.orExpression()
        parser.skipSpaces()
        guard parser.index == parser.chars.count else { throw ParseError(message: "Invalid query: unexpected input") }
        return query
    }

    /// Whether a record matches; `values` gives a field's values on it.
    func matches(_ values: (String) -> [FDJSON]) -> Bool {
        switch self {
        case .and(let left, let right): return left.matches(values) && right.matches(values)
        case .or(let left, let right): return left.matches(values) || right.matches(values)
        case .term(let field, let relation, let value, let kind):
            return values(field).contains { Self.compare($0, relation, value, kind) }
        }
    }

    private static func compare(_ actual: FDJSON, _ relation: Relation, _ wanted: FDJSON, _ kind: Kind) -> Bool {
        if wanted.isNull { return actual.isNull || actual.string?.isEmpty == true }
        switch kind {
        case .text:
            guard let a = actual.string?.lowercased(), let w = wanted.string?.lowercased() else { return false }
            return a == w
        case .boolean:
            return actual == wanted
        case .number:
            guard let a = actual.int, let w = wanted.int else { return false }
            switch relation {
            case .equal: return a == w
            case .atLeast: return a >= w
            case .atMost: return a <= w
            }
        case .date:
            guard let a = actual.string.flatMap(FDTime.parse), let w = wanted.string.flatMap(FDTime.parse) else {
                return false
            }
            switch relation {
            case .equal: return a / 86_400 == w / 86_400
            case .atLeast: return a >= w
            case .atMost: return a <= w
            }
        }
    }

    private struct Parser {
        let chars: [Character]
        let fields: [String: Kind]
        var index = 0

        mutating func skipSpaces() {
            while index < chars.count, chars[index] == " " { index += 1 }
        }

        mutating func keyword(_ word: String) -> Bool {
            skipSpaces()
            let letters = Array(word)
            guard index + letters.count <= chars.count, Array(chars[index..<(index + letters.count)]) == letters,
                index + letters.count == chars.count || chars[index + letters.count] == " "
                    || chars[index + letters.count] == "("
            else { return false }
            index += letters.count
            return true
        }

        mutating func orExpression() throws(ParseError) -> FreshdeskSearchQuery {
            var left = try andExpression()
            while keyword("OR") { left = .or(left, try andExpression()) }
            return left
        }

        mutating func andExpression() throws(ParseError) -> FreshdeskSearchQuery {
            var left = try primary()
            while keyword("AND") { left = .and(left, try primary()) }
            return left
        }

        mutating func primary() throws(ParseError) -> FreshdeskSearchQuery {
            skipSpaces()
            guard index < chars.count else { throw ParseError(message: "Invalid query: a condition is missing") }
            if chars[index] == "(" {
                index += 1
                let inner = try orExpression()
                skipSpaces()
                guard index < chars.count, chars[index] == ")" else {
                    throw ParseError(message: "Invalid query: unbalanced parentheses")
                }
                index += 1
                return inner
            }
            var name = ""
            while index < chars.count, chars[index] != ":", chars[index] != " " {
                name.append(chars[index])
                index += 1
            }
            guard index < chars.count, chars[index] == ":" else {
                throw ParseError(message: "Invalid query: expected field:value")
            }
            index += 1
            guard let kind = fields[name] else { throw ParseError(message: "Invalid query: unknown field '\(name)'") }
            var relation = Relation.equal
            if index < chars.count, chars[index] == ">" || chars[index] == "<" {
                guard kind == .number || kind == .date else {
                    throw ParseError(message: "Invalid query: '\(name)' does not take :> or :<")
                }
                relation = chars[index] == ">" ? .atLeast : .atMost
                index += 1
            }
            let value = try literal()
            if !value.isNull {
                switch kind {
                case .text, .date:
                    guard value.string != nil else {
                        throw ParseError(message: "Invalid query: '\(name)' takes a quoted value")
                    }
                case .number:
                    guard value.int != nil else { throw ParseError(message: "Invalid query: '\(name)' takes a number") }
                case .boolean:
                    guard case .bool = value else {
                        throw ParseError(message: "Invalid query: '\(name)' takes true or false")
                    }
                }
            }
            return .term(field: name, relation: relation, value: value, kind: kind)
        }

        mutating func literal() throws(ParseError) -> FDJSON {
            guard index < chars.count else { throw ParseError(message: "Invalid query: a value is missing") }
            if chars[index] == "'" {
                index += 1
                var text = ""
                while index < chars.count, chars[index] != "'" {
                    if chars[index] == "\\", index + 1 < chars.count { index += 1 }
                    text.append(chars[index])
                    index += 1
                }
                guard index < chars.count else { throw ParseError(message: "Invalid query: unterminated string") }
                index += 1
                return .string(text)
            }
            var word = ""
            while index < chars.count, chars[index] != " ", chars[index] != ")" {
                word.append(chars[index])
                index += 1
            }
            switch word {
            case "true": return .bool(true)
            case "false": return .bool(false)
            case "null": return .null
            default:
                guard let number = Int64(word) else { throw ParseError(message: "Invalid query: bad value '\(word)'") }
                return .int(number)
            }
        }
    }
}
