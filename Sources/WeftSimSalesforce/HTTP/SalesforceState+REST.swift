import WeftSimKit

/// An API answer before it is put on the wire.
struct APIAnswer: Sendable {
    var status: Int
    var body: JSON?
}

extension SalesforceState {
    /// Serves one call below `/services/data/vXX.X/`.
    mutating func route(
        method: String, segments: [String], query: [String: String], body: [UInt8], version: String, batchSize: Int
    ) throws(SalesforceError) -> APIAnswer {
        func json() throws(SalesforceError) -> JSON {
            guard !body.isEmpty else { throw .jsonParser("No content to map due to end-of-input at [line:1, column:0]") }
            guard let parsed = try? JSON.parse(body) else {
                throw .jsonParser("Unexpected character: the request body is not valid JSON at [line:1, column:1]")
            }
            return parsed
        }
        func object() throws(SalesforceError) -> JSONObject {
            guard let value = try json().object else {
                throw .jsonParser("Cannot deserialize instance of SObject out of START_ARRAY token at [line:1, column:1]")
            }
            return value
        }
        func sobject(_ name: String) throws(SalesforceError) -> ObjectSchema {
            guard let object = schema.object(name) else { throw .notFound }
            return object
        }
        switch (method, segments.count) {
        case ("GET", 0):
            var resources = JSONObject()
            for name in ["limits", "query", "queryAll", "sobjects", "composite"] {
                resources[name] = .string("/services/data/v\(version)/\(name)")
            }
            return APIAnswer(status: 200, body: .object(resources))
        default: break
        }
        switch segments[0] {
        case "limits":
            guard segments.count == 1 else { throw .notFound }
            guard method == "GET" else { throw .methodNotAllowed(method, allowed: "GET,HEAD") }
            return APIAnswer(
                status: 200,
                body: [
                    "DailyApiRequests": [
                        "Max": .int(settings.dailyApiRequests), "Remaining": .int(max(0, settings.dailyApiRequests - apiUsed)),
                    ],
                    "DailyBulkV2QueryJobs": ["Max": 10000, "Remaining": 10000],
                    "SingleEmail": ["Max": 5000, "Remaining": 5000],
                ])
        case "query", "queryAll":
            let allRows = segments[0] == "queryAll"
            guard method == "GET" else { throw .methodNotAllowed(method, allowed: "GET,HEAD") }
            if segments.count == 2 { return APIAnswer(status: 200, body: try queryMore(segments[1], version: version)) }
            guard segments.count == 1 else { throw .notFound }
            guard let soql = query["q"], !soql.isEmpty else {
                throw SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
            }
            return APIAnswer(status: 200, body: try self.query(soql, allRows: allRows, version: version, batchSize: batchSize))
        case "sobjects":
            return try routeSObjects(
                method: method, Array(segments.dropFirst()), query: query, version: version, body: json, object: object)
        case "composite":
            guard segments.count >= 2, segments[1] == "sobjects" else { throw .notFound }
            switch (method, segments.count) {
            case ("POST", 2), ("PATCH", 2):
                return APIAnswer(status: 200, body: try collectionWrite(try json(), method: method, upsertOn: nil))
            case ("PATCH", 4):
                let target = try sobject(segments[2])
                return APIAnswer(status: 200, body: try collectionWrite(try json(), method: method, upsertOn: (target, segments[3])))
            case ("DELETE", 2):
                let ids = (query["ids"] ?? "").split(separator: ",").map { String($0).trimmingWhitespace }
                guard !ids.isEmpty else { throw SalesforceError(400, "MISSING_ARGUMENT", "ids parameter is required") }
                return APIAnswer(
                    status: 200, body: try collectionDelete(ids: ids, allOrNone: query["allOrNone"]?.lowercased() == "true"))
            case ("GET", 3):
                let target = try sobject(segments[2])
                let ids = (query["ids"] ?? "").split(separator: ",").map { String($0).trimmingWhitespace }
                let fields = (query["fields"] ?? "").split(separator: ",").map { String($0).trimmingWhitespace }
                guard !ids.isEmpty, !fields.isEmpty else {
                    throw SalesforceError(400, "MISSING_ARGUMENT", "ids and fields parameters are required")
                }
                if ids.count > 2000 { throw SalesforceError(400, "EXCEEDED_ID_LIMIT", "too many ids") }
                for field in fields where target.field(field) == nil { throw .noSuchColumn(field, type: target.name) }
                return APIAnswer(
                    status: 200,
                    body: .array(
                        ids.map { id in
                            guard let record = try? live(id, of: target) else { return .null }
                            return self.json(record, version: version, only: fields)
                        }))
            default:
                throw .methodNotAllowed(method, allowed: "GET,POST,PATCH,DELETE")
            }
        default:
            throw .notFound
        }
    }

    private mutating func routeSObjects(
        method: String, _ segments: [String], query: [String: String], version: String,
        body json: () throws(SalesforceError) -> JSON, object bodyObject: () throws(SalesforceError) -> JSONObject
    ) throws(SalesforceError) -> APIAnswer {
        if segments.isEmpty {
            guard method == "GET" else { throw .methodNotAllowed(method, allowed: "GET,HEAD") }
            return APIAnswer(
                status: 200,
                body: [
                    "encoding": "UTF-8", "maxBatchSize": 200,
                    "sobjects": .array(schema.names.compactMap { schema.object($0).map { describeSummary($0, version: version) } }),
                ])
        }
        guard let object = schema.object(segments[0]) else { throw .notFound }
        switch segments.count {
        case 1:
            switch method {
            case "GET":
                return APIAnswer(status: 200, body: ["objectDescribe": describeSummary(object, version: version), "recentItems": []])
            case "POST":
                let id = try insert(object, try bodyObject())
                return APIAnswer(status: 201, body: ["id": .string(id), "success": true, "errors": []])
            default: throw .methodNotAllowed(method, allowed: "GET,HEAD,POST")
            }
        case 2 where segments[1] == "describe":
            guard method == "GET" else { throw .methodNotAllowed(method, allowed: "GET,HEAD") }
            return APIAnswer(status: 200, body: describe(object, version: version))
        case 2:
            let id = segments[1]
            switch method {
            case "GET":
                let record = try live(id, of: object)
                var only: [String]?
                if let fields = query["fields"] {
                    only = fields.split(separator: ",").map { String($0).trimmingWhitespace }
                    for field in only ?? [] where object.field(field) == nil { throw .noSuchColumn(field, type: object.name) }
                }
                return APIAnswer(status: 200, body: self.json(record, version: version, only: only))
            case "PATCH":
                let record = try live(id, of: object)
                try update(object, id: record.id, try bodyObject())
                return APIAnswer(status: 204, body: nil)
            case "DELETE":
                _ = try live(id, of: object)
                try delete(id: id, of: object)
                return APIAnswer(status: 204, body: nil)
            default: throw .methodNotAllowed(method, allowed: "GET,PATCH,HEAD,DELETE")
            }
        case 3:
            let (fieldName, value) = (segments[1], segments[2])
            guard let field = object.field(fieldName), field.externalID || field.name == "Id" else {
                throw .externalIDField(fieldName)
            }
            switch method {
            case "GET", "DELETE":
                let matches = find(object, field: field, value: value)
                if matches.count > 1 {
                    return APIAnswer(
                        status: 300,
                        body: .strings(matches.map { "/services/data/v\(version)/sobjects/\(object.name)/\($0.id)" }))
                }
                guard let match = matches.first else { throw .notFound }
                if method == "DELETE" {
                    try delete(id: match.id)
                    return APIAnswer(status: 204, body: nil)
                }
                return APIAnswer(status: 200, body: self.json(match, version: version))
            case "PATCH", "POST":
                let updateOnly = query["updateOnly"]?.lowercased() == "true"
                switch try upsert(object, field: field.name, value: value, try bodyObject(), updateOnly: updateOnly) {
                case .created(let id):
                    return APIAnswer(status: 201, body: ["id": .string(id), "success": true, "errors": [], "created": true])
                case .updated(let id):
                    return APIAnswer(status: 200, body: ["id": .string(id), "success": true, "errors": [], "created": false])
                case .ambiguous(let ids):
                    return APIAnswer(
                        status: 300, body: .strings(ids.map { "/services/data/v\(version)/sobjects/\(object.name)/\($0)" }))
                }
            default: throw .methodNotAllowed(method, allowed: "GET,PATCH,POST,HEAD,DELETE")
            }
        default:
            throw .notFound
        }
    }

    // MARK: Describe

    private func describeSummary(_ object: ObjectSchema, version: String) -> JSON {
        let base = "/services/data/v\(version)/sobjects/\(object.name)"
        return [
            "name": .string(object.name), "label": .string(object.label), "labelPlural": .string(object.labelPlural),
            "keyPrefix": .string(object.keyPrefix), "custom": false, "createable": true, "updateable": true, "deletable": true,
            "queryable": true,
            "urls": [
                "sobject": .string(base), "describe": .string(base + "/describe"), "rowTemplate": .string(base + "/{ID}"),
            ],
        ]
    }

    private func describe(_ object: ObjectSchema, version: String) -> JSON {
        guard case .object(var out) = describeSummary(object, version: version) else { return .null }
        out["fields"] = .array(
            object.fields.map { field in
                var entry = JSONObject([
                    ("name", .string(field.name)), ("label", .string(field.label)), ("type", .string(field.kind.rawValue)),
                    ("custom", .bool(field.custom)), ("externalId", .bool(field.externalID)), ("unique", .bool(field.unique)),
                    ("createable", .bool(field.createable)), ("updateable", .bool(field.updateable)),
                    ("nillable", .bool(!field.required && field.kind != .boolean && field.name != "Id")),
                    ("idLookup", .bool(field.name == "Id" || field.externalID)),
                    ("referenceTo", .strings(field.referenceTo.map { [$0] } ?? [])),
                    ("relationshipName", .from(field.relationshipName)),
                ])
                if field.name == "StageName" {
                    entry["picklistValues"] = .array(
                        settings.stages.map { ["value": .string($0.name), "label": .string($0.name), "active": true] })
                } else if field.name == "CurrencyIsoCode" {
                    entry["picklistValues"] = .array(
                        settings.currencies.map { ["value": .string($0), "label": .string($0), "active": true] })
                } else {
                    entry["picklistValues"] = .array(
                        field.picklistValues.map {
                            ["value": .string($0), "label": .string(field.picklistLabels[$0] ?? $0), "active": true]
                        })
                }
                if field.kind == .picklist { entry["restrictedPicklist"] = .bool(field.restrictedPicklist) }
                return .object(entry)
            })
        out["childRelationships"] = .array(
            object.children.map {
                ["childSObject": .string($0.childType), "field": .string($0.field), "relationshipName": .string($0.name)]
            })
        return .object(out)
    }
}

extension String {
    var trimmingWhitespace: String {
        var text = Substring(self)
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
