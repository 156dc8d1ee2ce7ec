package import Logging
import NIOHTTP1
import WeftCore

extension SalesforceClient {
    /// Creates records, possibly of several types (`POST /composite/sobjects`), in calls of at most `collectionSize`.
    /// Returns one result per record, in input order; with `allOrNone` a failing record rolls back its call's records.
    package func createCollection(_ records: [SalesforceRecord], allOrNone: Bool = false, logger: Logger)
        async throws(SalesforceAPIError) -> [SalesforceSaveResult]
    {
        try await collection(.POST, configuration.dataPath + "/composite/sobjects", records, allOrNone: allOrNone, logger: logger) {
            record in
            var object = record.fields
            object["attributes"] = ["type": .string(record.type)]
            return object
        }
    }

    /// Updates records by id (`PATCH /composite/sobjects`); every record needs its `id`.
    package func updateCollection(_ records: [SalesforceRecord], allOrNone: Bool = false, logger: Logger)
        async throws(SalesforceAPIError) -> [SalesforceSaveResult]
    {
        if let missing = records.firstIndex(where: { $0.id == nil }) {
            throw SalesforceAPIError(kind: .invalid, message: "record \(missing) of a Salesforce collection update has no id")
        }
        return try await collection(
            .PATCH, configuration.dataPath + "/composite/sobjects", records, allOrNone: allOrNone, logger: logger
        ) { record in
            var object = record.fields
            object["attributes"] = ["type": .string(record.type)]
            object["id"] = record.id.map(JSONValue.string)
            return object
        }
    }

    /// Creates or updates records of one type by an external ID field
    /// (`PATCH /composite/sobjects/{type}/{field}`, API 46.0+); each record's fields must hold the external ID value.
    /// Results carry `created`.
    package func upsertCollection(
        _ type: String, externalIDField: String, _ records: [SalesforceRecord], allOrNone: Bool = false, logger: Logger
    ) async throws(SalesforceAPIError) -> [SalesforceSaveResult] {
        try Self.checkNames([type, externalIDField])
        if let other = records.first(where: { $0.type != type }) {
            throw SalesforceAPIError(
                kind: .invalid, message: "a Salesforce collection upsert of \(type) holds a \(other.type) record")
        }
        if let missing = records.firstIndex(where: { ($0.fields[externalIDField] ?? .null).isNull }) {
            throw SalesforceAPIError(
                kind: .invalid, message: "record \(missing) of a \(type) upsert has no \(externalIDField) value")
        }
        return try await collection(
            .PATCH, configuration.dataPath + "/composite/sobjects/\(type)/\(externalIDField)", records,
            allOrNone: allOrNone, logger: logger
        ) { record in
            var object = record.fields
            object["attributes"] = ["type": .string(type)]
            return object
        }
    }

    private func collection(
        _ method: HTTPMethod, _ path: String, _ records: [SalesforceRecord], allOrNone: Bool, logger: Logger,
        encode: (SalesforceRecord) -> [String: JSONValue]
    ) async throws(SalesforceAPIError) -> [SalesforceSaveResult] {
        for record in records { try Self.checkNames([record.type] + record.fields.keys) }
        var results: [SalesforceSaveResult] = []
        results.reserveCapacity(records.count)
        var start = 0
        while start < records.count {
            let end = min(start + configuration.collectionSize, records.count)
            let chunk = records[start..<end]
            let body: JSONValue = [
                "allOrNone": .bool(allOrNone), "records": .array(chunk.map { .object(encode($0)) }),
            ]
            let answer = try await send(method, path, body: body, logger: logger)
            guard let items = answer.json.arrayValue, items.count == chunk.count else {
                throw SalesforceAPIError(
                    kind: .invalidResponse,
                    message: "Salesforce answered \(method.rawValue) \(path) with \(answer.json.arrayValue?.count ?? 0) "
                        + "results for \(chunk.count) records",
                    status: answer.status)
            }
            results.append(contentsOf: items.map(SalesforceSaveResult.init(json:)))
            start = end
        }
        return results
    }
}
