import WeftCore

/// A parsed search domain.
indirect enum Domain: Sendable {
    case all
    case none
    case and([Domain])
    case or([Domain])
    case not(Domain)
    case leaf(path: [String], op: String, value: JSONValue)

    static let operators: Set<String> = [
        "=", "!=", "<>", "<", "<=", ">", ">=", "=?", "in", "not in", "like", "not like", "ilike", "not ilike", "=like", "=ilike",
        "not =like", "not =ilike", "child_of", "parent_of", "any", "not any",
    ]

    /// Parses Odoo's prefix notation (implicit AND between top-level terms), validating fields and operators.
    static func parse(_ value: JSONValue?, model: String, in db: Database) throws(OdooError) -> Domain {
        guard let value, !value.isNull, value != .bool(false) else { return .all }
        guard let items = value.arrayValue else {
            throw .builtin("ValueError", "Invalid domain: \(PythonRepr.of(value))")
        }
        var index = 0
        var terms: [Domain] = []
        while index < items.count {
            terms.append(try parseTerm(items, &index, model: model, db: db))
        }
        if terms.isEmpty { return .all }
        return terms.count == 1 ? terms[0] : .and(terms)
    }

    private static func parseTerm(_ items: [JSONValue], _ index: inout Int, model: String, db: Database) throws(OdooError) -> Domain {
        guard index < items.count else {
            throw .builtin("ValueError", "Domain \(PythonRepr.of(.array(items))) is syntactically not correct.")
        }
        let item = items[index]
        index += 1
        if let text = item.stringValue {
            switch text {
            case "&":
                let left = try parseTerm(items, &index, model: model, db: db)
                return .and([left, try parseTerm(items, &index, model: model, db: db)])
            case "|":
                let left = try parseTerm(items, &index, model: model, db: db)
                return .or([left, try parseTerm(items, &index, model: model, db: db)])
            case "!":
                return .not(try parseTerm(items, &index, model: model, db: db))
            default:
                throw .builtin("ValueError", "Invalid domain term \(PythonRepr.of(item))")
            }
        }
        guard let leaf = item.arrayValue, leaf.count == 3 else {
            throw .builtin("ValueError", "Invalid domain term \(PythonRepr.of(item))")
        }
        if leaf[0] == .int(1), leaf[1] == "=", leaf[2] == .int(1) { return .all }
        if leaf[0] == .int(0), leaf[1] == "=", leaf[2] == .int(1) { return .none }
        // Only an error shows it: the repr of a long `in` list was a few per cent of the simulator's CPU.
        var condition: String { PythonRepr.tuple(leaf) }
        guard let op = leaf[1].stringValue?.lowercased(), operators.contains(op) else {
            throw .builtin("ValueError", db.flavour.is19 ? "Invalid operator in condition \(condition)" : "Invalid leaf \(condition)")
        }
        guard let path = leaf[0].stringValue else {
            throw .builtin("ValueError", db.flavour.is19 ? "Invalid field in condition \(condition)" : "Invalid leaf \(condition)")
        }
        let parts = path.split(separator: ".").map(String.init)
        var current = model
        for (position, part) in parts.enumerated() {
            guard let spec = db.models[current], let field = spec.fields[part] else {
                let where19 = "Invalid field \(current).\(part) in condition \(condition)"
                let where18 = "Invalid field \(current).\(part) in leaf \(condition)"
                throw .builtin("ValueError", db.flavour.is19 ? where19 : where18)
            }
            if position < parts.count - 1 {
                guard let relation = field.kind.relation else {
                    throw .builtin("ValueError", "Invalid field \(current).\(part) in condition \(condition)")
                }
                current = relation
            }
        }
        return .leaf(path: parts, op: op == "<>" ? "!=" : op, value: leaf[2])
    }

    /// Whether the domain names the `active` field anywhere (which turns off the implicit `active_test` filter).
    var mentionsActive: Bool {
        switch self {
        case .all, .none: false
        case .and(let terms), .or(let terms): terms.contains { $0.mentionsActive }
        case .not(let term): term.mentionsActive
        case .leaf(let path, _, _): path.first == "active"
        }
    }

    /// Ids that any match must be among, when a top-level conjunct pins `id` (a cheap index lookup).
    var pinnedIds: Set<Int64>? {
        switch self {
        case .leaf(let path, let op, let value) where path == ["id"]:
            if op == "=", let id = value.intValue { return [id] }
            if op == "in", let list = value.arrayValue { return Set(list.compactMap(\.intValue)) }
            return nil
        case .and(let terms):
            return terms.lazy.compactMap(\.pinnedIds).first
        default:
            return nil
        }
    }

    /// The value of `field` pinned by an `=` or `in` at the top level.
    /// The values a top-level `=` or `in` leaf on `field` allows, as given.
    func pinnedValues(_ field: String) -> [JSONValue]? {
        switch self {
        case .leaf(let path, let op, let value) where path == [field]:
            if op == "=" { return [value] }
            if op == "in", let list = value.arrayValue { return list }
            return nil
        case .and(let terms):
            return terms.lazy.compactMap { $0.pinnedValues(field) }.first
        default:
            return nil
        }
    }

    func pinned(_ field: String) -> [String]? {
        switch self {
        case .leaf(let path, let op, let value) where path == [field]:
            if op == "=", let text = value.stringValue { return [text] }
            if op == "in", let list = value.arrayValue { return list.compactMap(\.stringValue) }
            return nil
        case .and(let terms):
            return terms.lazy.compactMap { $0.pinned(field) }.first
        default:
            return nil
        }
    }
}

/// SQL `LIKE` matching with `%`, `_` and backslash escapes.
enum LikePattern {
    static func matches(_ text: String, _ pattern: String, caseInsensitive: Bool) -> Bool {
        let subject = Array((caseInsensitive ? text.lowercased() : text).unicodeScalars)
        let tokens = Array((caseInsensitive ? pattern.lowercased() : pattern).unicodeScalars)
        return match(subject, 0, tokens, 0)
    }

    private static func match(_ subject: [Unicode.Scalar], _ s: Int, _ pattern: [Unicode.Scalar], _ p: Int) -> Bool {
        var s = s
        var p = p
        var starP = -1
        var starS = 0
        while s < subject.count {
            if p < pattern.count, pattern[p] == "\\", p + 1 < pattern.count, pattern[p + 1] == subject[s] {
                s += 1
                p += 2
            } else if p < pattern.count, pattern[p] == "%" {
                starP = p
                starS = s
                p += 1
            } else if p < pattern.count, pattern[p] != "\\", pattern[p] == "_" || pattern[p] == subject[s] {
                s += 1
                p += 1
            } else if starP >= 0 {
                p = starP + 1
                starS += 1
                s = starS
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "%" { p += 1 }
        return p == pattern.count
    }
}
