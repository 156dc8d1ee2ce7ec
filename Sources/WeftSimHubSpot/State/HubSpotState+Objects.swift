import WeftSimKit

extension HubSpotState {
    /// The most inputs a batch call takes.
    static let batchLimit = 100

    // MARK: Writes every path shares

    /// Creates a record from validated values; raises `{type}.creation`.
    mutating func insert(_ type: ObjectType, values: [String: String?]) throws(HubSpotError) -> CRMRecord {
        try checkUnique(type, values: values, excluding: nil)
        let id = makeID()
        var record = CRMRecord(id: id, properties: [:], createdAt: now, updatedAt: now)
        for (name, value) in values {
            if let value { record.properties[name] = value }
        }
        if let email = record.properties["email"], type == .contacts { record.properties["email"] = email.lowercased() }
        record.properties["hs_object_id"] = String(id)
        record.properties["createdate"] = Timestamps.iso8601(ms: now)
        record.properties[type.modifiedProperty] = Timestamps.iso8601(ms: now)
        records[type, default: [:]][id] = record
        events.append(PendingEvent(subscriptionType: "\(type.singular).creation", objectID: id))
        return record
    }

    /// Applies validated values; raises one `{type}.propertyChange` per value that changed and, when anything did,
    /// moves `updatedAt` and the modification date.
    mutating func apply(_ type: ObjectType, id: Int, values: [String: String?]) throws(HubSpotError) -> CRMRecord {
        try checkUnique(type, values: values, excluding: id)
        guard var record = records[type]?[id] else { throw .notFound() }
        var changed = false
        for name in values.keys.sorted() {
            var value = values[name] ?? nil
            if name == "email", type == .contacts { value = value?.lowercased() }
            guard record.properties[name] != value else { continue }
            record.properties[name] = value
            changed = true
            events.append(
                PendingEvent(
                    subscriptionType: "\(type.singular).propertyChange", objectID: id, propertyName: name,
                    propertyValue: value ?? ""))
        }
        if changed {
            record.updatedAt = now
            record.properties[type.modifiedProperty] = Timestamps.iso8601(ms: now)
            records[type, default: [:]][id] = record
        }
        return record
    }

    /// Archives a record and drops its associations; raises `{type}.deletion`.
    mutating func remove(_ type: ObjectType, id: Int) {
        guard var record = records[type]?[id], !record.archived else { return }
        record.archived = true
        record.archivedAt = now
        record.updatedAt = now
        records[type, default: [:]][id] = record
        let me = ObjectRef(type: type, id: id)
        for other in (associations[me] ?? [:]).keys { associations[other]?[me] = nil }
        associations[me] = nil
        events.append(PendingEvent(subscriptionType: "\(type.singular).deletion", objectID: id))
    }

    /// Contacts' `email` and configured unique properties must not repeat among live records.
    private func checkUnique(_ type: ObjectType, values: [String: String?], excluding id: Int?) throws(HubSpotError) {
        for (name, value) in values where isUnique(name, on: type) {
            guard let value else { continue }
            if let existing = find(type, value, idProperty: name), existing.id != id {
                if type == .contacts, name == "email" {
                    throw .conflict("Contact already exists. Existing ID: \(existing.id)")
                }
                throw .conflict("A \(type.singular) with \(name) \"\(value)\" already exists. Existing ID: \(existing.id)")
            }
        }
    }

    // MARK: Basic API

    func list(_ type: ObjectType, _ request: APIRequest) -> APIAnswer {
        let limit = min(max(Int(request.query["limit"] ?? "") ?? 10, 1), 100)
        let after = Int(request.query["after"] ?? "") ?? 0
        let archived = request.query["archived"] == "true"
        let properties = requested(request.query["properties"].map(JSON.string), on: type)
        let page = records[type, default: [:]].values.filter { $0.archived == archived && $0.id >= after }
            .sorted { $0.id < $1.id }
        var object = JSONObject([
            ("results", .array(page.prefix(limit).map { render($0, type: type, properties: properties) }))
        ])
        if page.count > limit {
            let next = String(page[limit].id)
            var link = request.baseURL + request.path + "?after=" + next
            if let names = request.query["properties"] { link += "&properties=" + names }
            object["paging"] = ["next": ["after": .string(next), "link": .string(link)]]
        }
        return .ok(.object(object))
    }

    mutating func create(_ type: ObjectType, _ body: JSON) throws(HubSpotError) -> APIAnswer {
        let values = try validateWrite(body["properties"], on: type)
        let links = try parseInlineAssociations(body["associations"], from: type)
        let record = try insert(type, values: values)
        for (target, typeID) in links { associate(ObjectRef(type: type, id: record.id), target, typeIDs: [typeID]) }
        return APIAnswer(status: 201, body: render(record, type: type, properties: Array(values.keys)))
    }

    func read(_ type: ObjectType, _ key: String, _ request: APIRequest) throws(HubSpotError) -> APIAnswer {
        let archived = request.query["archived"] == "true"
        guard let record = find(type, key, idProperty: request.query["idProperty"], archived: archived) else {
            throw .notFound()
        }
        return .ok(render(record, type: type, properties: requested(request.query["properties"].map(JSON.string), on: type)))
    }

    mutating func update(_ type: ObjectType, _ key: String, _ request: APIRequest) throws(HubSpotError) -> APIAnswer {
        guard let existing = find(type, key, idProperty: request.query["idProperty"]) else { throw .notFound() }
        let values = try validateWrite(request.body["properties"], on: type)
        let record = try apply(type, id: existing.id, values: values)
        return .ok(render(record, type: type, properties: Array(values.keys)))
    }

    mutating func archive(_ type: ObjectType, _ key: String) throws(HubSpotError) -> APIAnswer {
        // HubSpot answers 204 for an id that does not exist too.
        if let record = find(type, key, idProperty: nil) { remove(type, id: record.id) }
        return .noContent
    }

    // MARK: Batch API

    mutating func batch(_ type: ObjectType, operation: String, _ request: APIRequest) throws(HubSpotError) -> APIAnswer {
        guard let inputs = request.body["inputs"].array else {
            throw .validation("Invalid input JSON on line 1: inputs is required")
        }
        guard inputs.count <= Self.batchLimit else {
            throw .validation("Batch input limit exceeded: \(inputs.count) inputs given, the maximum is \(Self.batchLimit)")
        }
        switch operation {
        case "read": return try batchRead(type, inputs, request)
        case "create": return try batchCreate(type, inputs)
        case "update": return try batchUpdate(type, inputs, idProperty: request.body["idProperty"].string)
        case "upsert": return try batchUpsert(type, inputs)
        case "archive":
            for input in inputs {
                if let key = Self.key(input["id"]), let record = find(type, key, idProperty: nil) {
                    remove(type, id: record.id)
                }
            }
            return .noContent
        default: throw HubSpotError(status: 404, category: "OBJECT_NOT_FOUND", message: "Not found")
        }
    }

    /// An input's `id` as text (HubSpot accepts strings and numbers).
    static func key(_ value: JSON) -> String? {
        switch value {
        case .string(let text): text
        case .int(let number): String(number)
        default: nil
        }
    }

    private func notFoundError(_ type: ObjectType, ids: [String], verb: String) -> JSON {
        [
            "status": "error", "category": "OBJECT_NOT_FOUND",
            "message": .string(
                "Could not \(verb) some \(type.upper) objects, they may be deleted or not exist. Check that ids are valid."),
            "context": ["ids": .strings(ids)],
        ]
    }

    private func checkDistinct(_ keys: [String]) throws(HubSpotError) {
        var seen: Set<String> = []
        var duplicates: [String] = []
        for key in keys where !seen.insert(key).inserted { duplicates.append(key) }
        if !duplicates.isEmpty {
            throw .validation("Duplicate IDs found in batch input: [\(duplicates.joined(separator: ", "))]. IDs must be unique")
        }
    }

    private func batchRead(_ type: ObjectType, _ inputs: [JSON], _ request: APIRequest) throws(HubSpotError) -> APIAnswer {
        let idProperty = request.body["idProperty"].string
        if let idProperty, idProperty != "hs_object_id", !isUnique(idProperty, on: type) {
            throw .validation("\(idProperty) is not a unique property of \(type.singular)")
        }
        let properties = requested(request.body["properties"], on: type)
        let archived = request.query["archived"] == "true"
        var results: [JSON] = []
        var missing: [String] = []
        for input in inputs {
            guard let key = Self.key(input["id"]) else { throw .validation("Invalid input JSON: every input needs an id") }
            if let record = find(type, key, idProperty: idProperty, archived: archived) {
                results.append(render(record, type: type, properties: properties))
            } else {
                missing.append(key)
            }
        }
        return batchAnswer(results: results, errors: missing.isEmpty ? [] : [notFoundError(type, ids: missing, verb: "get")])
    }

    private mutating func batchCreate(_ type: ObjectType, _ inputs: [JSON]) throws(HubSpotError) -> APIAnswer {
        // The whole batch is validated first: one invalid input fails the call and creates nothing.
        var prepared: [([String: String?], [(ObjectRef, Int)])] = []
        for input in inputs {
            prepared.append(
                (try validateWrite(input["properties"], on: type), try parseInlineAssociations(input["associations"], from: type)))
        }
        try checkBatchUnique(type, prepared.map(\.0))
        var results: [JSON] = []
        for (values, links) in prepared {
            let record = try insert(type, values: values)
            for (target, typeID) in links { associate(ObjectRef(type: type, id: record.id), target, typeIDs: [typeID]) }
            results.append(render(record, type: type, properties: Array(values.keys)))
        }
        return batchAnswer(results: results, errors: [], successStatus: 201)
    }

    /// Two inputs of one batch may not claim the same unique value.
    private func checkBatchUnique(_ type: ObjectType, _ batch: [[String: String?]]) throws(HubSpotError) {
        var seen: [String: Set<String>] = [:]
        for values in batch {
            for (name, value) in values where isUnique(name, on: type) {
                guard let value else { continue }
                let normalised = name == "email" ? value.lowercased() : value
                if !seen[name, default: []].insert(normalised).inserted {
                    throw .validation("Duplicate \(name) values found in batch input: [\(normalised)]")
                }
            }
        }
    }

    private mutating func batchUpdate(_ type: ObjectType, _ inputs: [JSON], idProperty: String?) throws(HubSpotError)
        -> APIAnswer
    {
        var prepared: [(String, [String: String?])] = []
        for input in inputs {
            guard let key = Self.key(input["id"]) else { throw .validation("Invalid input JSON: every input needs an id") }
            let perInput = input["idProperty"].string ?? idProperty
            if let perInput, perInput != "hs_object_id", !isUnique(perInput, on: type) {
                throw .validation("\(perInput) is not a unique property of \(type.singular)")
            }
            prepared.append((key, try validateWrite(input["properties"], on: type)))
        }
        try checkDistinct(prepared.map(\.0))
        var results: [JSON] = []
        var missing: [String] = []
        for (index, (key, values)) in prepared.enumerated() {
            let perInput = inputs[index]["idProperty"].string ?? idProperty
            guard let existing = find(type, key, idProperty: perInput) else {
                missing.append(key)
                continue
            }
            let record = try apply(type, id: existing.id, values: values)
            results.append(render(record, type: type, properties: Array(values.keys)))
        }
        return batchAnswer(
            results: results, errors: missing.isEmpty ? [] : [notFoundError(type, ids: missing, verb: "update")])
    }

    private mutating func batchUpsert(_ type: ObjectType, _ inputs: [JSON]) throws(HubSpotError) -> APIAnswer {
        var prepared: [(String, String, [String: String?])] = []
        for input in inputs {
            guard let key = Self.key(input["id"]), let idProperty = input["idProperty"].string else {
                throw .validation("Invalid input JSON: every upsert input needs an id and an idProperty")
            }
            guard idProperty != "hs_object_id", isUnique(idProperty, on: type) else {
                throw .validation("\(idProperty) is not a unique property of \(type.singular); upsert needs one")
            }
            var values = try validateWrite(input["properties"], on: type)
            values[idProperty] = key
            prepared.append((key, idProperty, values))
        }
        try checkDistinct(prepared.map { "\($0.1):\($0.0)" })
        var results: [JSON] = []
        for (key, idProperty, values) in prepared {
            if let existing = find(type, key, idProperty: idProperty) {
                let record = try apply(type, id: existing.id, values: values)
                results.append(render(record, type: type, properties: Array(values.keys), extra: [("new", false)]))
            } else {
                let record = try insert(type, values: values)
                results.append(render(record, type: type, properties: Array(values.keys), extra: [("new", true)]))
            }
        }
        return batchAnswer(results: results, errors: [])
    }

    // MARK: Merge

    /// `{"primaryObjectId","objectIdToMerge"}`, as HubSpot merges since its 2024 change (contacts and companies;
    /// other objects already did): a new record with a new id holds the result and both originals are archived (no
    /// deletion events). The primary's values win; the other record's values fill what the primary lacks. The new
    /// record takes both records' associations (the primary's first; a second "Primary" label to the same object
    /// type is dropped, the association kept unlabelled). Both old ids lead to the new record from then on
    /// (`hs_merged_object_ids` lists them), and `{type}.merge` is raised with `primaryObjectId`, `mergedObjectIds`,
    /// `newObjectId` and `numberOfPropertiesMoved`.
    mutating func merge(_ type: ObjectType, _ body: JSON) throws(HubSpotError) -> APIAnswer {
        guard type != .lineItems else { throw .validation("Merging is not supported for line_item objects") }
        guard let primaryKey = Self.key(body["primaryObjectId"]), let mergedKey = Self.key(body["objectIdToMerge"]) else {
            throw .validation("Invalid input JSON: primaryObjectId and objectIdToMerge are required")
        }
        guard let primary = find(type, primaryKey, idProperty: nil), let merged = find(type, mergedKey, idProperty: nil)
        else { throw .notFound() }
        guard primary.id != merged.id else { throw .validation("Cannot merge an object into itself") }
        var properties = primary.properties
        var moved = 0
        for (name, value) in merged.properties
        where properties[name] == nil && !type.readOnlyProperties.contains(name) && !isUnique(name, on: type) {
            properties[name] = value
            moved += 1
        }
        let id = makeID()
        let history = [primary, merged].flatMap { record in
            (record.properties["hs_merged_object_ids"]?.split(separator: ";").map(String.init) ?? []) + [String(record.id)]
        }
        properties["hs_merged_object_ids"] = history.joined(separator: ";")
        properties["hs_object_id"] = String(id)
        properties[type.modifiedProperty] = Timestamps.iso8601(ms: now)
        let record = CRMRecord(id: id, properties: properties, createdAt: primary.createdAt, updatedAt: now)
        records[type, default: [:]][id] = record
        let made = ObjectRef(type: type, id: id)
        for old in [primary, merged] {
            let ref = ObjectRef(type: type, id: old.id)
            for (other, typeIDs) in (associations[ref] ?? [:]).sorted(by: { $0.key.id < $1.key.id })
            where other.type != type || (other.id != primary.id && other.id != merged.id) {
                let kept = typeIDs.filter { typeID in
                    // A contact or deal has one primary company: the primary record's wins.
                    guard let spec = AssociationType.find(id: typeID), spec.label == "Primary", spec.from == type,
                        spec.to == .companies
                    else { return true }
                    return !(associations[made] ?? [:]).contains { $0.key.type == other.type && $0.value.contains(typeID) }
                }
                var types = Set(kept)
                if types.isEmpty, let plain = AssociationType.defaultType(from: type, to: other.type) { types = [plain.id] }
                associate(made, other, typeIDs: types, raise: false)
            }
            var gone = old
            gone.archived = true
            gone.archivedAt = now
            records[type, default: [:]][old.id] = gone
            for other in (associations[ref] ?? [:]).keys { associations[other]?[ref] = nil }
            associations[ref] = nil
            mergedInto[type, default: [:]][old.id] = id
        }
        events.append(
            PendingEvent(
                subscriptionType: "\(type.singular).merge", objectID: id,
                extra: [
                    ("primaryObjectId", .int(primary.id)), ("mergedObjectIds", .array([.int(merged.id)])),
                    ("newObjectId", .int(id)), ("numberOfPropertiesMoved", .int(moved)),
                ]))
        return .ok(render(record, type: type, properties: nil))
    }
}
