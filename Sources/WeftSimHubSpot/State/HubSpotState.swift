import WeftSimKit

/// The portal's data: records per object type, associations, the id counter and the events raised by the call being
/// served. A value type kept under the simulator's lock; every operation is synchronous.
struct HubSpotState: Sendable {
    /// The current time, unix ms (set before each call).
    var now: Int
    /// Where a call's changes are attributed (`INTEGRATION` for API calls, `CRM_UI` for seeded user edits).
    var changeSource = "INTEGRATION"
    var sourceID: String?
    var records: [ObjectType: [Int: CRMRecord]] = [:]
    /// Association type ids from one record to another (both directions are stored).
    var associations: [ObjectRef: [ObjectRef: Set<Int>]] = [:]
    /// Events raised by the call being served.
    var events: [PendingEvent] = []
    var customProperties: [ObjectType: Set<String>]
    var uniqueProperties: [ObjectType: Set<String>]
    /// The portal's owners.
    var owners: [HubSpotSimulator.Configuration.Owner]
    /// Dropdown properties and their options.
    var enumerations: [ObjectType: [String: [HubSpotSimulator.Configuration.PropertyOption]]]
    /// Ids of records merged away, and the record each now leads to (HubSpot resolves them on reads by id).
    var mergedInto: [ObjectType: [Int: Int]] = [:]
    private var nextID: Int
    var tenSecondWindow = RollingWindow()
    var searchWindow = RollingWindow()
    var daily = DailyCounter()

    init(
        idSeed: UInt64, now: Int, customProperties: [ObjectType: Set<String>], uniqueProperties: [ObjectType: Set<String>],
        owners: [HubSpotSimulator.Configuration.Owner] = [],
        enumerations: [ObjectType: [String: [HubSpotSimulator.Configuration.PropertyOption]]] = [:]
    ) {
        self.owners = owners
        self.enumerations = enumerations
        self.now = now
        // HubSpot ids are large integers; start somewhere that depends on the seed so tests never hard-code them.
        self.nextID = 10_000_000 + Int(idSeed % 1_000_000) * 100
        self.customProperties = customProperties
        self.uniqueProperties = uniqueProperties
    }

    mutating func makeID() -> Int {
        nextID += 1
        return nextID
    }

    // MARK: Properties

    func knows(_ property: String, on type: ObjectType) -> Bool {
        type.standardProperties.contains(property) || customProperties[type, default: []].contains(property)
    }

    func isUnique(_ property: String, on type: ObjectType) -> Bool {
        type.standardUniqueProperties.contains(property) || uniqueProperties[type, default: []].contains(property)
    }

    /// Checks written property values: every name must exist and be writable; values must be strings, numbers,
    /// booleans or null (HubSpot stores every value as a string).
    func validateWrite(_ properties: JSON, on type: ObjectType) throws(HubSpotError) -> [String: String?] {
        guard let object = properties.object else {
            if properties.isNull { return [:] }
            throw .validation("Invalid input JSON on line 1: properties must be an object")
        }
        var problems: [PropertyProblem] = []
        var values: [String: String?] = [:]
        for (name, value) in object {
            if !knows(name, on: type) {
                problems.append(.doesNotExist(name))
                continue
            }
            if type.readOnlyProperties.contains(name) {
                problems.append(.readOnly(name))
                continue
            }
            if name == "hubspot_owner_id", let owner = Self.key(value), !owner.isEmpty,
                !owners.contains(where: { String($0.id) == owner && !$0.archived })
            {
                problems.append(
                    PropertyProblem(
                        name: name, code: "INVALID_OPTION",
                        message: "\(owner) was not one of the allowed options: the id of an active owner"))
                continue
            }
            if type == .contacts, name == "email", case .string(let text) = value, !text.isEmpty, !Self.isEmail(text) {
                problems.append(
                    PropertyProblem(name: name, code: "INVALID_EMAIL", message: "Email address \(text) is invalid"))
                continue
            }
            if let options = enumerations[type]?[name], let text = Self.key(value), !text.isEmpty,
                !options.contains(where: { $0.value == text })
            {
                // HubSpot lists every option in its message; the internal values are what a caller can fix with.
                problems.append(
                    PropertyProblem(
                        name: name, code: "INVALID_OPTION",
                        message: "\(text) was not one of the allowed options: [\(options.map(\.value).joined(separator: ", "))]"))
                continue
            }
            switch value {
            case .string(let text): values[name] = text.isEmpty ? .some(nil) : text
            case .int(let number): values[name] = String(number)
            case .double(let number): values[name] = String(number)
            case .bool(let flag): values[name] = flag ? "true" : "false"
            case .null: values[name] = .some(nil)
            default:
                problems.append(
                    PropertyProblem(name: name, code: "INVALID_OPTION", message: "\(value) is not a valid value for \(name)"))
            }
        }
        if !problems.isEmpty { throw .invalidProperties(problems) }
        return values
    }

    /// Whether HubSpot takes `text` as a contact's email: one `@` between a local part and a domain of dot-separated
    /// labels ending in a top-level domain of two letters or more, no spaces. Deliberately lenient beyond that, so
    /// that the simulator never refuses an address HubSpot would store.
    static func isEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !text.contains(where: \.isWhitespace) else { return false }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy({ !$0.isEmpty }), let top = labels.last else { return false }
        return top.count >= 2 && top.allSatisfy(\.isLetter)
    }

    /// The names asked for in `properties` (a list or a comma-separated string); unknown names are ignored on reads,
    /// as HubSpot does.
    func requested(_ value: JSON?, on type: ObjectType) -> [String]? {
        let names: [String]
        switch value {
        case .string(let text)?: names = text.split(separator: ",").map { String($0).trimmed }
        case .array(let items)?: names = items.compactMap(\.string)
        default: return nil
        }
        return names.isEmpty ? nil : names
    }

    // MARK: Rendering

    /// A record as HubSpot answers it. Reads always carry `hs_object_id`, `createdate` and the modification date;
    /// requested properties without a value are `null`.
    func render(_ record: CRMRecord, type: ObjectType, properties: [String]?, extra: [(String, JSON)] = []) -> JSON {
        var names = properties ?? type.defaultProperties
        for always in ["createdate", "hs_object_id", type.modifiedProperty] where !names.contains(always) {
            names.append(always)
        }
        var values = JSONObject()
        for name in names.sorted() where knows(name, on: type) {
            values[name] = JSON.from(record.properties[name])
        }
        var object = JSONObject([
            ("id", .string(String(record.id))), ("properties", .object(values)),
            ("createdAt", .string(Timestamps.iso8601(ms: record.createdAt))),
            ("updatedAt", .string(Timestamps.iso8601(ms: record.updatedAt))), ("archived", .bool(record.archived)),
        ])
        if let archivedAt = record.archivedAt { object["archivedAt"] = .string(Timestamps.iso8601(ms: archivedAt)) }
        for (key, value) in extra { object[key] = value }
        return .object(object)
    }

    /// `{"status":"COMPLETE","results":[…],"startedAt","completedAt"}`, with `errors` and `numErrors` when some
    /// inputs failed (then the status code is 207).
    func batchAnswer(results: [JSON], errors: [JSON], successStatus: Int = 200) -> APIAnswer {
        let stamp = JSON.string(Timestamps.iso8601(ms: now))
        var object = JSONObject([("status", "COMPLETE"), ("results", .array(results))])
        if !errors.isEmpty {
            object["numErrors"] = .int(errors.count)
            object["errors"] = .array(errors)
        }
        object["startedAt"] = stamp
        object["completedAt"] = stamp
        return APIAnswer(status: errors.isEmpty ? successStatus : 207, body: .object(object))
    }

    // MARK: Routing

    /// Serves a call below the objects prefix (`{type}`, `{type}/{id}`, `{type}/batch/{op}`, `{type}/search`,
    /// `{type}/merge`).
    mutating func routeObjects(_ request: APIRequest) throws(HubSpotError) -> APIAnswer {
        guard let first = request.segments.first, let type = ObjectType(path: first) else {
            throw HubSpotError(
                status: 400, category: "VALIDATION_ERROR",
                message: "Unable to infer object type from: \(request.segments.first ?? "")")
        }
        let rest = Array(request.segments.dropFirst())
        switch (request.method, rest.count) {
        case ("GET", 0): return list(type, request)
        case ("POST", 0): return try create(type, request.body)
        case ("GET", 1): return try read(type, rest[0], request)
        case ("PATCH", 1): return try update(type, rest[0], request)
        case ("DELETE", 1): return try archive(type, rest[0])
        case ("POST", 1) where rest[0] == "search": return try search(type, request.body)
        case ("POST", 1) where rest[0] == "merge": return try merge(type, request.body)
        case ("POST", 2) where rest[0] == "batch": return try batch(type, operation: rest[1], request)
        default: throw HubSpotError(status: 404, category: "OBJECT_NOT_FOUND", message: "Not found")
        }
    }

    /// Looks a record up by id or by a unique property (`idProperty`).
    func find(_ type: ObjectType, _ key: String, idProperty: String?, archived: Bool = false) -> CRMRecord? {
        let table = records[type, default: [:]]
        if let idProperty, idProperty != "hs_object_id" {
            let wanted = idProperty == "email" ? key.lowercased() : key
            return table.values.first { record in
                record.archived == archived
                    && (idProperty == "email" ? record.properties[idProperty]?.lowercased() : record.properties[idProperty])
                        == wanted
            }
        }
        guard var id = Int(key) else { return nil }
        // A record merged away leads to the record the merge made (HubSpot: "both of the previous IDs will point to
        // the resulting merged record").
        if !archived {
            var hops = 0
            while table[id]?.archived != false, let next = mergedInto[type]?[id], hops < 100 {
                id = next
                hops += 1
            }
        }
        guard let record = table[id], record.archived == archived else { return nil }
        return record
    }
}

extension String {
    var trimmed: String {
        var text = Substring(self)
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return String(text)
    }
}
