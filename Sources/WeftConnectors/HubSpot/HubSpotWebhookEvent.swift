public import Foundation
import WeftCore

/// One event of a HubSpot webhook request (the body is a JSON array of up to 100 of these).
///
/// `eventId` is the dedupe key: HubSpot may deliver an event more than once and in any order (order by
/// `occurredAt`).
public struct HubSpotWebhookEvent: Sendable, Hashable {
    /// The event's id: the dedupe key.
    public var eventID: Int64
    /// The subscription that matched.
    public var subscriptionID: Int64?
    /// The HubSpot account (hub) id.
    public var portalID: Int64?
    /// The app id.
    public var appID: Int64?
    /// When the change happened.
    public var occurredAt: Date
    /// `deal.propertyChange`, `contact.creation`, `company.merge`, `deal.associationChange`…
    public var subscriptionType: String
    /// 0 for the first attempt, then 1, 2… on retries.
    public var attemptNumber: Int
    /// The record changed (absent on `associationChange` events).
    public var objectID: Int64?
    /// For `propertyChange`: the property and its new value.
    public var propertyName: String?
    public var propertyValue: String?
    /// Where the change came from (`CRM_UI`, `INTEGRATION`, `API`, `IMPORT`…), and who (`userId:123`, an app id…):
    /// the way to recognise Weft's own writes coming back.
    public var changeSource: String?
    public var sourceID: String?
    /// For `merge`: the record given priority (its values win) and the ones merged into it. Since HubSpot's 2024
    /// change to contact and company merges, both are archived and a new record (`newObjectID`) holds the result.
    public var primaryObjectID: Int64?
    public var mergedObjectIDs: [Int64]
    /// For `merge`: the record the merge created, when it created one.
    public var newObjectID: Int64? = nil
    /// For `associationChange`: the two records, the association (`CONTACT_TO_COMPANY`) and whether it was removed.
    public var fromObjectID: Int64?
    public var toObjectID: Int64?
    public var associationType: String?
    public var associationRemoved: Bool?

    /// The object type of the subscription (`deal`, `contact`, `company`, `line_item`…).
    public var objectType: String { String(subscriptionType.prefix { $0 != "." }) }
    /// The change (`creation`, `propertyChange`, `deletion`, `merge`, `associationChange`, `restore`…).
    public var change: String {
        guard let dot = subscriptionType.firstIndex(of: ".") else { return "" }
        return String(subscriptionType[subscriptionType.index(after: dot)...])
    }

    /// For `merge`: the record that holds the merged data from now on — `newObjectId` when the merge created a
    /// record (contacts and companies since HubSpot's 2024 change, other objects before), else `primaryObjectId`,
    /// else `objectId`. `nil` for other events.
    public var survivingObjectID: Int64? {
        guard change == "merge" else { return nil }
        return newObjectID ?? primaryObjectID ?? objectID
    }

    /// For `merge`: every id that now leads to `survivingObjectID` (the primary and the merged records), without it,
    /// the primary first: its ERP record is the one the survivor keeps.
    public var retiredObjectIDs: [Int64] {
        guard let surviving = survivingObjectID else { return [] }
        var seen: Set<Int64> = [surviving]
        return ([primaryObjectID, objectID].compactMap { $0 } + mergedObjectIDs.sorted()).filter { seen.insert($0).inserted }
    }

    /// Parses a webhook body: a JSON array of events. Events without an `eventId`, `subscriptionType` or
    /// `occurredAt` make the whole body malformed.
    public static func parse(_ body: some DataProtocol) throws(HubSpotWebhookError) -> [HubSpotWebhookEvent] {
        guard let json = try? JSONValue.parse(Data(body)), let items = json.arrayValue else {
            throw HubSpotWebhookError(code: .malformedPayload)
        }
        var events: [HubSpotWebhookEvent] = []
        for item in items {
            guard let event = HubSpotWebhookEvent(json: item) else { throw HubSpotWebhookError(code: .malformedPayload) }
            events.append(event)
        }
        return events
    }

    /// Parses one event as stored in the inbox: a single JSON object of a webhook body.
    public static func parseEvent(_ payload: some DataProtocol) throws(HubSpotWebhookError) -> HubSpotWebhookEvent {
        guard let json = try? JSONValue.parse(Data(payload)), let event = HubSpotWebhookEvent(json: json) else {
            throw HubSpotWebhookError(code: .malformedPayload)
        }
        return event
    }

    /// An id sent as a number or a string of digits.
    fileprivate static func id(_ value: JSONValue?) -> Int64? {
        value?.intValue ?? value?.stringValue.flatMap { Int64($0) }
    }

    /// Drops events whose `eventId` was seen earlier in the list (a request can repeat one on redelivery), keeping
    /// the first.
    public static func deduplicated(_ events: [HubSpotWebhookEvent]) -> [HubSpotWebhookEvent] {
        var seen: Set<Int64> = []
        return events.filter { seen.insert($0.eventID).inserted }
    }

    fileprivate static func text(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let text)?: text
        case .int(let number)?: String(number)
        case .double(let number)?: String(number)
        case .bool(let flag)?: flag ? "true" : "false"
        default: nil
        }
    }
}

extension HubSpotWebhookEvent {
    /// One event object; `nil` without `eventId`, `subscriptionType` or `occurredAt`.
    init?(json item: JSONValue) {
        guard let eventID = item["eventId"]?.intValue, let type = item["subscriptionType"]?.stringValue,
            let occurredAt = item["occurredAt"]?.intValue
        else { return nil }
        self.init(
            eventID: eventID, subscriptionID: item["subscriptionId"]?.intValue, portalID: item["portalId"]?.intValue,
            appID: item["appId"]?.intValue, occurredAt: Date(timeIntervalSince1970: Double(occurredAt) / 1000),
            subscriptionType: type, attemptNumber: Int(item["attemptNumber"]?.intValue ?? 0),
            objectID: item["objectId"]?.intValue, propertyName: item["propertyName"]?.stringValue,
            propertyValue: Self.text(item["propertyValue"]), changeSource: item["changeSource"]?.stringValue,
            sourceID: Self.text(item["sourceId"]), primaryObjectID: Self.id(item["primaryObjectId"]),
            mergedObjectIDs: (item["mergedObjectIds"]?.arrayValue ?? []).compactMap { Self.id($0) },
            newObjectID: Self.id(item["newObjectId"]), fromObjectID: item["fromObjectId"]?.intValue,
            toObjectID: item["toObjectId"]?.intValue, associationType: item["associationType"]?.stringValue,
            associationRemoved: item["associationRemoved"]?.boolValue)
    }
}
