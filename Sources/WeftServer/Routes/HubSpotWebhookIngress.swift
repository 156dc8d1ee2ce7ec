import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
public import WeftConnectors
public import WeftCore
public import WeftRuntime

/// `POST /hooks/<hubspot system>`: HubSpot's webhook requests, each a JSON array of up to 100 events, signed with
/// the v3 scheme over the URL HubSpot called (`webhookURL`).
///
/// Every event is stored (deduplicated by `eventId`) in one durable write before the answer; the records they name
/// are then read whole by the deal feed (`HubSpotDealFeed`), which it is told about and woken for.
///
/// | case | answer | stored |
/// |---|---|---|
/// | signed array of events | 200 `{"received":true,"stored":n,"duplicates":m}` | the new ones |
/// | bad, missing or v1/v2-only signature, timestamp outside 5 min | 401 | nothing |
/// | not a JSON array of events | 400 | nothing |
/// | body over the limit | 413 | nothing |
/// | store unavailable | 503 + `Retry-After` (HubSpot retries 5xx) | nothing |
public struct HubSpotWebhookIngress: WebhookRoutes {
    public var system: SystemName { intake.system }
    let verifier: HubSpotWebhookVerifier
    /// The URL HubSpot calls, as configured in the app (the signature covers it; behind a proxy it is not what Weft
    /// sees); `nil`: rebuilt from the request.
    let webhookURL: String?
    let feed: HubSpotDealFeed?
    /// With accounts synced: the company feed, told about company and contact changes too.
    let accountFeed: HubSpotAccountFeed?
    let intake: WebhookIntake

    public init(
        system: SystemName, verifier: HubSpotWebhookVerifier, webhookURL: String?, feed: HubSpotDealFeed?,
        accountFeed: HubSpotAccountFeed? = nil, store: any Store, maxBodyBytes: Int, events: Doorbell, logger: Logger,
        ingest: IngestActivity? = nil
    ) {
        self.verifier = verifier
        self.webhookURL = webhookURL
        self.feed = feed
        self.accountFeed = accountFeed
        self.intake = WebhookIntake(
            system: system, store: store, maxBodyBytes: maxBodyBytes, events: events, logger: logger, ingest: ingest)
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("/hooks/\(system.rawValue)") { request, _ in
            try await intake.handle(request, accept)
        }
    }

    func accept(_ request: Request) async throws -> Response {
        let body = try await intake.body(of: request)
        func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { request.headers[$0] } }
        let query = request.uri.query.map { "?" + $0 } ?? ""
        let uri =
            webhookURL.map { $0 + query }
            ?? "\(header("X-Forwarded-Proto") ?? "http")://\(request.head.authority ?? header("Host") ?? "")\(request.uri.path)\(query)"
        do {
            try verifier.verify(
                method: request.method.rawValue, uri: uri, body: body,
                signature: header("X-HubSpot-Signature-v3"), timestamp: header("X-HubSpot-Request-Timestamp"),
                legacySignature: header("X-HubSpot-Signature"), now: Date())
        } catch {
            let fix =
                error.code == .tooOld
                ? WebhookIntake.staleTimestampFix(system)
                : "Check that the app's client secret is the one configured for \(system) and that "
                    + "systems.\(system).webhook_url is the target URL set in the app."
            throw APIError(.unauthorized, code: error.code.description, message: "\(error). \(fix)")
        }
        let parsed: [HubSpotWebhookEvent]
        let items: [JSONValue]
        do {
            parsed = try HubSpotWebhookEvent.parse(body)
            items = try JSONValue.parse(body).arrayValue ?? []
        } catch {
            throw APIError(.badRequest, code: "malformed_event", message: "\(error)")
        }
        let receivedAt = Date()
        var seen: Set<Int64> = []
        var incoming: [IncomingEvent] = []
        for (event, item) in zip(parsed, items) where seen.insert(event.eventID).inserted {
            incoming.append(
                IncomingEvent(
                    system: system, eventID: SourceEventID(String(event.eventID)),
                    type: HubSpotEventDecoder.webhookEventType(event.subscriptionType), entityKey: Self.entityKey(event, system: system),
                    occurredAt: event.occurredAt, receivedAt: receivedAt, payload: Data(item.serialized()), traceID: .random()))
        }
        let (stored, duplicates) = try await intake.append(incoming)
        if feed != nil || accountFeed != nil {
            var named: [HubSpotObjectType: [String]] = [:]
            for event in parsed {
                guard let type = Self.objectType(event.objectType) else { continue }
                let ids = [event.objectID, event.primaryObjectID, event.fromObjectID].compactMap { $0 }.map(String.init)
                named[type, default: []].append(contentsOf: ids)
            }
            for (type, ids) in named {
                feed?.hint(type, ids: ids)
                accountFeed?.hint(type, ids: ids)
            }
        }
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: #"{"received":true,"stored":\#(stored),"duplicates":\#(duplicates)}"#)))
    }

    /// Deal events under the deal (`hubspot/deal/<id>`), company events under the account (`hubspot/account/<id>`; a
    /// merge under the company that survives it, whose account records it), the others under their record, so events
    /// of one record are processed in order.
    static func entityKey(_ event: HubSpotWebhookEvent, system: SystemName) -> EntityKey {
        let id = event.objectID ?? event.primaryObjectID ?? event.fromObjectID ?? 0
        if event.objectType == "deal" { return EntityKey.of(ExternalRef(system: system, kind: .deal, id: String(id))) }
        if event.objectType == "company" {
            let survivor = event.change == "merge" ? (event.survivingObjectID ?? id) : id
            return EntityKey.of(ExternalRef(system: system, kind: .account, id: String(survivor)))
        }
        return EntityKey("\(system)/\(event.objectType)/\(id)")
    }

    static func objectType(_ name: String) -> HubSpotObjectType? {
        switch name {
        case "deal": .deals
        case "company": .companies
        case "contact": .contacts
        case "line_item": .lineItems
        default: nil
        }
    }
}
