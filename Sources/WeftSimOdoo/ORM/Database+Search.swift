import Foundation
import WeftCore

extension Database {
    // MARK: - Search

    /// The ids matching `domain`, ordered and paged like Odoo's `_search`.
    func search(
        _ model: String, domain rawDomain: JSONValue?, offset: Int = 0, limit: Int? = nil, order: String? = nil, _ ctx: CallContext
    ) throws(OdooError) -> [Int64] {
        let spec = try spec(model)
        var domain = resolve(try Domain.parse(rawDomain, model: model, in: self), model: model, ctx)
        if spec.hasActive, ctx.activeTest, !domain.mentionsActive {
            domain = .and([.leaf(path: ["active"], op: "=", value: .bool(true)), domain])
        }
        let terms = try parseOrder(spec, order)
        var candidates: [Int64]
        if let pinned = domain.pinnedIds {
            candidates = pinned.filter { exists(model, $0) }.sorted()
        } else if model == "ir.model.data", let modules = domain.pinned("module"), let names = domain.pinned("name") {
            candidates = modules.flatMap { module in names.compactMap { xmlids[module + "." + $0] } }.sorted()
        } else if let keys = indexKeys(domain, spec) {
            let index = tables[model]?.index
            candidates = Set(keys.flatMap { index?[$0] ?? [] }).sorted()
        } else {
            candidates = ids(model)
        }
        let table = tables[model] ?? Table()
        var matched: [Int64] = []
        for id in candidates {
            guard let row = table.rows[id] else { continue }
            if matches(domain, spec, id, row) { matched.append(id) }
        }
        if !(terms.count == 1 && terms[0].0 == "id" && !terms[0].1) {
            matched = sort(matched, spec, terms)
        }
        let start = min(max(offset, 0), matched.count)
        let end = limit.map { min(start + max($0, 0), matched.count) } ?? matched.count
        return Array(matched[start..<end])
    }

    /// The index entries that hold every record `domain` can match, when it pins an indexed field to values of the
    /// field's own type (`ref = "x"`, `move_id in [1, 2]`); `nil` when the table must be scanned.
    func indexKeys(_ domain: Domain, _ spec: ModelSpec) -> [String]? {
        for field in tables[spec.name]?.indexedFields ?? [] {
            guard let values = domain.pinnedValues(field), let kind = spec.fields[field]?.kind else { continue }
            let typed = values.allSatisfy { value in
                switch (kind, value) {
                case (.char, .string), (.many2one, .int), (.integer, .int): true
                default: false
                }
            }
            if typed { return values.compactMap { Table.indexKey(field, $0) } }
        }
        return nil
    }

    func parseOrder(_ spec: ModelSpec, _ order: String?) throws(OdooError) -> [(String, Bool)] {
        guard let order, !order.trimmingCharacters(in: .whitespaces).isEmpty else { return spec.order }
        var terms: [(String, Bool)] = []
        for part in order.split(separator: ",") {
            let words = part.split(separator: " ").map { $0.lowercased() }
            guard let field = words.first else { continue }
            let name = String(part.split(separator: " ").first ?? "")
            guard spec.fields[name] != nil || field == "id" else {
                throw .builtin("ValueError", "Invalid field \(PythonRepr.string(name)) on model \(PythonRepr.string(spec.name))")
            }
            let descending = words.count > 1 && words[1] == "desc"
            terms.append((name, descending))
        }
        return terms
    }

    private func sort(_ ids: [Int64], _ spec: ModelSpec, _ terms: [(String, Bool)]) -> [Int64] {
        let keys: [(Int64, [JSONValue])] = ids.map { id in
            let row = row(spec.name, id) ?? [:]
            return (
                id,
                terms.map { term in
                    let raw = value(spec, id, row, term.0)
                    if case .many2one(let comodel) = spec.fields[term.0]?.kind, let target = raw.intValue {
                        return .string(displayName(comodel, target))
                    }
                    return raw
                }
            )
        }
        let booleans = terms.map { term -> Bool in
            if case .boolean = spec.fields[term.0]?.kind { return true }
            return false
        }
        return keys.sorted { left, right in
            for (index, term) in terms.enumerated() {
                let result = Self.compareForOrder(left.1[index], right.1[index], boolean: booleans[index], descending: term.1)
                if result != 0 { return result < 0 }
            }
            return left.0 < right.0
        }.map(\.0)
    }

    /// Postgres ordering: NULLs last ascending and first descending; text compared case-insensitively first.
    static func compareForOrder(_ a: JSONValue, _ b: JSONValue, boolean: Bool, descending: Bool) -> Int {
        let aNull = !boolean && (a == .bool(false) || a.isNull)
        let bNull = !boolean && (b == .bool(false) || b.isNull)
        if aNull || bNull {
            if aNull && bNull { return 0 }
            return (aNull ? 1 : -1) * (descending ? -1 : 1)
        }
        var result = 0
        if let x = a.doubleValue, let y = b.doubleValue {
            result = x < y ? -1 : (x > y ? 1 : 0)
        } else if let x = a.stringValue, let y = b.stringValue {
            let lx = x.lowercased()
            let ly = y.lowercased()
            result = lx < ly ? -1 : (lx > ly ? 1 : (x < y ? -1 : (x > y ? 1 : 0)))
        } else if let x = a.boolValue, let y = b.boolValue {
            result = x == y ? 0 : (x ? 1 : -1)
        }
        return descending ? -result : result
    }

    // MARK: - Matching

    /// Rewrites `child_of`, `parent_of` and `any` leaves into `in` leaves over resolved ids.
    private func resolve(_ domain: Domain, model: String, _ ctx: CallContext) -> Domain {
        switch domain {
        case .all, .none: return domain
        case .and(let terms): return .and(terms.map { resolve($0, model: model, ctx) })
        case .or(let terms): return .or(terms.map { resolve($0, model: model, ctx) })
        case .not(let term): return .not(resolve(term, model: model, ctx))
        case .leaf(let path, let op, let value):
            guard ["child_of", "parent_of", "any", "not any"].contains(op) else { return domain }
            var target = model
            for part in path {
                guard let field = models[target]?.fields[part] else { break }
                if let relation = field.kind.relation { target = relation } else if part != "id" { break }
            }
            if op == "any" || op == "not any" {
                let ids = (try? search(target, domain: value, CallContext(["active_test": .bool(false)]))) ?? []
                let leaf = Domain.leaf(path: path, op: "in", value: .array(ids.map(JSONValue.int)))
                return op == "any" ? leaf : .not(leaf)
            }
            let roots = (value.arrayValue ?? [value]).compactMap(\.intValue)
            let parentField = models[target]?.parentField ?? "parent_id"
            var found = Set(roots.filter { exists(target, $0) })
            if op == "child_of" {
                var frontier = found
                while !frontier.isEmpty {
                    var next: Set<Int64> = []
                    for id in ids(target) where !found.contains(id) {
                        if let parent = row(target, id)?[parentField]?.intValue, frontier.contains(parent) { next.insert(id) }
                    }
                    found.formUnion(next)
                    frontier = next
                }
            } else {
                var frontier = Array(found)
                while let id = frontier.popLast() {
                    if let parent = row(target, id)?[parentField]?.intValue, !found.contains(parent) {
                        found.insert(parent)
                        frontier.append(parent)
                    }
                }
            }
            return .leaf(path: path, op: "in", value: .array(found.sorted().map(JSONValue.int)))
        }
    }

    func matches(_ domain: Domain, _ spec: ModelSpec, _ id: Int64, _ row: [String: JSONValue]) -> Bool {
        switch domain {
        case .all: return true
        case .none: return false
        case .and(let terms): return terms.allSatisfy { matches($0, spec, id, row) }
        case .or(let terms): return terms.contains { matches($0, spec, id, row) }
        case .not(let term): return !matches(term, spec, id, row)
        case .leaf(let path, let op, let value): return leafMatches(path[...], op, value, spec, id, row)
        }
    }

    private func leafMatches(
        _ path: ArraySlice<String>, _ op: String, _ value: JSONValue, _ spec: ModelSpec, _ id: Int64, _ row: [String: JSONValue]
    ) -> Bool {
        guard let name = path.first, let field = spec.fields[name] else { return false }
        let raw = self.value(spec, id, row, name)
        if path.count > 1 {
            guard let relation = field.kind.relation, let comodel = models[relation] else { return false }
            let targets = field.kind.isX2many ? (raw.arrayValue ?? []).compactMap(\.intValue) : [raw.intValue].compactMap { $0 }
            return targets.contains { target in
                guard let targetRow = self.row(relation, target) else { return false }
                return leafMatches(path.dropFirst(), op, value, comodel, target, targetRow)
            }
        }
        switch field.kind {
        case .many2one(let comodel):
            let textual = value.stringValue != nil || (value.arrayValue?.contains { $0.stringValue != nil } ?? false)
            if textual, ["=", "!=", "in", "not in", "like", "not like", "ilike", "not ilike", "=like", "=ilike"].contains(op) {
                let label: JSONValue = raw.intValue.map { .string(displayName(comodel, $0)) } ?? .bool(false)
                return Self.compare(label, op, value, boolean: false)
            }
            return Self.compare(raw, op, value, boolean: false)
        case .one2many(let comodel, _), .many2many(let comodel):
            let members = (raw.arrayValue ?? []).compactMap(\.intValue)
            let negative = ["!=", "not in", "not like", "not ilike"].contains(op)
            if value == .bool(false) || value.isNull {
                return (op == "=" || op == "in") ? members.isEmpty : !members.isEmpty
            }
            let positiveOp = negative ? (op == "!=" ? "=" : String(op.dropFirst(4))) : op
            let any = members.contains { member in
                if value.stringValue != nil || (value.arrayValue?.contains { $0.stringValue != nil } ?? false) {
                    return Self.compare(.string(displayName(comodel, member)), positiveOp, value, boolean: false)
                }
                return Self.compare(.int(member), positiveOp, value, boolean: false)
            }
            return negative ? !any : any
        case .boolean:
            return Self.compare(raw, op, value, boolean: true)
        default:
            return Self.compare(raw, op, value, boolean: false)
        }
    }

    /// Compares one stored value with a domain value the way Odoo's SQL does (NULL-aware negative operators).
    static func compare(_ lhs: JSONValue, _ op: String, _ rhs: JSONValue, boolean: Bool) -> Bool {
        let lhsNull: Bool
        if boolean {
            lhsNull = !(lhs.boolValue ?? false)
        } else {
            lhsNull = lhs.isNull || lhs == .bool(false) || lhs == .string("")
        }
        let rhsFalse = rhs.isNull || rhs == .bool(false)
        func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
            if boolean {
                let left = a.boolValue ?? false
                if let flag = b.boolValue { return left == flag }
                if let number = b.doubleValue { return left == (number != 0) }
                return false
            }
            if let x = a.doubleValue, let y = b.doubleValue { return x == y }
            if let x = a.stringValue, let y = b.stringValue { return x == y }
            return a == b
        }
        switch op {
        case "=":
            return rhsFalse ? lhsNull : (!lhsNull || boolean) && equal(lhs, rhs)
        case "!=":
            return rhsFalse ? !lhsNull : (lhsNull && !boolean) || !equal(lhs, rhs)
        case "=?":
            return rhsFalse ? true : equal(lhs, rhs)
        case "in", "not in":
            let list = rhs.arrayValue ?? [rhs]
            let wantsNull = list.contains { $0 == .bool(false) || $0.isNull }
            let found =
                (lhsNull && wantsNull) || ((!lhsNull || boolean) && list.contains { !($0 == .bool(false) || $0.isNull) && equal(lhs, $0) })
            return op == "in" ? found : !found
        case "<", "<=", ">", ">=":
            if lhsNull && !boolean { return false }
            var order = 0
            if let x = lhs.doubleValue, let y = rhs.doubleValue {
                order = x < y ? -1 : (x > y ? 1 : 0)
            } else if let x = lhs.stringValue, let y = rhs.stringValue {
                order = x < y ? -1 : (x > y ? 1 : 0)
            } else {
                return false
            }
            switch op {
            case "<": return order < 0
            case "<=": return order <= 0
            case ">": return order > 0
            default: return order >= 0
            }
        case "like", "ilike", "=like", "=ilike", "not like", "not ilike", "not =like", "not =ilike":
            let negative = op.hasPrefix("not ")
            let base = negative ? String(op.dropFirst(4)) : op
            let patternText = rhs.stringValue ?? (rhs.doubleValue.map { OdooValue.pythonFloat($0) } ?? "")
            if rhsFalse { return negative ? !lhsNull : lhsNull }
            let pattern = base.hasPrefix("=") ? patternText : "%" + patternText + "%"
            let text: String
            if let string = lhs.stringValue {
                text = string
            } else if let number = lhs.intValue {
                text = String(number)
            } else if let number = lhs.doubleValue {
                text = OdooValue.pythonFloat(number)
            } else {
                return negative
            }
            let found = LikePattern.matches(text, pattern, caseInsensitive: base.hasSuffix("ilike"))
            return negative ? !found : found
        default:
            return false
        }
    }

    // MARK: - Read

    /// `read`: one object per existing id (missing ids are skipped), `id` first then the fields in the order asked.
    func read(_ model: String, _ ids: [Int64], fields: [String]?, load: Bool = true) throws(OdooError) -> [OdooValue] {
        let spec = try spec(model)
        let names = try fieldsToRead(spec, fields)
        var result: [OdooValue] = []
        result.reserveCapacity(ids.count)
        for id in ids {
            guard let row = row(model, id) else { continue }
            var members: [(String, OdooValue)] = [("id", .int(id))]
            members.reserveCapacity(names.count + 1)
            for name in names where name != "id" {
                members.append((name, format(spec, id, row, name, load: load)))
            }
            result.append(.object(members))
        }
        return result
    }

    func fieldsToRead(_ spec: ModelSpec, _ fields: [String]?) throws(OdooError) -> [String] {
        guard let fields, !fields.isEmpty else { return spec.fieldOrder }
        for name in fields where spec.fields[name] == nil { throw invalidFieldError(spec.name, name) }
        return fields
    }

    func format(_ spec: ModelSpec, _ id: Int64, _ row: [String: JSONValue], _ name: String, load: Bool = true) -> OdooValue {
        let raw = value(spec, id, row, name)
        guard let field = spec.fields[name] else { return OdooValue(raw) }
        if case .many2one(let comodel) = field.kind {
            guard let target = raw.intValue else { return .bool(false) }
            return load ? .array([.int(target), .string(displayName(comodel, target))]) : .int(target)
        }
        return OdooValue(raw)
    }

    /// Computed fields with an inverse, which `fields_get` reports as writable.
    static let invertible: Set<String> = ["company_type", "lst_price"]

    func fieldsGet(_ model: String, allfields: [String]?, attributes: [String]?) throws(OdooError) -> OdooValue {
        let spec = try spec(model)
        let names = (allfields?.isEmpty ?? true) ? spec.fieldOrder : allfields!.filter { spec.fields[$0] != nil }
        var result: [(String, OdooValue)] = []
        for name in names {
            guard let field = spec.fields[name] else { continue }
            var description: [String: OdooValue] = [
                "type": .string(field.kind.typeName), "string": .string(field.label), "required": .bool(field.required),
                "readonly": .bool(((field.readonly || field.computed) && !Self.invertible.contains(name)) || name == "id"),
                "store": .bool(!field.computed),
                "searchable": .bool(true), "sortable": .bool(!field.computed && !field.kind.isX2many),
            ]
            if let relation = field.kind.relation { description["relation"] = .string(relation) }
            if case .one2many(_, let inverse) = field.kind { description["relation_field"] = .string(inverse) }
            if case .selection(let options) = field.kind {
                description["selection"] = .array(options.map { .array([.string($0.0), .string($0.1)]) })
            }
            let keys = description.keys.sorted().filter { attributes == nil || attributes!.isEmpty || attributes!.contains($0) }
            result.append((name, .object(keys.map { ($0, description[$0]!) })))
        }
        return .object(result)
    }

    func nameSearch(_ model: String, name: String, domain: JSONValue?, op: String, limit: Int?, _ ctx: CallContext) throws(OdooError)
        -> OdooValue
    {
        let spec = try spec(model)
        var terms: [JSONValue] = []
        if let domain, let list = domain.arrayValue { terms = list }
        if !name.isEmpty || !["ilike", "like", "=like", "=ilike"].contains(op) {
            let field = spec.fields[spec.recName] != nil ? spec.recName : "display_name"
            terms = (terms.isEmpty ? [] : ["&"]) + [.array([.string(field), .string(op), .string(name)])] + terms
        }
        let ids = try search(model, domain: .array(terms), limit: limit, ctx)
        return .array(ids.map { .array([.int($0), .string(displayName(model, $0))]) })
    }
}
