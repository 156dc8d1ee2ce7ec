import WeftSimKit

extension SalesforceState {
    /// One record's result in sObject Collections.
    private enum ItemResult {
        /// `created`: the call made the record (a create, or an upsert that inserted); `false` an upsert that updated.
        case ok(id: String, created: Bool?)
        case failed(id: String?, SalesforceError)
    }

    private static let rolledBack = SalesforceError(
        400, "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using AllOrNone header", fields: [])

    private static func tooMany() -> SalesforceError {
        SalesforceError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")
    }

    /// `POST /composite/sobjects` (create), `PATCH /composite/sobjects` (update) and
    /// `PATCH /composite/sobjects/{type}/{field}` (upsert).
    mutating func collectionWrite(_ body: JSON, method: String, upsertOn: (ObjectSchema, String)?) throws(SalesforceError) -> JSON {
        guard let items = body["records"].array else {
            throw SalesforceError(400, "INVALID_FIELD", "Required parameter 'records' is missing")
        }
        if items.count > 200 { throw Self.tooMany() }
        if let (_, fieldName) = upsertOn {
            guard let object = upsertOn?.0, let field = object.field(fieldName), field.externalID else {
                throw .externalIDField(fieldName)
            }
        }
        let allOrNone = body["allOrNone"].bool ?? false
        let snapshot = self
        var results: [ItemResult] = []
        for item in items {
            results.append(writeOne(item, method: method, upsertOn: upsertOn))
        }
        return finish(results, allOrNone: allOrNone, snapshot: snapshot, upsert: upsertOn != nil)
    }

    private mutating func writeOne(_ item: JSON, method: String, upsertOn: (ObjectSchema, String)?) -> ItemResult {
        let givenID = item["id"].string ?? item["Id"].string
        guard let input = item.object else {
            return .failed(id: nil, .jsonParser("Cannot deserialize instance of SObject from non-object value"))
        }
        guard let typeName = item["attributes"]["type"].string else {
            return .failed(id: givenID, SalesforceError(400, "INVALID_TYPE", "Must send a concrete entity type.", fields: []))
        }
        guard let object = schema.object(typeName) else {
            return .failed(
                id: givenID,
                SalesforceError(400, "INVALID_TYPE", "sObject type '\(typeName)' is not supported.", fields: []))
        }
        do throws(SalesforceError) {
            if let (target, fieldName) = upsertOn {
                guard object.name == target.name else {
                    throw SalesforceError(400, "INVALID_TYPE", "Only records of type \(target.name) are allowed.", fields: [])
                }
                let field = target.field(fieldName)!
                guard let value = input[field.name]?.string ?? input[field.name]?.number.map(SOQLValue.format) else {
                    throw .required([field.name])
                }
                var body = input
                body[field.name] = nil
                switch try upsert(object, field: field.name, value: value, body, updateOnly: false) {
                case .created(let id): return .ok(id: id, created: true)
                case .updated(let id): return .ok(id: id, created: false)
                case .ambiguous(let ids):
                    throw SalesforceError(
                        400, "DUPLICATE_EXTERNAL_ID",
                        "\(field.name): more than one record found for external id field: [\(ids.joined(separator: ", "))]",
                        fields: [field.name])
                }
            }
            if method == "POST" {
                if givenID != nil {
                    throw SalesforceError(
                        400, "INVALID_FIELD", "Id in the request body isn't allowed when creating records.", fields: ["Id"])
                }
                return .ok(id: try insert(object, input), created: true)
            }
            guard let givenID else { throw SalesforceError(400, "MISSING_ARGUMENT", "Id not specified in an update call", fields: []) }
            var body = input
            body["id"] = nil
            guard SalesforceID.normalise(givenID) != nil else {
                throw SalesforceError(400, "MALFORMED_ID", "\(object.label) ID: id value of incorrect type: \(givenID)", fields: ["Id"])
            }
            let record: Record
            do { record = try live(givenID, of: object) } catch {
                throw error.code == "ENTITY_IS_DELETED"
                    ? SalesforceError(400, "ENTITY_IS_DELETED", "entity is deleted", fields: [])
                    : SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields: [])
            }
            try update(object, id: record.id, body)
            return .ok(id: record.id, created: nil)
        } catch {
            return .failed(id: givenID.flatMap(SalesforceID.normalise), error)
        }
    }

    /// `DELETE /composite/sobjects?ids=…&allOrNone=…`.
    mutating func collectionDelete(ids: [String], allOrNone: Bool) throws(SalesforceError) -> JSON {
        if ids.count > 200 { throw Self.tooMany() }
        let snapshot = self
        var results: [ItemResult] = []
        for id in ids {
            do throws(SalesforceError) {
                guard let normalised = SalesforceID.normalise(id) else {
                    throw SalesforceError(400, "MALFORMED_ID", "malformed id \(id)", fields: [])
                }
                guard let record = records[normalised] else {
                    throw SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields: [])
                }
                if record.isDeleted { throw SalesforceError(400, "ENTITY_IS_DELETED", "entity is deleted", fields: []) }
                try delete(id: normalised)
                results.append(.ok(id: normalised, created: nil))
            } catch {
                results.append(.failed(id: SalesforceID.normalise(id) ?? id, error))
            }
        }
        return finish(results, allOrNone: allOrNone, snapshot: snapshot, upsert: false)
    }

    /// The answer of a Collections call. With `allOrNone` and a failure, every change is undone and each record that
    /// had succeeded is answered `ALL_OR_NONE_OPERATION_ROLLED_BACK`: a record it would have created has no `id` (there
    /// is none: Salesforce's example for create shows none), one it updated keeps its own.
    private mutating func finish(_ results: [ItemResult], allOrNone: Bool, snapshot: SalesforceState, upsert: Bool) -> JSON {
        let failed = results.contains { if case .failed = $0 { true } else { false } }
        if allOrNone, failed { self = snapshot }
        return .array(
            results.map { result in
                var out = JSONObject()
                switch result {
                case .ok(let id, let created):
                    if allOrNone, failed {
                        if created != true { out["id"] = .string(id) }
                        out["success"] = false
                        out["errors"] = [Self.rolledBack.collectionEntry]
                    } else {
                        out["id"] = .string(id)
                        out["success"] = true
                        out["errors"] = []
                        if upsert, let created { out["created"] = .bool(created) }
                    }
                case .failed(let id, let error):
                    if let id { out["id"] = .string(id) }
                    out["success"] = false
                    out["errors"] = [error.collectionEntry]
                }
                return .object(out)
            })
    }
}
