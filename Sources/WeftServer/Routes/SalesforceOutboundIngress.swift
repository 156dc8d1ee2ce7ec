import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
import WeftConnectors
public import WeftCore
public import WeftRuntime

/// `POST /hooks/<salesforce system>`: Salesforce Outbound Messages, each a SOAP 1.1 `notifications` call with up to
/// 100 notifications from the configured org.
///
/// Every notification is stored (deduplicated by its notification `Id`) in one durable write before the answer; the
/// records they name are then read whole by the opportunity feed (`SalesforceOpportunityFeed`), which it is told about
/// and woken for. Salesforce retries every message that is not acknowledged, for 24 hours; so only a stored message is
/// acknowledged, and every refusal is a SOAP fault.
///
/// | case | answer | stored |
/// |---|---|---|
/// | notifications of the configured org | 200 with the `notificationsResponse` `Ack` true | the new ones |
/// | another org's `OrganizationId` | 403 SOAP fault (`soapenv:Client`) | nothing |
/// | not a SOAP `notifications` envelope | 400 SOAP fault (`soapenv:Client`) | nothing |
/// | body over the limit | 413 SOAP fault | nothing |
/// | store unavailable | 503 SOAP fault (`soapenv:Server`) + `Retry-After`; Salesforce retries | nothing |
///
/// The org id is a routing check, not authentication (org ids are not secret): secure the endpoint with HTTPS and a
/// long random path, Salesforce's client certificate or an IP allow-list (docs/connectors/salesforce.md).
public struct SalesforceOutboundIngress: WebhookRoutes {
    public var system: SystemName { intake.system }
    /// The org whose messages are accepted (15 or 18 characters).
    let organizationID: String
    let feed: SalesforceOpportunityFeed?
    /// With accounts synced: the Account feed, told about Account and Contact messages too.
    let accountFeed: SalesforceAccountFeed?
    let intake: WebhookIntake

    public init(
        system: SystemName, organizationID: String, feed: SalesforceOpportunityFeed?, accountFeed: SalesforceAccountFeed? = nil,
        store: any Store, maxBodyBytes: Int, events: Doorbell, logger: Logger,
        ingest: IngestActivity? = nil
    ) {
        self.organizationID = organizationID
        self.feed = feed
        self.accountFeed = accountFeed
        self.intake = WebhookIntake(
            system: system, store: store, maxBodyBytes: maxBodyBytes, events: events, logger: logger, ingest: ingest)
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("/hooks/\(system.rawValue)") { request, _ in
            do {
                return try await intake.handle(request, accept)
            } catch let error as APIError {
                return Self.fault(error)
            }
        }
    }

    func accept(_ request: Request) async throws -> Response {
        let body = try await intake.body(of: request)
        let message: SalesforceOutboundMessage
        do {
            message = try SalesforceOutboundMessage.parse(body)
        } catch {
            throw APIError(.badRequest, code: "malformed_message", message: "\(error)")
        }
        do {
            try message.verify(organizationID: organizationID)
        } catch {
            throw APIError(
                .forbidden, code: error.code.description,
                message: "\(error). Check that the Outbound Message belongs to the org configured as "
                    + "systems.\(system).organization_id.")
        }
        let receivedAt = Date()
        var seen: Set<String> = []
        var incoming: [IncomingEvent] = []
        var named: [String: [String]] = [:]
        for notification in message.notifications where seen.insert(notification.id).inserted {
            incoming.append(
                IncomingEvent(
                    system: system, eventID: SourceEventID(notification.id),
                    type: SalesforceEventDecoder.outboundEventType(notification.objectType),
                    entityKey: Self.entityKey(notification, system: system),
                    occurredAt: (notification["SystemModstamp"] ?? notification["LastModifiedDate"]).flatMap(SalesforceTime.parse)
                        ?? receivedAt,
                    receivedAt: receivedAt, payload: Self.payload(notification, of: message), traceID: .random()))
            if let id = notification.recordID { named[notification.objectType, default: []].append(id) }
        }
        _ = try await intake.append(incoming)
        for (type, ids) in named {
            feed?.hint(type, ids: ids)
            accountFeed?.hint(type, ids: ids)
        }
        return Response(
            status: .ok, headers: [.contentType: SalesforceOutboundMessage.responseContentType],
            body: .init(byteBuffer: ByteBuffer(string: SalesforceOutboundMessage.ackResponse)))
    }

    /// Opportunity notifications under the deal (`<system>/deal/<id>`), the others under their record
    /// (`<system>/Account/<id>`), so notifications of one record are processed in order.
    static func entityKey(_ notification: SalesforceOutboundNotification, system: SystemName) -> EntityKey {
        let id = notification.recordID ?? notification.id
        if notification.objectType == "Opportunity" { return EntityKey.of(ExternalRef(system: system, kind: .deal, id: id)) }
        return EntityKey("\(system)/\(notification.objectType)/\(id)")
    }

    /// What is stored of a notification: `{"organizationId","actionId","notificationId","sObject","recordId","fields"}`
    /// (never the session id).
    static func payload(_ notification: SalesforceOutboundNotification, of message: SalesforceOutboundMessage) -> Data {
        let object: JSONValue = [
            "organizationId": .string(message.organizationID), "actionId": .string(message.actionID),
            "notificationId": .string(notification.id), "sObject": .string(notification.objectType),
            "recordId": notification.recordID.map(JSONValue.string) ?? .null, "fields": .object(notification.fields),
        ]
        return Data(object.serialized())
    }

    /// A refusal as a SOAP 1.1 fault with the error's status and headers (`Retry-After` for 503).
    static func fault(_ error: APIError) -> Response {
        var headers = error.headers
        headers[.contentType] = SalesforceOutboundMessage.responseContentType
        let body = SalesforceOutboundMessage.faultResponse(
            "\(error.code): \(error.message)", client: error.status.code < 500)
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
