import WeftCore

/// One upsert input: the unique property, its value, and the properties to write (`nil` clears one).
package struct HubSpotUpsertInput: Sendable, Hashable {
    package var idProperty: String
    package var id: String
    package var properties: [String: String?]

    package init(idProperty: String, id: String, properties: [String: String?]) {
        self.idProperty = idProperty
        self.id = id
        self.properties = properties
    }
}

/// One update input: the record id (or the value of `idProperty`) and the properties to write.
package struct HubSpotUpdateInput: Sendable, Hashable {
    package var id: String
    package var idProperty: String?
    package var properties: [String: String?]

    package init(id: String, idProperty: String? = nil, properties: [String: String?]) {
        self.id = id
        self.idProperty = idProperty
        self.properties = properties
    }
}

/// One association to create in a batch.
package struct HubSpotAssociationInput: Sendable, Hashable {
    package var fromID: String
    package var toID: String
    package var types: [HubSpotAssociationType]

    package init(fromID: String, toID: String, types: [HubSpotAssociationType]) {
        self.fromID = fromID
        self.toID = toID
        self.types = types
    }
}

/// A failed part of a batch (HubSpot's `errors` in a 207).
package struct HubSpotBatchError: Sendable, Hashable {
    package var category: String
    package var message: String
    /// The ids the error concerns (`context.ids`), when HubSpot says.
    package var ids: [String]
}

/// The records a batch returned and the parts that failed.
package struct HubSpotBatchResult: Sendable, Hashable {
    package var records: [HubSpotRecord] = []
    package var errors: [HubSpotBatchError] = []

    package init() {}

    mutating func append(_ answer: JSONValue) {
        records.append(contentsOf: (answer["results"]?.arrayValue ?? []).compactMap(HubSpotRecord.init(json:)))
        errors.append(contentsOf: Self.errors(in: answer))
    }

    static func errors(in answer: JSONValue) -> [HubSpotBatchError] {
        (answer["errors"]?.arrayValue ?? []).map { error in
            HubSpotBatchError(
                category: error["category"]?.stringValue ?? "UNKNOWN", message: error["message"]?.stringValue ?? "",
                ids: (error["context"]?["ids"]?.arrayValue ?? []).compactMap(\.stringValue))
        }
    }
}

/// Where an incremental search stands: records modified at or after `modifiedSince` (unix ms), from offset `after`.
package struct HubSpotSearchCursor: Sendable, Hashable, Codable {
    /// The search API returns at most this many results for one query.
    package static let resultCeiling = 10_000

    package var modifiedSince: Int64
    package var after: Int?

    package init(modifiedSince: Int64, after: Int? = nil) {
        self.modifiedSince = modifiedSince
        self.after = after
    }
}

/// One page of an incremental search.
package struct HubSpotSearchPage: Sendable, Hashable {
    package var records: [HubSpotRecord]
    /// HubSpot's `total` for the query.
    package var total: Int
    /// The next page, `nil` when caught up.
    package var next: HubSpotSearchCursor?
    /// The newest modification time seen (unix ms): the next poll starts here.
    package var highWaterMark: Int64
}
