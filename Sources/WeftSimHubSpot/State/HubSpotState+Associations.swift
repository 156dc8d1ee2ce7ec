import WeftSimKit

/// One association type HubSpot defines between two object types.
struct AssociationType: Sendable, Hashable {
    var from: ObjectType
    var to: ObjectType
    var id: Int
    /// The type id of the same association seen from the other side.
    var inverse: Int
    /// `Primary` for primary company associations, `nil` for the unlabelled default.
    var label: String?

    /// The `HUBSPOT_DEFINED` types the simulator knows (saas-apis.md §5 and HubSpot's associations v4 table).
    static let all: [AssociationType] = {
        let pairs: [(ObjectType, ObjectType, Int, Int, String?)] = [
            (.contacts, .companies, 279, 280, nil), (.contacts, .companies, 1, 2, "Primary"),
            (.deals, .companies, 341, 342, nil), (.deals, .companies, 5, 6, "Primary"),
            (.deals, .contacts, 3, 4, nil), (.lineItems, .deals, 20, 19, nil),
        ]
        var types: [AssociationType] = []
        for (from, to, id, inverse, label) in pairs {
            types.append(AssociationType(from: from, to: to, id: id, inverse: inverse, label: label))
            types.append(AssociationType(from: to, to: from, id: inverse, inverse: id, label: label))
        }
        return types
    }()

    static func find(id: Int) -> AssociationType? { all.first { $0.id == id } }

    /// The unlabelled type from one object type to another.
    static func defaultType(from: ObjectType, to: ObjectType) -> AssociationType? {
        all.first { $0.from == from && $0.to == to && $0.label == nil }
    }
}

extension HubSpotState {
    /// Links two records with `typeIDs` (from `from`'s side; the inverse types are stored on the other side) and
    /// raises `associationChange` for both sides when something was added.
    mutating func associate(_ from: ObjectRef, _ to: ObjectRef, typeIDs: Set<Int>, raise: Bool = true) {
        var added: [Int] = []
        for typeID in typeIDs.sorted() {
            guard let type = AssociationType.find(id: typeID) else { continue }
            if associations[from, default: [:]][to, default: []].insert(typeID).inserted { added.append(typeID) }
            associations[to, default: [:]][from, default: []].insert(type.inverse)
        }
        guard raise, !added.isEmpty else { return }
        let primary = added.contains { AssociationType.find(id: $0)?.label == "Primary" }
        for (source, target) in [(from, to), (to, from)] {
            events.append(
                PendingEvent(
                    subscriptionType: "\(source.type.singular).associationChange", objectID: source.id,
                    extra: [
                        ("associationType", .string("\(source.type.upper)_TO_\(target.type.upper)")),
                        ("fromObjectId", .int(source.id)), ("toObjectId", .int(target.id)),
                        ("associationRemoved", false), ("isPrimaryAssociation", .bool(primary)),
                    ]))
        }
    }

    /// Serves a call below the associations prefix.
    mutating func routeAssociations(_ request: APIRequest) throws(HubSpotError) -> APIAnswer {
        let s = request.segments
        switch (request.method, s.count) {
        case ("PUT", 7) where s[0] == "objects" && s[3] == "associations" && s[4] == "default":
            let (from, to) = try refs(s[1], s[2], s[5], s[6])
            guard let type = AssociationType.defaultType(from: from.type, to: to.type) else {
                throw .validation("No default association from \(from.type.singular) to \(to.type.singular)")
            }
            associate(from, to, typeIDs: [type.id])
            return batchAnswer(results: [spec(from, to, type.id), spec(to, from, type.inverse)], errors: [])
        case ("PUT", 6) where s[0] == "objects" && s[3] == "associations":
            let (from, to) = try refs(s[1], s[2], s[4], s[5])
            let typeIDs = try parseTypes(request.body, from: from.type, to: to.type)
            associate(from, to, typeIDs: typeIDs)
            return APIAnswer(status: 201, body: linkBody(from, to))
        case ("DELETE", 6) where s[0] == "objects" && s[3] == "associations":
            let (from, to) = try refs(s[1], s[2], s[4], s[5])
            unlink(from, to)
            return .noContent
        case ("GET", 5) where s[0] == "objects" && s[3] == "associations":
            guard let fromType = ObjectType(path: s[1]), let toType = ObjectType(path: s[4]) else { throw .notFound() }
            guard let record = find(fromType, s[2], idProperty: nil) else { throw .notFound() }
            return listAssociations(ObjectRef(type: fromType, id: record.id), to: toType, request)
        case ("POST", 5) where s[0] == "associations" && s[3] == "batch" && s[4] == "read":
            guard let fromType = ObjectType(path: s[1]), let toType = ObjectType(path: s[2]) else { throw .notFound() }
            return try batchReadAssociations(fromType, toType, request.body)
        case ("POST", 5) where s[0] == "associations" && s[3] == "batch":
            guard let fromType = ObjectType(path: s[1]), let toType = ObjectType(path: s[2]) else { throw .notFound() }
            return try batchAssociate(fromType, toType, operation: s[4], request.body)
        default:
            throw HubSpotError(status: 404, category: "OBJECT_NOT_FOUND", message: "Not found")
        }
    }

    private func refs(_ fromPath: String, _ fromID: String, _ toPath: String, _ toID: String) throws(HubSpotError) -> (
        ObjectRef, ObjectRef
    ) {
        guard let fromType = ObjectType(path: fromPath), let toType = ObjectType(path: toPath) else { throw .notFound() }
        guard let from = find(fromType, fromID, idProperty: nil) else {
            throw .notFound("No \(fromType.singular) with id \(fromID)")
        }
        guard let to = find(toType, toID, idProperty: nil) else { throw .notFound("No \(toType.singular) with id \(toID)") }
        return (ObjectRef(type: fromType, id: from.id), ObjectRef(type: toType, id: to.id))
    }

    /// `[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]`, checked against the pair.
    private func parseTypes(_ body: JSON, from: ObjectType, to: ObjectType) throws(HubSpotError) -> Set<Int> {
        guard let items = body.array, !items.isEmpty else {
            throw .validation("The body must be a list of association types")
        }
        var ids: Set<Int> = []
        for item in items {
            guard let id = item["associationTypeId"].int, let category = item["associationCategory"].string else {
                throw .validation("Every association type needs associationCategory and associationTypeId")
            }
            guard category == "HUBSPOT_DEFINED", let type = AssociationType.find(id: id), type.from == from, type.to == to
            else {
                throw .validation(
                    "\(category) association type \(id) is not valid from \(from.singular) to \(to.singular)")
            }
            ids.insert(id)
        }
        return ids
    }

    /// Inline `associations` on create: `[{"to":{"id"},"types":[…]}]`; the target's type comes from the type id.
    func parseInlineAssociations(_ value: JSON, from: ObjectType) throws(HubSpotError) -> [(ObjectRef, Int)] {
        guard let items = value.array else { return [] }
        var links: [(ObjectRef, Int)] = []
        for item in items {
            guard let key = Self.key(item["to"]["id"]) else { throw .validation("An association needs to.id") }
            for spec in item["types"].array ?? [] {
                guard let id = spec["associationTypeId"].int, let type = AssociationType.find(id: id), type.from == from
                else {
                    throw .validation("Association type \(spec["associationTypeId"].int ?? 0) is not valid from \(from.singular)")
                }
                guard let target = find(type.to, key, idProperty: nil) else {
                    throw .validation("Association target \(type.to.singular) \(key) does not exist")
                }
                links.append((ObjectRef(type: type.to, id: target.id), id))
            }
        }
        return links
    }

    private mutating func unlink(_ from: ObjectRef, _ to: ObjectRef) {
        guard associations[from]?[to] != nil else { return }
        associations[from]?[to] = nil
        associations[to]?[from] = nil
        for (source, target) in [(from, to), (to, from)] {
            events.append(
                PendingEvent(
                    subscriptionType: "\(source.type.singular).associationChange", objectID: source.id,
                    extra: [
                        ("associationType", .string("\(source.type.upper)_TO_\(target.type.upper)")),
                        ("fromObjectId", .int(source.id)), ("toObjectId", .int(target.id)),
                        ("associationRemoved", true), ("isPrimaryAssociation", false),
                    ]))
        }
    }

    private func spec(_ from: ObjectRef, _ to: ObjectRef, _ typeID: Int) -> JSON {
        [
            "from": ["id": .string(String(from.id))], "to": ["id": .string(String(to.id))],
            "associationSpec": ["associationCategory": "HUBSPOT_DEFINED", "associationTypeId": .int(typeID)],
        ]
    }

    private func linkBody(_ from: ObjectRef, _ to: ObjectRef) -> JSON {
        let labels = (associations[from]?[to] ?? []).sorted().compactMap { AssociationType.find(id: $0)?.label }
        return [
            "fromObjectTypeId": .string(from.type.typeID), "fromObjectId": .int(from.id),
            "toObjectTypeId": .string(to.type.typeID), "toObjectId": .int(to.id), "labels": .strings(labels),
        ]
    }

    private func listAssociations(_ from: ObjectRef, to type: ObjectType, _ request: APIRequest) -> APIAnswer {
        let limit = min(max(Int(request.query["limit"] ?? "") ?? 500, 1), 500)
        let after = Int(request.query["after"] ?? "") ?? 0
        let linked = (associations[from] ?? [:]).filter { $0.key.type == type && $0.key.id >= after }
            .sorted { $0.key.id < $1.key.id }
        let results = linked.prefix(limit).map { target, typeIDs -> JSON in
            [
                "toObjectId": .int(target.id),
                "associationTypes": .array(
                    typeIDs.sorted().map { id in
                        [
                            "category": "HUBSPOT_DEFINED", "typeId": .int(id),
                            "label": JSON.from(AssociationType.find(id: id)?.label),
                        ]
                    }),
            ]
        }
        var object = JSONObject([("results", .array(Array(results)))])
        if linked.count > limit {
            let next = String(linked[limit].key.id)
            object["paging"] = [
                "next": ["after": .string(next), "link": .string(request.baseURL + request.path + "?after=" + next)]
            ]
        }
        return .ok(.object(object))
    }

    /// `batch/read` (`inputs: [{id, after?}]`): each record's associations to `toType`, 500 per page (`paging.next.after`
    /// when there are more). Records that do not exist or have no such association are left out of `results` and named
    /// in `errors` (207).
    private func batchReadAssociations(_ fromType: ObjectType, _ toType: ObjectType, _ body: JSON) throws(HubSpotError)
        -> APIAnswer
    {
        guard let inputs = body["inputs"].array else { throw .validation("Invalid input JSON: inputs is required") }
        guard inputs.count <= Self.batchLimit else {
            throw .validation("Batch input limit exceeded: \(inputs.count) inputs given, the maximum is \(Self.batchLimit)")
        }
        let pageSize = 500
        var results: [JSON] = []
        var missing: [String] = []
        for input in inputs {
            guard let key = Self.key(input["id"]) else { throw .validation("Every input needs an id") }
            guard let record = find(fromType, key, idProperty: nil) else {
                missing.append(key)
                continue
            }
            let after = Self.key(input["after"]).flatMap { Int($0) } ?? 0
            let from = ObjectRef(type: fromType, id: record.id)
            let linked = (associations[from] ?? [:]).filter { $0.key.type == toType && $0.key.id >= after }
                .sorted { $0.key.id < $1.key.id }
            guard !linked.isEmpty else {
                missing.append(key)
                continue
            }
            let page = linked.prefix(pageSize).map { target, typeIDs -> JSON in
                [
                    "toObjectId": .int(target.id),
                    "associationTypes": .array(
                        typeIDs.sorted().map { id in
                            [
                                "category": "HUBSPOT_DEFINED", "typeId": .int(id),
                                "label": JSON.from(AssociationType.find(id: id)?.label),
                            ]
                        }),
                ]
            }
            var object = JSONObject([("from", ["id": .string(String(record.id))]), ("to", .array(Array(page)))])
            if linked.count > pageSize { object["paging"] = ["next": ["after": .string(String(linked[pageSize].key.id))]] }
            results.append(.object(object))
        }
        let errors: [JSON] =
            missing.isEmpty
            ? []
            : [
                [
                    "status": "error", "category": "OBJECT_NOT_FOUND",
                    "message": .string("No \(toType.singular) is associated with \(fromType.singular) \(missing.joined(separator: ", "))."),
                    "context": ["fromObjectIds": .strings(missing)],
                ]
            ]
        return batchAnswer(results: results, errors: errors)
    }

    /// `batch/create` (`inputs: [{from:{id},to:{id},types:[…]}]`) and `batch/associate/default`
    /// (`inputs: [{from:{id},to:{id}}]`); inputs whose records do not exist are reported in `errors` (207).
    private mutating func batchAssociate(_ fromType: ObjectType, _ toType: ObjectType, operation: String, _ body: JSON)
        throws(HubSpotError) -> APIAnswer
    {
        guard operation == "create" || operation == "associate" else { throw .notFound() }
        guard let inputs = body["inputs"].array else { throw .validation("Invalid input JSON: inputs is required") }
        guard inputs.count <= Self.batchLimit else {
            throw .validation("Batch input limit exceeded: \(inputs.count) inputs given, the maximum is \(Self.batchLimit)")
        }
        var results: [JSON] = []
        var missing: [String] = []
        for input in inputs {
            guard let fromKey = Self.key(input["from"]["id"]), let toKey = Self.key(input["to"]["id"]) else {
                throw .validation("Every input needs from.id and to.id")
            }
            let typeIDs: Set<Int>
            if operation == "create" {
                typeIDs = try parseTypes(input["types"], from: fromType, to: toType)
            } else {
                guard let type = AssociationType.defaultType(from: fromType, to: toType) else {
                    throw .validation("No default association from \(fromType.singular) to \(toType.singular)")
                }
                typeIDs = [type.id]
            }
            guard let from = find(fromType, fromKey, idProperty: nil), let to = find(toType, toKey, idProperty: nil) else {
                missing.append("\(fromKey)->\(toKey)")
                continue
            }
            let fromRef = ObjectRef(type: fromType, id: from.id)
            let toRef = ObjectRef(type: toType, id: to.id)
            associate(fromRef, toRef, typeIDs: typeIDs)
            results.append(linkBody(fromRef, toRef))
        }
        let errors: [JSON] =
            missing.isEmpty
            ? []
            : [
                [
                    "status": "error", "category": "VALIDATION_ERROR",
                    "message": .string("One or more objects in the inputs do not exist: \(missing.joined(separator: ", "))"),
                    "context": ["inputs": .strings(missing)],
                ]
            ]
        return batchAnswer(results: results, errors: errors, successStatus: operation == "create" ? 201 : 200)
    }
}
