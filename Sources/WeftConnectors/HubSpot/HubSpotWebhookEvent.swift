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
    /// For `merge`: the surviving record and the ones merged into it.
    public var primaryObjectID: Int64?
    public var mergedObjectIDs: [Int64]
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

    /// Parses a webhook body: a JSON array of events. Events without an `eventId`, `subscriptionType` or
    /// `occurredAt` make the whole body malformed.
    public static func parse(_ body: some DataProtocol) throws(HubSpotWebhookError) -> [HubSpotWebhookEvent] {
        guard let json = try? JSONValue.parse(Data(body)), let items = json.arrayValue else {
            throw HubSpotWebhookError(code: .malformedPayload)
        }
        var events: [HubSpotWebhookEvent] = []
        for item in items {
            guard let eventID = item["eventId"]?.intValue, let type = item["subscriptionType"]?.stringValue,
                let occurredAt = item["occurredAt"]?.intValue
            else { throw HubSpotWebhookError(code: .malformedPayload) }
            events.append(
                HubSpotWebhookEvent(
                    eventID: eventID, subscriptionID: item["subscriptionId"]?.intValue, portalID: item["portalId"]?.intValue,
                    appID: item["appId"]?.intValue, occurredAt: Date(timeIntervalSince1970: Double(occurredAt) / 1000),
                    subscriptionType: type, attemptNumber: Int(item["attemptNumber"]?.intValue ?? 0),
                    objectID: item["objectId"]?.intValue, propertyName: item["propertyName"]?.stringValue,
                    propertyValue: text(item["propertyValue"]), changeSource: item["changeSource"]?.stringValue,
                    sourceID: text(item["sourceId"]), primaryObjectID: item["primaryObjectId"]?.intValue,
                    mergedObjectIDs: (item["mergedObjectIds"]?.arrayValue ?? []).compactMap(\.intValue),
                    fromObjectID: item["fromObjectId"]?.intValue, toObjectID: item["toObjectId"]?.intValue,
                    associationType: item["associationType"]?.stringValue,
                    associationRemoved: item["associationRemoved"]?.boolValue))
        }
        return events
    }

    /// Drops events whose `eventId` was seen earlier in the list (a request can repeat one on redelivery), keeping
    /// the first.
    public static func deduplicated(_ events: [HubSpotWebhookEvent]) -> [HubSpotWebhookEvent] {
        var seen: Set<Int64> = []
        return events.filter { seen.insert($0.eventID).inserted }
    }

    private static func text(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let text)?: text
        case .int(let number)?: String(number)
        case .double(let number)?: String(number)
        case .bool(let flag)?: flag ? "true" : "false"
        default: nil
        }
    }
}
