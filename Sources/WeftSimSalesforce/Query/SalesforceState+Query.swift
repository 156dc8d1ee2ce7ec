import WeftSimKit

/// A field path resolved against the schema: the reference fields walked, then the field.
struct BoundPath: Sendable {
    var relationships: [FieldDef]
    var field: FieldDef
}

/// A query resolved against the schema.
struct BoundQuery: Sendable {
    enum Item: Sendable {
        case field(BoundPath)
        case child(ChildRelationship, BoundQuery)
        case count
    }

    indirect enum Condition: Sendable {
        case and([Condition])
        case or([Condition])
        case not(Condition)
        case compare(BoundPath, String, SOQLValue)
        case inList(BoundPath, [SOQLValue], negated: Bool)
    }

    var object: ObjectSchema
    var items: [Item]
    var condition: Condition?
    var orderBy: [(path: BoundPath, descending: Bool, nullsLast: Bool)]
    var limit: Int?
    var offset: Int?

    var isCount: Bool { items.contains { if case .count = $0 { true } else { false } } }
}

extension SalesforceState {
    /// Runs a SOQL query: the first page (up to `batchSize` records) and, when more remain, a `nextRecordsUrl`.
    mutating func query(_ soql: String, allRows: Bool, version: String, batchSize: Int) throws(SalesforceError) -> JSON {
        var parser = SOQLParser(soql, now: now)
        let parsed = try parser.parse()
        // OFFSET pages no further than 2,000 rows ("Requesting an offset greater than 2,000 results in a
        // NUMBER_OUTSIDE_VALID_RANGE error"): a client paging with it past that must page with nextRecordsUrl.
        if let offset = parsed.offset, offset > Self.maximumOffset {
            throw SalesforceError(
                400, "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is \(Self.maximumOffset)")
        }
        let bound = try bind(parsed, source: soql, parent: nil)
        let rows = run(bound, parentID: nil, allRows: allRows)
        if bound.isCount {
            return ["totalSize": .int(rows.count), "done": true, "records": []]
        }
        cursors = cursors.filter { now - $0.value.lastUsed < 15 * 60_000 }
        var projected: [JSON] = []
        projected.reserveCapacity(rows.count)
        for row in rows { projected.append(project(row, bound, version: version, allRows: allRows)) }
        guard projected.count > batchSize else {
            return ["totalSize": .int(projected.count), "done": true, "records": .array(projected)]
        }
        let locator = nextID(prefix: "01g")
        cursors[locator] = QueryCursor(records: projected, batchSize: batchSize, lastUsed: now)
        return page(locator: locator, offset: 0, version: version)
    }

    /// The largest `OFFSET` SOQL takes.
    static let maximumOffset = 2_000

    /// The page of a cursor at `locator-offset` (the last path segment of `nextRecordsUrl`).
    mutating func queryMore(_ segment: String, version: String) throws(SalesforceError) -> JSON {
        let parts = segment.split(separator: "-", maxSplits: 1).map(String.init)
        guard parts.count == 2, let offset = Int(parts[1]), offset >= 0 else { throw .notFound }
        guard var cursor = cursors[parts[0]], now - cursor.lastUsed < 15 * 60_000, offset < cursor.records.count else {
            throw SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        }
        cursor.lastUsed = now
        cursors[parts[0]] = cursor
        return page(locator: parts[0], offset: offset, version: version)
    }

    private func page(locator: String, offset: Int, version: String) -> JSON {
        guard let cursor = cursors[locator] else { return .null }
        let end = min(cursor.records.count, offset + cursor.batchSize)
        var out = JSONObject([("totalSize", .int(cursor.records.count)), ("done", .bool(end >= cursor.records.count))])
        if end < cursor.records.count {
            out["nextRecordsUrl"] = .string("/services/data/v\(version)/query/\(locator)-\(end)")
        }
        out["records"] = .array(Array(cursor.records[offset..<end]))
        return .object(out)
    }

    // MARK: Binding

    private func bind(_ query: SOQLQuery, source: String, parent: ObjectSchema?) throws(SalesforceError) -> BoundQuery {
        let object: ObjectSchema
        var relationship: ChildRelationship?
        if let parent {
            guard let child = parent.child(query.object), let childObject = schema.object(child.childType) else {
                throw SOQLParser.error(
                    source, at: query.objectOffset, code: "INVALID_TYPE",
                    "Didn't understand relationship '\(query.object)' in FROM part of query call. If you are attempting to use a "
                        + "custom relationship, be sure to append the '__r' after the custom relationship name. Please reference "
                        + "your WSDL or the describe call for the appropriate names.")
            }
            relationship = child
            object = childObject
        } else {
            guard let found = schema.object(query.object) else {
                throw SOQLParser.error(
                    source, at: query.objectOffset, code: "INVALID_TYPE",
                    "sObject type '\(query.object)' is not supported. If you are attempting to use a custom object, be sure to "
                        + "append the '__c' after the entity name. Please reference your WSDL or the describe call for the "
                        + "appropriate names.")
            }
            object = found
        }
        _ = relationship
        var items: [BoundQuery.Item] = []
        for item in query.items {
            switch item {
            case .field(let path, let offset):
                items.append(.field(try bind(path, offset: offset, on: object, source: source)))
            case .subquery(let sub):
                guard parent == nil else {
                    throw SOQLParser.error(source, at: sub.objectOffset, code: "MALFORMED_QUERY", "unexpected token: SELECT")
                }
                let inner = try bind(sub, source: source, parent: object)
                guard let child = object.child(sub.object) else { continue }
                items.append(.child(child, inner))
            case .count:
                items.append(.count)
            }
        }
        let condition = try query.condition.map { condition throws(SalesforceError) in
            try bind(condition, on: object, source: source)
        }
        var orderBy: [(path: BoundPath, descending: Bool, nullsLast: Bool)] = []
        for order in query.orderBy {
            orderBy.append((try bind(order.path, offset: order.offset, on: object, source: source), order.descending, order.nullsLast))
        }
        return BoundQuery(object: object, items: items, condition: condition, orderBy: orderBy, limit: query.limit, offset: query.offset)
    }

    private func bind(_ path: String, offset: Int, on object: ObjectSchema, source: String) throws(SalesforceError) -> BoundPath {
        var parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count > 1, parts[0].lowercased() == object.name.lowercased(), object.relationship(parts[0]) == nil {
            parts.removeFirst()
        }
        var current = object
        var relationships: [FieldDef] = []
        for name in parts.dropLast() {
            guard let reference = current.relationship(name), let target = reference.referenceTo.flatMap({ schema.object($0) })
            else {
                throw SOQLParser.error(
                    source, at: offset, code: "INVALID_FIELD",
                    "Didn't understand relationship '\(name)' in field path. If you are attempting to use a custom relationship, "
                        + "be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the "
                        + "describe call for the appropriate names.")
            }
            relationships.append(reference)
            current = target
        }
        let last = parts.last ?? path
        guard let field = current.field(last) else {
            throw SOQLParser.error(
                source, at: offset, code: "INVALID_FIELD",
                "No such column '\(last)' on entity '\(current.name)'. If you are attempting to use a custom field, be sure to "
                    + "append the '__c' after the custom field name. Please reference your WSDL or the describe call for the "
                    + "appropriate names.")
        }
        return BoundPath(relationships: relationships, field: field)
    }

    private func bind(_ condition: SOQLCondition, on object: ObjectSchema, source: String) throws(SalesforceError)
        -> BoundQuery.Condition
    {
        switch condition {
        case .and(let terms):
            var bound: [BoundQuery.Condition] = []
            for term in terms { bound.append(try bind(term, on: object, source: source)) }
            return .and(bound)
        case .or(let terms):
            var bound: [BoundQuery.Condition] = []
            for term in terms { bound.append(try bind(term, on: object, source: source)) }
            return .or(bound)
        case .not(let inner):
            return .not(try bind(inner, on: object, source: source))
        case .compare(let path, let offset, let op, let value, let valueOffset):
            let bound = try bind(path, offset: offset, on: object, source: source)
            try check(value, for: bound.field, at: valueOffset, source: source)
            return .compare(bound, op, value)
        case .inList(let path, let offset, let values, let negated, let valueOffset):
            let bound = try bind(path, offset: offset, on: object, source: source)
            for value in values { try check(value, for: bound.field, at: valueOffset, source: source) }
            return .inList(bound, values, negated: negated)
        }
    }

    /// Refuses a literal of the wrong type, as Salesforce does.
    private func check(_ value: SOQLValue, for field: FieldDef, at offset: Int, source: String) throws(SalesforceError) {
        let expected: String
        var quoted = false
        switch (field.kind, value) {
        case (_, .null): return
        case (.datetime, .temporal(_, _, let isDate, let isFunction)) where !isDate || isFunction: return
        case (.date, .temporal(_, _, let isDate, _)) where isDate: return
        case (.datetime, .string): (expected, quoted) = ("dateTime", true)
        case (.datetime, _): expected = "dateTime"
        case (.date, .string): (expected, quoted) = ("date", true)
        case (.date, _): expected = "date"
        case (.boolean, .bool): return
        case (.boolean, .string): (expected, quoted) = ("boolean", true)
        case (.boolean, _): expected = "boolean"
        case (.int, .number), (.double, .number), (.currency, .number), (.percent, .number): return
        case (.int, .string), (.double, .string), (.currency, .string), (.percent, .string):
            (expected, quoted) = (field.kind == .int ? "integer" : "double", true)
        case (.int, _), (.double, _), (.currency, _), (.percent, _): expected = field.kind == .int ? "integer" : "double"
        case (_, .string): return
        default:
            throw SOQLParser.error(
                source, at: offset, code: "INVALID_FIELD",
                "value of filter criterion for field '\(field.name)' must be of type \(field.kind.isID ? "id" : "string") and "
                    + "should be enclosed in quotes")
        }
        throw SOQLParser.error(
            source, at: offset, code: "INVALID_FIELD",
            "value of filter criterion for field '\(field.name)' must be of type \(expected)"
                + (quoted ? " and should not be enclosed in quotes" : ""))
    }

    // MARK: Running

    private func run(_ query: BoundQuery, parentID: (field: String, id: String)?, allRows: Bool) -> [Record] {
        var rows: [Record]
        if let parentID {
            if query.object.name == "OpportunityLineItem", parentID.field == "OpportunityId" {
                rows = (linesByOpportunity[parentID.id] ?? []).compactMap { records[$0] }
                    .filter { allRows || !$0.isDeleted }
            } else {
                rows = all(query.object.name, includeDeleted: allRows).filter { $0[parentID.field].string == parentID.id }
            }
        } else {
            rows = readableAll(query.object.name, includeDeleted: allRows)
        }
        if let condition = query.condition { rows = rows.filter { evaluate(condition, $0) } }
        if !query.orderBy.isEmpty {
            let keyed = rows.enumerated().map { (index: $0.offset, record: $0.element) }
            rows = keyed.sorted { a, b in
                for order in query.orderBy {
                    let left = value(order.path, a.record)
                    let right = value(order.path, b.record)
                    if left == .null, right == .null { continue }
                    if left == .null { return !order.nullsLast }
                    if right == .null { return order.nullsLast }
                    let result = Self.compare(left, right, kind: order.path.field.kind)
                    if result != 0 { return order.descending ? result > 0 : result < 0 }
                }
                return a.index < b.index
            }.map(\.record)
        }
        if let offset = query.offset { rows = Array(rows.dropFirst(offset)) }
        if let limit = query.limit { rows = Array(rows.prefix(limit)) }
        return rows
    }

    private func value(_ path: BoundPath, _ record: Record) -> JSON {
        var current = record
        for reference in path.relationships {
            guard let id = current[reference.name].string, let parent = readable(id) else { return .null }
            current = parent
        }
        return current[path.field.name]
    }

    private func evaluate(_ condition: BoundQuery.Condition, _ record: Record) -> Bool {
        switch condition {
        case .and(let terms): return terms.allSatisfy { evaluate($0, record) }
        case .or(let terms): return terms.contains { evaluate($0, record) }
        case .not(let inner): return !evaluate(inner, record)
        case .compare(let path, let op, let literal):
            return Self.matches(value(path, record), op, literal, kind: path.field.kind)
        case .inList(let path, let values, let negated):
            let actual = value(path, record)
            let found = values.contains { Self.matches(actual, "=", $0, kind: path.field.kind) }
            if negated { return actual == .null ? !values.contains(.null) : !found }
            return found
        }
    }

    static func matches(_ actual: JSON, _ op: String, _ literal: SOQLValue, kind: FieldKind) -> Bool {
        if literal == .null {
            switch op {
            case "=": return actual == .null
            case "!=": return actual != .null
            default: return false
            }
        }
        if actual == .null { return op == "!=" }
        func ordered(_ result: Int) -> Bool {
            switch op {
            case "=": result == 0
            case "!=": result != 0
            case "<": result < 0
            case "<=": result <= 0
            case ">": result > 0
            case ">=": result >= 0
            default: false
            }
        }
        switch literal {
        case .null: return false
        case .bool(let flag): return ordered(actual.bool == flag ? 0 : 1)
        case .number(let number):
            guard let value = actual.number else { return false }
            return ordered(value < number ? -1 : value > number ? 1 : 0)
        case .temporal(let start, let end, _, _):
            guard let text = actual.string,
                let ms = kind == .date ? SalesforceTime.parseDate(text) : SalesforceTime.parseDateTime(text)
            else { return false }
            switch op {
            case "=": return ms >= start && ms < end
            case "!=": return ms < start || ms >= end
            case "<": return ms < start
            case "<=": return ms < end
            case ">": return ms >= end
            case ">=": return ms >= start
            default: return false
            }
        case .string(let text):
            guard let value = actual.string ?? actual.number.map(SOQLValue.format) else { return false }
            if op == "LIKE" { return like(value, text) }
            if kind.isID {
                let wanted = SalesforceID.normalise(text) ?? text
                return ordered(value == wanted ? 0 : value < wanted ? -1 : 1)
            }
            let left = value.lowercased()
            let right = text.lowercased()
            return ordered(left == right ? 0 : left < right ? -1 : 1)
        }
    }

    /// SOQL `LIKE`: `%` any run, `_` one character, `\%` and `\_` literal; case-insensitive.
    static func like(_ value: String, _ pattern: String) -> Bool {
        enum Piece: Equatable {
            case character(Character)
            case one
            case any
        }
        var pieces: [Piece] = []
        var chars = Array(pattern.lowercased())[...]
        while let c = chars.popFirst() {
            if c == "\\", let next = chars.popFirst() {
                pieces.append(.character(next))
            } else if c == "%" {
                pieces.append(.any)
            } else if c == "_" {
                pieces.append(.one)
            } else {
                pieces.append(.character(c))
            }
        }
        let text = Array(value.lowercased())
        // Dynamic programming over (piece, character).
        var reachable = [Bool](repeating: false, count: text.count + 1)
        reachable[0] = true
        for piece in pieces {
            var next = [Bool](repeating: false, count: text.count + 1)
            for index in 0...text.count where reachable[index] {
                switch piece {
                case .any:
                    for later in index...text.count { next[later] = true }
                case .one:
                    if index < text.count { next[index + 1] = true }
                case .character(let c):
                    if index < text.count, text[index] == c { next[index + 1] = true }
                }
            }
            reachable = next
        }
        return reachable[text.count]
    }

    /// Orders two non-null values of a field.
    static func compare(_ a: JSON, _ b: JSON, kind: FieldKind) -> Int {
        if let x = a.number, let y = b.number { return x < y ? -1 : x > y ? 1 : 0 }
        if let x = a.bool, let y = b.bool { return x == y ? 0 : (x ? 1 : -1) }
        guard let x = a.string, let y = b.string else { return 0 }
        if kind == .datetime, let p = SalesforceTime.parseDateTime(x), let q = SalesforceTime.parseDateTime(y) {
            return p < q ? -1 : p > q ? 1 : 0
        }
        if kind.isID { return x < y ? -1 : x > y ? 1 : 0 }
        let (l, r) = (x.lowercased(), y.lowercased())
        if l != r { return l < r ? -1 : 1 }
        return x < y ? -1 : x > y ? 1 : 0
    }

    // MARK: Projection

    /// A record as a query answers it. A parent-to-child subquery's records come inline up to
    /// `childRecordsPerPage`; beyond that the child result is a first page (`done: false`, `nextRecordsUrl`), and the
    /// rest is read from that locator as a top-level query's is.
    private mutating func project(_ record: Record, _ query: BoundQuery, version: String, allRows: Bool) -> JSON {
        var out = JSONObject([("attributes", attributes(record.type, record.id, version: version))])
        for item in query.items {
            switch item {
            case .field(let path):
                put(path.relationships[...], path.field, from: record, into: &out, version: version)
            case .child(let relationship, let inner):
                let children = run(inner, parentID: (relationship.field, record.id), allRows: allRows)
                var projected: [JSON] = []
                for child in children { projected.append(project(child, inner, version: version, allRows: allRows)) }
                if projected.isEmpty {
                    out[relationship.name] = .null
                } else if projected.count <= settings.childRecordsPerPage {
                    out[relationship.name] = ["totalSize": .int(projected.count), "done": true, "records": .array(projected)]
                } else {
                    let locator = nextID(prefix: "01g")
                    cursors[locator] = QueryCursor(records: projected, batchSize: settings.childRecordsPerPage, lastUsed: now)
                    out[relationship.name] = page(locator: locator, offset: 0, version: version)
                }
            case .count:
                break
            }
        }
        return .object(out)
    }

    private func put(
        _ relationships: ArraySlice<FieldDef>, _ field: FieldDef, from record: Record, into out: inout JSONObject, version: String
    ) {
        guard let reference = relationships.first, let name = reference.relationshipName else {
            out[field.name] = record[field.name]
            return
        }
        guard let id = record[reference.name].string, let parent = readable(id) else {
            if out[name] == nil { out[name] = .null }
            return
        }
        var nested = out[name]?.object ?? JSONObject([("attributes", attributes(parent.type, parent.id, version: version))])
        put(relationships.dropFirst(), field, from: parent, into: &nested, version: version)
        out[name] = .object(nested)
    }
}

// MARK: Users

extension SalesforceState {
    /// The record `id` as queries read it: a stored record (a User with its derived `Name`), or one of the users the
    /// simulator is configured with (kept as a username → id map, without a stored record): an active user whose
    /// email is its username.
    func readable(_ id: String) -> Record? {
        if let record = records[id] { return record.type == "User" ? Self.namedUser(record) : record }
        guard id.hasPrefix("005"), let username = users.first(where: { $0.value == id })?.key else { return nil }
        return configuredUser(username, id: id)
    }

    /// The records of `type` as queries read them: for `User`, the configured users, then the stored ones.
    func readableAll(_ type: String, includeDeleted: Bool) -> [Record] {
        guard type == "User" else { return all(type, includeDeleted: includeDeleted) }
        let stored = all(type, includeDeleted: true).map(Self.namedUser)
        let storedIDs = Set(stored.map(\.id))
        let configured = users.filter { !storedIDs.contains($0.value) }.sorted { $0.value < $1.value }
            .map { configuredUser($0.key, id: $0.value) }
        return configured + stored
    }

    /// A User with `Name` = First + Last Name, as Salesforce derives it.
    private static func namedUser(_ record: Record) -> Record {
        var record = record
        let name = [record["FirstName"].string, record["LastName"].string].compactMap { $0 }.joined(separator: " ")
        record.fields["Name"] = name.isEmpty ? .null : .string(name)
        return record
    }

    private func configuredUser(_ username: String, id: String) -> Record {
        let local = String(username.split(separator: "@").first ?? Substring(username))
        var fields: [String: JSON] = [:]
        for field in schema.object("User")?.fields ?? [] { fields[field.name] = field.kind == .boolean ? .bool(false) : .null }
        fields["Id"] = .string(id)
        fields["Username"] = .string(username)
        fields["LastName"] = .string(local)
        fields["Name"] = .string(local)
        fields["Alias"] = .string(String(local.prefix(8)))
        fields["Email"] = .string(username)
        fields["IsActive"] = true
        fields["TimeZoneSidKey"] = "GMT"
        fields["LocaleSidKey"] = "en_US"
        fields["EmailEncodingKey"] = "UTF-8"
        fields["LanguageLocaleKey"] = "en_US"
        return Record(type: "User", id: id, fields: fields)
    }
}
