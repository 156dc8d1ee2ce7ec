import Foundation
package import Logging
import NIOHTTP1
import WeftCore

/// HubSpot's CRM calls over the shared outbound client: batch read/update/upsert (split into calls of at most
/// `batchSize` inputs), incremental search by modification time, and associations v4. Statuses map to
/// `HubSpotAPIError`, whose `outcome` says retry or reject.
package struct HubSpotClient: Sendable {
    package let http: OutboundHTTPClient
    package let configuration: HubSpotConfiguration

    package init(http: OutboundHTTPClient, configuration: HubSpotConfiguration) {
        self.http = http
        self.configuration = configuration
    }

    // MARK: Batch

    /// Reads records by id, or by a unique property (`idProperty`, e.g. `email`). Ids HubSpot does not find are in
    /// `errors` (HubSpot answers 207 for those).
    package func batchRead(
        _ type: HubSpotObjectType, ids: [String], idProperty: String? = nil, properties: [String], logger: Logger
    ) async throws(HubSpotAPIError) -> HubSpotBatchResult {
        var result = HubSpotBatchResult()
        for chunk in ids.chunked(configuration.batchSize) {
            var body: [String: JSONValue] = [
                "properties": .array(properties.map(JSONValue.string)),
                "inputs": .array(chunk.map { ["id": .string($0)] }),
            ]
            if let idProperty { body["idProperty"] = .string(idProperty) }
            let answer = try await send(.POST, objectsPath(type, "batch", "read"), body: .object(body), type: type, logger: logger)
            result.append(answer)
        }
        return result
    }

    /// Creates or updates records by a unique property: each input's `id` is the value of its `idProperty`.
    /// Results carry `isNew`.
    package func batchUpsert(_ type: HubSpotObjectType, _ inputs: [HubSpotUpsertInput], logger: Logger)
        async throws(HubSpotAPIError) -> HubSpotBatchResult
    {
        var result = HubSpotBatchResult()
        for chunk in inputs.chunked(configuration.batchSize) {
            let body: JSONValue = [
                "inputs": .array(
                    chunk.map { input in
                        [
                            "idProperty": .string(input.idProperty), "id": .string(input.id),
                            "properties": Self.properties(input.properties),
                        ]
                    })
            ]
            result.append(try await send(.POST, objectsPath(type, "batch", "upsert"), body: body, type: type, logger: logger))
        }
        return result
    }

    /// Updates records by id (or by `idProperty`). Records HubSpot does not find are in `errors`.
    package func batchUpdate(_ type: HubSpotObjectType, _ inputs: [HubSpotUpdateInput], logger: Logger)
        async throws(HubSpotAPIError) -> HubSpotBatchResult
    {
        var result = HubSpotBatchResult()
        for chunk in inputs.chunked(configuration.batchSize) {
            let body: JSONValue = [
                "inputs": .array(
                    chunk.map { input in
                        var object: [String: JSONValue] = [
                            "id": .string(input.id), "properties": Self.properties(input.properties),
                        ]
                        if let idProperty = input.idProperty { object["idProperty"] = .string(idProperty) }
                        return .object(object)
                    })
            ]
            result.append(try await send(.POST, objectsPath(type, "batch", "update"), body: body, type: type, logger: logger))
        }
        return result
    }

    // MARK: Search

    /// One page of records modified at or after `cursor.modifiedSince`, oldest first. HubSpot stops paging a query at
    /// 10 000 results; before that, the next cursor restarts the query from the last record's modification time (so a
    /// record at that exact time can come twice: callers dedupe by id and `updatedAt`).
    package func searchModified(
        _ type: HubSpotObjectType, cursor: HubSpotSearchCursor, properties: [String], logger: Logger
    ) async throws(HubSpotAPIError) -> HubSpotSearchPage {
        let limit = configuration.searchPageSize
        var body: [String: JSONValue] = [
            "filterGroups": [
                [
                    "filters": [
                        [
                            "propertyName": .string(type.modifiedProperty), "operator": "GTE",
                            "value": .string(String(cursor.modifiedSince)),
                        ]
                    ]
                ]
            ],
            "sorts": [["propertyName": .string(type.modifiedProperty), "direction": "ASCENDING"]],
            "properties": .array((properties + [type.modifiedProperty]).map(JSONValue.string)),
            "limit": .int(Int64(limit)),
        ]
        if let after = cursor.after { body["after"] = .string(String(after)) }
        let answer = try await send(.POST, objectsPath(type, "search"), body: .object(body), type: type, logger: logger)
        let records = (answer["results"]?.arrayValue ?? []).compactMap(HubSpotRecord.init(json:))
        let newest = records.compactMap { $0[type.modifiedProperty].flatMap(Self.milliseconds) }.max()
        var next: HubSpotSearchCursor?
        if let after = answer["paging"]?["next"]?["after"]?.stringValue.flatMap({ Int($0) }) {
            if after + limit <= HubSpotSearchCursor.resultCeiling {
                next = HubSpotSearchCursor(modifiedSince: cursor.modifiedSince, after: after)
            } else if let newest, newest > cursor.modifiedSince {
                next = HubSpotSearchCursor(modifiedSince: newest, after: nil)
            } else {
                throw HubSpotAPIError(
                    kind: .invalid,
                    message:
                        "HubSpot search for \(type) has more than \(HubSpotSearchCursor.resultCeiling) records modified at "
                        + "the same millisecond; the search API cannot page past them")
            }
        }
        return HubSpotSearchPage(
            records: records, total: Int(answer["total"]?.intValue ?? 0), next: next,
            highWaterMark: max(newest ?? cursor.modifiedSince, cursor.modifiedSince))
    }

    /// HubSpot date properties: ISO 8601, or unix milliseconds.
    static func milliseconds(_ text: String) -> Int64? {
        if let number = Int64(text) { return number }
        return HubSpotTime.parse(text).map(HubSpotTime.milliseconds)
    }

    // MARK: Associations

    /// Associates two records with the given types (`PUT …/objects/{from}/{id}/associations/{to}/{toId}`).
    package func associate(
        _ from: HubSpotObjectType, _ fromID: String, to: HubSpotObjectType, _ toID: String,
        types: [HubSpotAssociationType], logger: Logger
    ) async throws(HubSpotAPIError) {
        let body = JSONValue.array(
            types.map { ["associationCategory": .string($0.category), "associationTypeId": .int(Int64($0.typeID))] })
        _ = try await send(
            .PUT, associationsPath("objects", from.name, fromID, "associations", to.name, toID), body: body, type: from,
            logger: logger)
    }

    /// Associates two records with the default (unlabelled) type
    /// (`PUT …/objects/{from}/{id}/associations/default/{to}/{toId}`).
    package func associateDefault(
        _ from: HubSpotObjectType, _ fromID: String, to: HubSpotObjectType, _ toID: String, logger: Logger
    ) async throws(HubSpotAPIError) {
        _ = try await send(
            .PUT, associationsPath("objects", from.name, fromID, "associations", "default", to.name, toID), body: nil,
            type: from, logger: logger)
    }

    /// Creates many associations (`POST …/associations/{from}/{to}/batch/create`), split into calls of `batchSize`.
    /// Returns the inputs HubSpot reported as failed (their error messages).
    @discardableResult
    package func batchAssociate(
        _ from: HubSpotObjectType, to: HubSpotObjectType, _ inputs: [HubSpotAssociationInput], logger: Logger
    ) async throws(HubSpotAPIError) -> [HubSpotBatchError] {
        var errors: [HubSpotBatchError] = []
        for chunk in inputs.chunked(configuration.batchSize) {
            let body: JSONValue = [
                "inputs": .array(
                    chunk.map { input in
                        [
                            "from": ["id": .string(input.fromID)], "to": ["id": .string(input.toID)],
                            "types": .array(
                                input.types.map {
                                    [
                                        "associationCategory": .string($0.category),
                                        "associationTypeId": .int(Int64($0.typeID)),
                                    ]
                                }),
                        ]
                    })
            ]
            let answer = try await send(
                .POST, associationsPath("associations", from.name, to.name, "batch", "create"), body: body, type: from,
                logger: logger)
            errors.append(contentsOf: HubSpotBatchResult.errors(in: answer))
        }
        return errors
    }

    /// The ids of the `to` records associated with each `from` record (`POST {assoc}/associations/{from}/{to}/batch/read`),
    /// following each record's `paging.next.after`. A record without associations is absent from HubSpot's results
    /// (and may be named in `errors`): it maps to no ids.
    package func batchReadAssociations(
        from: HubSpotObjectType, to: HubSpotObjectType, ids: [String], logger: Logger
    ) async throws(HubSpotAPIError) -> [String: [String]] {
        var result: [String: [String]] = [:]
        var pending: [(id: String, after: String?)] = ids.map { ($0, nil) }
        while !pending.isEmpty {
            let chunk = Array(pending.prefix(configuration.batchSize))
            pending.removeFirst(chunk.count)
            let body: JSONValue = [
                "inputs": .array(
                    chunk.map { input in
                        var object: [String: JSONValue] = ["id": .string(input.id)]
                        if let after = input.after { object["after"] = .string(after) }
                        return .object(object)
                    })
            ]
            let answer = try await send(
                .POST, associationsPath("associations", from.name, to.name, "batch", "read"), body: body, type: from,
                logger: logger)
            for item in answer["results"]?.arrayValue ?? [] {
                guard let fromID = Self.idText(item["from"]?["id"]) else { continue }
                let toIDs = (item["to"]?.arrayValue ?? []).compactMap { Self.idText($0["toObjectId"]) }
                result[fromID, default: []].append(contentsOf: toIDs)
                if let after = item["paging"]?["next"]?["after"]?.stringValue { pending.append((fromID, after)) }
            }
        }
        return result
    }

    /// An id HubSpot sends as a string or a number.
    static func idText(_ value: JSONValue?) -> String? {
        value?.stringValue ?? value?.intValue.map(String.init)
    }

    // MARK: Transport

    private func objectsPath(_ type: HubSpotObjectType, _ rest: String...) -> String {
        ([configuration.objectsPath, type.name] + rest).joined(separator: "/")
    }

    private func associationsPath(_ parts: String...) -> String {
        ([configuration.associationsPath] + parts.map(Self.encodeSegment)).joined(separator: "/")
    }

    private static func encodeSegment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/")))
            ?? text
    }

    private static func properties(_ values: [String: String?]) -> JSONValue {
        .object(values.mapValues { $0.map(JSONValue.string) ?? .string("") })
    }

    /// Calls `path` and parses the JSON answer (`.null` for an empty body). 2xx (200, 201, 204 and 207) succeed.
    func send(
        _ method: HTTPMethod, _ path: String, body: JSONValue?, type: HubSpotObjectType?, logger: Logger
    ) async throws(HubSpotAPIError) -> JSONValue {
        var headers: HTTPHeaders = [
            "Authorization": "Bearer \(configuration.accessToken)", "Accept": "application/json",
            "User-Agent": "weft-hubspot/1",
        ]
        if body != nil { headers.add(name: "Content-Type", value: "application/json") }
        let request = OutboundHTTPRequest(
            method: method, url: configuration.baseURL + path, headers: headers, body: body.map { Array($0.serialized()) },
            timeout: configuration.requestTimeout)
        let response: OutboundHTTPResponse
        do {
            response = try await http.send(request, logger: logger)
        } catch {
            throw HubSpotAPIError(kind: error.isCancellation ? .cancelled : .transport, message: error.message)
        }
        guard (200..<300).contains(response.status) else {
            let error = HubSpotAPIError.from(response, method: method.rawValue, path: path, objectType: type?.name)
            if error.kind == .rateLimited { http.gate.didReceiveRateLimit(retryAfter: error.retryAfter) }
            throw error
        }
        if response.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return .null }
        do {
            return try JSONValue.parse(Data(response.body))
        } catch {
            throw HubSpotAPIError(
                kind: .invalidResponse, message: "HubSpot answered \(method.rawValue) \(path) with a body that is not JSON",
                status: response.status)
        }
    }
}

extension Array {
    fileprivate func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: Swift.max(1, size)).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
