import WeftSimKit

/// A SOQL literal.
enum SOQLValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    /// A date, datetime or date function: the instants `start..<end` in unix ms (a datetime is one millisecond wide).
    case temporal(start: Int, end: Int, isDate: Bool, isFunction: Bool)

    /// A number as Salesforce writes it in text (`1500.0` → `1500.0`, `2.5` → `2.5`).
    static func format(_ number: Double) -> String { String(number) }
}

/// A parsed SOQL query (the subset a connector needs): fields, parent paths, child subqueries, `COUNT()`, `WHERE`
/// with `AND`/`OR`/`NOT`, comparisons, `IN`, `NOT IN`, `LIKE`, `ORDER BY`, `LIMIT` and `OFFSET`.
struct SOQLQuery: Sendable {
    enum Item: Sendable {
        case field(path: String, offset: Int)
        case subquery(SOQLQuery)
        case count
    }

    struct Order: Sendable {
        var path: String
        var offset: Int
        var descending: Bool
        var nullsLast: Bool
    }

    var items: [Item] = []
    var object = ""
    var objectOffset = 0
    var condition: SOQLCondition?
    var orderBy: [Order] = []
    var limit: Int?
    var offset: Int?
}

indirect enum SOQLCondition: Sendable {
    case and([SOQLCondition])
    case or([SOQLCondition])
    case not(SOQLCondition)
    /// `op` is one of `=`, `!=`, `<`, `<=`, `>`, `>=`, `LIKE`.
    case compare(path: String, offset: Int, op: String, value: SOQLValue, valueOffset: Int)
    case inList(path: String, offset: Int, values: [SOQLValue], negated: Bool, valueOffset: Int)
}

/// Parses SOQL; errors are `MALFORMED_QUERY` with Salesforce's row/column pointer.
struct SOQLParser {
    enum Kind: Equatable {
        case word(String)
        case string(String)
        case number(String)
        case temporal(String)
        case symbol(String)
        case end
    }

    struct Token {
        var kind: Kind
        var offset: Int
        var text: String
    }

    let source: String
    let now: Int
    private var tokens: [Token] = []
    private var position = 0

    init(_ source: String, now: Int) {
        self.source = source
        self.now = now
    }

    /// The error pointing at character `offset` of `source`.
    static func error(_ source: String, at offset: Int, code: String, _ message: String) -> SalesforceError {
        let chars = Array(source)
        var row = 1
        var lineStart = 0
        for index in 0..<min(offset, chars.count) where chars[index] == "\n" {
            row += 1
            lineStart = index + 1
        }
        let lineEnd = chars[lineStart...].firstIndex(of: "\n") ?? chars.count
        let line = String(chars[lineStart..<lineEnd])
        let column = offset - lineStart + 1
        let caret = String(repeating: " ", count: max(0, column - 1)) + "^"
        return SalesforceError(400, code, "\n\(line)\n\(caret)\nERROR at Row:\(row):Column:\(column)\n\(message)")
    }

    private func malformed(_ token: Token) -> SalesforceError {
        let shown = token.kind == .end ? "<EOF>" : token.text
        return Self.error(source, at: token.offset, code: "MALFORMED_QUERY", "unexpected token: \(shown)")
    }

    mutating func parse() throws(SalesforceError) -> SOQLQuery {
        try lex()
        let query = try parseQuery()
        guard peek.kind == .end else { throw malformed(peek) }
        return query
    }

    // MARK: Lexer

    private mutating func lex() throws(SalesforceError) {
        let chars = Array(source)
        var index = 0
        func isWordChar(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "." }
        while index < chars.count {
            let c = chars[index]
            if c.isWhitespace {
                index += 1
                continue
            }
            let start = index
            if c == "'" {
                var text = ""
                index += 1
                var closed = false
                while index < chars.count {
                    let d = chars[index]
                    if d == "\\", index + 1 < chars.count {
                        let e = chars[index + 1]
                        switch e {
                        case "n": text.append("\n")
                        case "t": text.append("\t")
                        case "r": text.append("\r")
                        case "%", "_": text.append("\\"); text.append(e)
                        default: text.append(e)
                        }
                        index += 2
                        continue
                    }
                    if d == "'" {
                        closed = true
                        index += 1
                        break
                    }
                    text.append(d)
                    index += 1
                }
                guard closed else {
                    throw Self.error(source, at: start, code: "MALFORMED_QUERY", "unexpected token: '\(String(chars[start...]))'")
                }
                tokens.append(Token(kind: .string(text), offset: start, text: String(chars[start..<index])))
            } else if c.isNumber || (c == "-" && index + 1 < chars.count && chars[index + 1].isNumber) {
                index += 1
                while index < chars.count, chars[index].isNumber || chars[index] == "." { index += 1 }
                // 2024-01-01 or 2024-01-01T00:00:00Z / +01:00
                if index - start == 4, index < chars.count, chars[index] == "-" {
                    while index < chars.count,
                        chars[index].isNumber || ["-", ":", "T", ".", "Z", "+"].contains(chars[index])
                    {
                        index += 1
                    }
                    let text = String(chars[start..<index])
                    tokens.append(Token(kind: .temporal(text), offset: start, text: text))
                } else {
                    let text = String(chars[start..<index])
                    tokens.append(Token(kind: .number(text), offset: start, text: text))
                }
            } else if c.isLetter || c == "_" {
                while index < chars.count, isWordChar(chars[index]) { index += 1 }
                // Date functions with a parameter: LAST_N_DAYS:30
                if index + 1 < chars.count, chars[index] == ":", chars[index + 1].isNumber {
                    index += 1
                    while index < chars.count, chars[index].isNumber { index += 1 }
                }
                let text = String(chars[start..<index])
                tokens.append(Token(kind: .word(text), offset: start, text: text))
            } else {
                let two = index + 1 < chars.count ? String(chars[index...index + 1]) : ""
                if ["!=", "<>", "<=", ">="].contains(two) {
                    tokens.append(Token(kind: .symbol(two == "<>" ? "!=" : two), offset: start, text: two))
                    index += 2
                } else if ["(", ")", ",", "=", "<", ">"].contains(c) {
                    tokens.append(Token(kind: .symbol(String(c)), offset: start, text: String(c)))
                    index += 1
                } else {
                    throw Self.error(source, at: start, code: "MALFORMED_QUERY", "unexpected token: '\(c)'")
                }
            }
        }
        tokens.append(Token(kind: .end, offset: chars.count, text: ""))
    }

    // MARK: Grammar

    private var peek: Token { tokens[position] }

    private mutating func next() -> Token {
        defer { position = min(position + 1, tokens.count - 1) }
        return tokens[position]
    }

    private func isKeyword(_ token: Token, _ keyword: String) -> Bool {
        if case .word(let text) = token.kind { return text.uppercased() == keyword }
        return false
    }

    private mutating func accept(_ keyword: String) -> Bool {
        guard isKeyword(peek, keyword) else { return false }
        position += 1
        return true
    }

    private mutating func expect(_ keyword: String) throws(SalesforceError) {
        guard accept(keyword) else { throw malformed(peek) }
    }

    private mutating func acceptSymbol(_ symbol: String) -> Bool {
        guard peek.kind == .symbol(symbol) else { return false }
        position += 1
        return true
    }

    private mutating func expectSymbol(_ symbol: String) throws(SalesforceError) {
        guard acceptSymbol(symbol) else { throw malformed(peek) }
    }

    private mutating func word() throws(SalesforceError) -> Token {
        let token = next()
        guard case .word = token.kind else { throw malformed(token) }
        return token
    }

    private static let reserved: Set<String> = [
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT", "OFFSET", "ASC", "DESC", "NULLS",
        "GROUP", "HAVING", "WITH", "USING",
    ]

    private mutating func parseQuery() throws(SalesforceError) -> SOQLQuery {
        var query = SOQLQuery()
        try expect("SELECT")
        repeat {
            if acceptSymbol("(") {
                query.items.append(.subquery(try parseQuery()))
                try expectSymbol(")")
            } else {
                let token = try word()
                if Self.reserved.contains(token.text.uppercased()) { throw malformed(token) }
                if token.text.uppercased() == "COUNT", acceptSymbol("(") {
                    try expectSymbol(")")
                    query.items.append(.count)
                } else {
                    query.items.append(.field(path: token.text, offset: token.offset))
                }
            }
        } while acceptSymbol(",")
        try expect("FROM")
        let object = try word()
        query.object = object.text
        query.objectOffset = object.offset
        if accept("WHERE") { query.condition = try parseCondition() }
        if isKeyword(peek, "GROUP") || isKeyword(peek, "HAVING") || isKeyword(peek, "WITH") || isKeyword(peek, "USING") {
            throw malformed(peek)
        }
        if accept("ORDER") {
            try expect("BY")
            repeat {
                let field = try word()
                var order = SOQLQuery.Order(path: field.text, offset: field.offset, descending: false, nullsLast: false)
                if accept("DESC") {
                    order.descending = true
                    order.nullsLast = true
                } else {
                    _ = accept("ASC")
                }
                if accept("NULLS") {
                    if accept("LAST") {
                        order.nullsLast = true
                    } else {
                        try expect("FIRST")
                        order.nullsLast = false
                    }
                }
                query.orderBy.append(order)
            } while acceptSymbol(",")
        }
        if accept("LIMIT") { query.limit = try integer() }
        if accept("OFFSET") { query.offset = try integer() }
        _ = accept("FOR") && (accept("VIEW") || accept("REFERENCE") || accept("UPDATE"))
        return query
    }

    private mutating func integer() throws(SalesforceError) -> Int {
        let token = next()
        guard case .number(let text) = token.kind, let value = Int(text), value >= 0 else { throw malformed(token) }
        return value
    }

    private mutating func parseCondition() throws(SalesforceError) -> SOQLCondition {
        let first = try parseUnary()
        if isKeyword(peek, "AND") {
            var terms = [first]
            while accept("AND") { terms.append(try parseUnary()) }
            if isKeyword(peek, "OR") { throw malformed(peek) }
            return .and(terms)
        }
        if isKeyword(peek, "OR") {
            var terms = [first]
            while accept("OR") { terms.append(try parseUnary()) }
            if isKeyword(peek, "AND") { throw malformed(peek) }
            return .or(terms)
        }
        return first
    }

    private mutating func parseUnary() throws(SalesforceError) -> SOQLCondition {
        if accept("NOT") { return .not(try parseUnary()) }
        if acceptSymbol("(") {
            let inner = try parseCondition()
            try expectSymbol(")")
            return inner
        }
        let field = try word()
        if Self.reserved.contains(field.text.uppercased()) { throw malformed(field) }
        if accept("NOT") {
            try expect("IN")
            return try parseIn(field, negated: true)
        }
        if accept("IN") { return try parseIn(field, negated: false) }
        let opToken = next()
        let op: String
        switch opToken.kind {
        case .symbol(let symbol) where ["=", "!=", "<", "<=", ">", ">="].contains(symbol): op = symbol
        case .word(let text) where text.uppercased() == "LIKE": op = "LIKE"
        default: throw malformed(opToken)
        }
        let valueOffset = peek.offset
        let value = try parseValue()
        return .compare(path: field.text, offset: field.offset, op: op, value: value, valueOffset: valueOffset)
    }

    private mutating func parseIn(_ field: Token, negated: Bool) throws(SalesforceError) -> SOQLCondition {
        try expectSymbol("(")
        if isKeyword(peek, "SELECT") { throw malformed(peek) }
        let valueOffset = peek.offset
        var values: [SOQLValue] = []
        repeat { values.append(try parseValue()) } while acceptSymbol(",")
        try expectSymbol(")")
        return .inList(path: field.text, offset: field.offset, values: values, negated: negated, valueOffset: valueOffset)
    }

    private mutating func parseValue() throws(SalesforceError) -> SOQLValue {
        let token = next()
        switch token.kind {
        case .string(let text): return .string(text)
        case .number(let text):
            guard let number = Double(text) else { throw malformed(token) }
            return .number(number)
        case .temporal(let text):
            if let ms = SalesforceTime.parseDate(text) {
                return .temporal(start: ms, end: ms + 86_400_000, isDate: true, isFunction: false)
            }
            if let ms = SalesforceTime.parseDateTime(text) {
                return .temporal(start: ms, end: ms + 1, isDate: false, isFunction: false)
            }
            throw Self.error(
                source, at: token.offset, code: "MALFORMED_QUERY", "line 1:\(token.offset) no viable alternative at character ' '")
        case .word(let text):
            switch text.uppercased() {
            case "TRUE": return .bool(true)
            case "FALSE": return .bool(false)
            case "NULL": return .null
            default:
                if let range = dateFunction(text.uppercased()) {
                    return .temporal(start: range.0, end: range.1, isDate: true, isFunction: true)
                }
                throw malformed(token)
            }
        default: throw malformed(token)
        }
    }

    /// `TODAY`, `YESTERDAY`, `TOMORROW`, `LAST_N_DAYS:n`, `NEXT_N_DAYS:n` as UTC instants.
    private func dateFunction(_ text: String) -> (Int, Int)? {
        let day = 86_400_000
        let today = (now >= 0 ? now / day : (now - day + 1) / day) * day
        let parts = text.split(separator: ":")
        let n = parts.count == 2 ? Int(parts[1]) : nil
        switch parts.first.map(String.init) {
        case "TODAY": return (today, today + day)
        case "YESTERDAY": return (today - day, today)
        case "TOMORROW": return (today + day, today + 2 * day)
        case "LAST_N_DAYS": return n.map { (today - $0 * day, today + day) }
        case "NEXT_N_DAYS": return n.map { (today + day, today + ($0 + 1) * day) }
        default: return nil
        }
    }
}
