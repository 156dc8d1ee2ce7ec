import WeftSimKit

extension HubSpotState {
    /// The most results one search page returns.
    static let searchPageLimit = 200
    /// Searches cannot page past this many results.
    static let searchResultCeiling = 10_000

    /// `POST /{type}/search`: filter groups are ORed, filters inside a group ANDed; archived records never match.
    func search(_ type: ObjectType, _ body: JSON) throws(HubSpotError) -> APIAnswer {
        let limit = body["limit"].int ?? 10
        guard (1...Self.searchPageLimit).contains(limit) else {
            throw .validation("limit must be between 1 and \(Self.searchPageLimit), was \(limit)")
        }
        let after = body["after"].isNull ? 0 : (body["after"].int ?? -1)
        guard after >= 0 else { throw .validation("after must be a non-negative integer offset") }
        guard after < Self.searchResultCeiling else {
            throw .validation(
                "The search API cannot return more than \(Self.searchResultCeiling) results for a query; narrow the filters")
        }
        let groups = try parseFilterGroups(body["filterGroups"], type: type)
        let sort = try parseSort(body["sorts"], type: type)
        let text = body["query"].string?.lowercased()
        let properties = requested(body["properties"], on: type)
        var matches = records[type, default: [:]].values.filter { record in
            guard !record.archived else { return false }
            if let text, !text.isEmpty,
                !type.defaultProperties.contains(where: { record.properties[$0]?.lowercased().contains(text) == true })
            {
                return false
            }
            return groups.isEmpty
                || groups.contains { group in
                    group.allSatisfy { $0.matches(record, number: Self.systemNumber(record, $0.property, type: type)) }
                }
        }
        if let sort {
            // Sort keys are worked out once per record: dates would otherwise be parsed on every comparison.
            let keyed = matches.map { record in
                let number = Self.systemNumber(record, sort.property, type: type)
                return (key: SortKey(number.map(SortKey.Value.number) ?? Self.sortValue(record.properties[sort.property])), record: record)
            }
            matches = keyed.sorted { lhs, rhs in
                let order = lhs.key.compare(rhs.key)
                if order != 0 { return sort.descending ? order > 0 : order < 0 }
                return lhs.record.id < rhs.record.id
            }.map(\.record)
        } else {
            matches.sort { $0.id < $1.id }
        }
        let end = min(matches.count, after + limit, Self.searchResultCeiling)
        let page = after < end ? Array(matches[after..<end]) : []
        var object = JSONObject([
            ("total", .int(matches.count)),
            ("results", .array(page.map { render($0, type: type, properties: properties) })),
        ])
        // HubSpot hands out the cursor up to 10 000; asking for a page from there is the 400 above.
        if end < matches.count {
            object["paging"] = ["next": ["after": .string(String(end))]]
        }
        return .ok(.object(object))
    }

    private func parseFilterGroups(_ value: JSON, type: ObjectType) throws(HubSpotError) -> [[SearchFilter]] {
        guard let groups = value.array else { return [] }
        guard groups.count <= 5 else { throw .validation("Too many filter groups: \(groups.count), the maximum is 5") }
        var total = 0
        var parsed: [[SearchFilter]] = []
        for group in groups {
            let filters = group["filters"].array ?? []
            guard filters.count <= 10 else {
                throw .validation("Too many filters in a filter group: \(filters.count), the maximum is 10")
            }
            total += filters.count
            var parsedGroup: [SearchFilter] = []
            for filter in filters {
                guard let name = filter["propertyName"].string else { throw .validation("A filter needs a propertyName") }
                guard knows(name, on: type) else { throw .invalidProperties([.doesNotExist(name)]) }
                guard let raw = filter["operator"].string, let op = SearchFilter.Operator(rawValue: raw) else {
                    throw .validation("Unknown filter operator: \(filter["operator"].string ?? "null")")
                }
                let values = (filter["values"].array ?? []).compactMap(Self.text)
                let single = Self.text(filter["value"])
                if op.needsValue, single == nil { throw .validation("Filter \(name) \(raw) needs a value") }
                if op.needsValues, values.isEmpty { throw .validation("Filter \(name) \(raw) needs values") }
                if op == .between, Self.text(filter["highValue"]) == nil {
                    throw .validation("Filter \(name) BETWEEN needs a highValue")
                }
                parsedGroup.append(
                    SearchFilter(
                        property: name, op: op, value: single, highValue: Self.text(filter["highValue"]), values: values))
            }
            parsed.append(parsedGroup)
        }
        guard total <= 25 else { throw .validation("Too many filters: \(total), the maximum is 25 across all groups") }
        return parsed
    }

    private func parseSort(_ value: JSON, type: ObjectType) throws(HubSpotError) -> (property: String, descending: Bool)? {
        guard let first = value.array?.first else { return nil }
        let property: String
        let descending: Bool
        if let text = first.string {
            descending = text.hasPrefix("-")
            property = descending ? String(text.dropFirst()) : text
        } else {
            property = first["propertyName"].string ?? ""
            descending = first["direction"].string == "DESCENDING"
        }
        guard knows(property, on: type) else { throw .invalidProperties([.doesNotExist(property)]) }
        return (property, descending)
    }

    /// A filter value as text (HubSpot takes strings, numbers and booleans).
    static func text(_ value: JSON) -> String? {
        switch value {
        case .string(let text): text
        case .int(let number): String(number)
        case .double(let number): String(number)
        case .bool(let flag): flag ? "true" : "false"
        default: nil
        }
    }

    /// Orders two property values: numbers numerically, dates (ISO or unix ms) by time, text case-insensitively;
    /// a missing value sorts first.
    static func compare(_ lhs: String?, _ rhs: String?) -> Int {
        guard let lhs else { return rhs == nil ? 0 : -1 }
        guard let rhs else { return 1 }
        if let left = numeric(lhs), let right = numeric(rhs) { return left < right ? -1 : (left > right ? 1 : 0) }
        let left = lhs.lowercased()
        let right = rhs.lowercased()
        return left < right ? -1 : (left > right ? 1 : 0)
    }

    /// The system-maintained times and id as numbers, read from the record instead of parsing its property text.
    static func systemNumber(_ record: CRMRecord, _ property: String, type: ObjectType) -> Double? {
        switch property {
        case type.modifiedProperty: Double(record.updatedAt)
        case "createdate": Double(record.createdAt)
        case "hs_object_id": Double(record.id)
        default: nil
        }
    }

    /// A value prepared for sorting: a number (dates as unix ms), text, or missing.
    static func sortValue(_ text: String?) -> SortKey.Value {
        guard let text else { return .missing }
        if let number = numeric(text) { return .number(number) }
        return .text(text.lowercased())
    }

    /// A number, or a date as unix ms.
    static func numeric(_ text: String) -> Double? {
        if let number = Double(text) { return number }
        return Timestamps.parse(text).map(Double.init)
    }
}

/// One parsed search filter.
struct SearchFilter: Sendable {
    enum Operator: String, Sendable {
        case eq = "EQ", neq = "NEQ", lt = "LT", lte = "LTE", gt = "GT", gte = "GTE", between = "BETWEEN", `in` = "IN"
        case notIn = "NOT_IN", hasProperty = "HAS_PROPERTY", notHasProperty = "NOT_HAS_PROPERTY"
        case containsToken = "CONTAINS_TOKEN", notContainsToken = "NOT_CONTAINS_TOKEN"

        var needsValue: Bool {
            switch self {
            case .eq, .neq, .lt, .lte, .gt, .gte, .between, .containsToken, .notContainsToken: true
            default: false
            }
        }

        var needsValues: Bool { self == .in || self == .notIn }
    }

    var property: String
    var op: Operator
    var value: String?
    var highValue: String?
    var values: [String]

    /// Whether `record` passes; `number` is the property's value as a number when the record knows it without parsing.
    func matches(_ record: CRMRecord, number: Double?) -> Bool {
        let actual = record.properties[property]
        let actualNumber = number ?? actual.flatMap(HubSpotState.numeric)
        func order(_ target: String?) -> Int {
            guard let target else { return actual == nil ? 0 : 1 }
            if let actualNumber, let targetNumber = HubSpotState.numeric(target) {
                return actualNumber < targetNumber ? -1 : (actualNumber > targetNumber ? 1 : 0)
            }
            return HubSpotState.compare(actual, target)
        }
        switch op {
        case .hasProperty: return actual != nil
        case .notHasProperty: return actual == nil
        case .neq: return actual == nil || order(value) != 0
        case .notIn: return actual == nil || !values.contains { order($0) == 0 }
        case .notContainsToken: return !(actual.map { tokenMatch($0) } ?? false)
        default: break
        }
        guard let actual else { return false }
        switch op {
        case .eq: return order(value) == 0
        case .lt: return order(value) < 0
        case .lte: return order(value) <= 0
        case .gt: return order(value) > 0
        case .gte: return order(value) >= 0
        case .between: return order(value) >= 0 && order(highValue) <= 0
        case .in: return values.contains { order($0) == 0 }
        case .containsToken: return tokenMatch(actual)
        default: return false
        }
    }

    /// `CONTAINS_TOKEN`: a whole word of the value, with `*` as a wildcard.
    private func tokenMatch(_ actual: String) -> Bool {
        guard let value = value?.lowercased() else { return false }
        let tokens = actual.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "@" && $0 != "." })
        if value.hasPrefix("*"), value.hasSuffix("*"), value.count > 1 {
            return actual.lowercased().contains(value.dropFirst().dropLast())
        }
        if value.hasPrefix("*") { return tokens.contains { $0.hasSuffix(value.dropFirst()) } }
        if value.hasSuffix("*") { return tokens.contains { $0.hasPrefix(value.dropLast()) } }
        return tokens.contains { $0 == value } || actual.lowercased() == value
    }
}

/// A precomputed sort key (see `HubSpotState.compare`: missing first, numbers numerically, text case-insensitively).
struct SortKey: Sendable {
    enum Value: Sendable {
        case missing
        case number(Double)
        case text(String)
    }

    var value: Value
    init(_ value: Value) { self.value = value }

    func compare(_ other: SortKey) -> Int {
        switch (value, other.value) {
        case (.missing, .missing): return 0
        case (.missing, _): return -1
        case (_, .missing): return 1
        case (.number(let a), .number(let b)): return a < b ? -1 : (a > b ? 1 : 0)
        case (.text(let a), .text(let b)): return a < b ? -1 : (a > b ? 1 : 0)
        case (.number(let a), .text(let b)): return String(a) < b ? -1 : 1
        case (.text(let a), .number(let b)): return a < String(b) ? -1 : 1
        }
    }
}
