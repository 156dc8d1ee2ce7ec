import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
public import WeftConnectors
public import WeftCore
public import WeftRuntime

/// `POST /hooks/<desk system>`: ticket events from Zendesk (signed: `X-Zendesk-Webhook-Signature` over timestamp +
/// body) or Freshdesk (an automation rule's shared-secret header; Freshdesk signs nothing). The ticket is filed under
/// the billing account its organisation or company shows (the binding Weft recorded when it delivered the account
/// there), so the account lists its tickets beside its invoices and payments (`GET /v1/accounts/…`).
///
/// | case | answer | stored |
/// |---|---|---|
/// | new ticket event | 200 `{"received":true,"duplicate":false}` | yes |
/// | the same event again | 200 `{"received":true,"duplicate":true}` | nothing new |
/// | bad or missing signature / secret | 401 | nothing |
/// | not a ticket event | 400 | nothing |
/// | body over the limit | 413 | nothing |
/// | store unavailable | 503 + `Retry-After` | nothing |
///
/// A ticket of an organisation Weft has not bound to an account is kept under that organisation
/// (`<desk>/organization/<id>`), not lost.
public struct DeskWebhookIngress: WebhookRoutes {
    public enum Authentication: Sendable {
        case zendesk(ZendeskWebhookVerifier)
        case freshdesk(FreshdeskWebhookAuthenticator)
    }

    public var system: SystemName { intake.system }
    let desk: DeskTicket.Desk
    let authentication: Authentication
    let filing: DeskTicketFiling
    let intake: WebhookIntake

    public init(
        system: SystemName, authentication: Authentication, store: any Store, billingSystems: Set<SystemName>,
        maxBodyBytes: Int, events: Doorbell, logger: Logger,
        ingest: IngestActivity? = nil
    ) {
        self.authentication = authentication
        switch authentication {
        case .zendesk: self.desk = .zendesk
        case .freshdesk: self.desk = .freshdesk
        }
        self.filing = DeskTicketFiling(system: system, desk: desk, store: store, billingSystems: billingSystems)
        self.intake = WebhookIntake(
            system: system, store: store, maxBodyBytes: maxBodyBytes, events: events, logger: logger, ingest: ingest)
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("/hooks/\(system.rawValue)") { request, _ in
            try await intake.handle(request, accept)
        }
    }

    func accept(_ request: Request) async throws -> Response {
        let body: Data
        switch authentication {
        case .freshdesk(let authenticator):
            // The secret is checked before the body is read.
            do {
                try authenticator.authenticate(
                    headerValue: HTTPField.Name(authenticator.headerName).flatMap { request.headers[$0] })
            } catch {
                throw APIError(
                    .unauthorized, code: "bad_secret",
                    message: "\(error). Send the secret configured for \(system) in the \(authenticator.headerName) header "
                        + "of the automation rule's webhook.")
            }
            body = try await intake.body(of: request)
        case .zendesk(let verifier):
            body = try await intake.body(of: request)
            do {
                _ = try verifier.verify(
                    payload: body,
                    signature: HTTPField.Name(ZendeskWebhookVerifier.signatureHeader).flatMap { request.headers[$0] },
                    timestamp: HTTPField.Name(ZendeskWebhookVerifier.timestampHeader).flatMap { request.headers[$0] },
                    now: Date())
            } catch {
                let fix =
                    error.code == .tooOld
                    ? WebhookIntake.staleTimestampFix(system)
                    : "Check that the webhook's signing secret in Zendesk is the one configured for \(system)."
                throw APIError(.unauthorized, code: "bad_signature", message: "\(error). \(fix)")
            }
        }
        let receivedAt = Date()
        let ticket: DeskTicket
        do {
            ticket = try DeskTicket.parse(body, desk: desk, receivedAt: receivedAt)
        } catch let error as ZendeskTicketEventError where error.otherEventType != nil {
            // A webhook subscribed to more than ticket events: acknowledged and left, not refused, since Zendesk
            // deactivates a webhook most of whose deliveries fail, and the ticket events would go with it.
            let type = error.otherEventType ?? ""
            intake.logger.info(
                "webhook ignored: not a ticket event", metadata: ["weft.system": "\(system)", "weft.event.type": "\(type)"])
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(
                    byteBuffer: ByteBuffer(
                        bytes: JSONValue.object([
                            "ignored": .string(
                                "\(type) is not a ticket event; subscribe the webhook to zen:event-type:ticket.* events only")
                        ]).serialized())))
        } catch {
            throw APIError(.badRequest, code: "malformed_event", message: "the body is not a \(desk.rawValue) ticket event: \(error)")
        }
        let traceID = TraceID.random()
        // Filing reads the store (which account the ticket's organisation is bound to): if it cannot answer, the
        // delivery is refused as a failed write is, 503 with Retry-After, so that the desk sends it again.
        let entityKey: EntityKey
        do {
            entityKey = try await filing.entityKey(organization: ticket.organizationID)
        } catch {
            throw intake.storeFailed(traceID: traceID, error)
        }
        return try await intake.acknowledge([
            IncomingEvent(
                system: system, eventID: SourceEventID(ticket.eventID), type: DeskTicket.webhookEventType, entityKey: entityKey,
                occurredAt: ticket.updatedAt ?? receivedAt, receivedAt: receivedAt, payload: body, traceID: traceID)
        ])
    }
}
