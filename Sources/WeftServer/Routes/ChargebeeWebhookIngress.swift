import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
public import WeftConnectors
public import WeftCore
public import WeftRuntime

/// `POST /hooks/<system>` for a Chargebee site: check the Basic-auth credentials set on the webhook (Chargebee signs
/// nothing), parse the event, append it to the inbox in one durable (group-committed) write, and only then answer 2xx.
///
/// | case | answer | stored |
/// |---|---|---|
/// | new event | 200 `{"received":true,"duplicate":false}` | yes |
/// | same `ev_` id again | 200 `{"received":true,"duplicate":true}` | nothing new |
/// | missing, malformed or wrong `Authorization: Basic` | 401 + `WWW-Authenticate: Basic` | nothing |
/// | body not a Chargebee event | 400 | nothing |
/// | body over the limit | 413 | nothing |
/// | store unavailable | 503 + `Retry-After` (Chargebee retries: 2 m, 6 m, 30 m, …) | nothing |
///
/// The credentials are checked before the body is read, in constant time over every configured pair; they are never
/// stored or logged.
public struct ChargebeeWebhookIngress: WebhookRoutes {
    public var system: SystemName { intake.system }
    let authenticator: ChargebeeWebhookAuthenticator
    let intake: WebhookIntake

    /// - Parameters:
    ///   - system: the configured name of the Chargebee system (the path is `/hooks/<system>`).
    ///   - authenticator: the accepted Basic-auth credentials.
    ///   - store: where events are appended.
    ///   - maxBodyBytes: larger bodies are refused with 413.
    ///   - events: rung when an event is stored.
    ///   - logger: for rejections (info) and acceptances (debug); never sees credentials or payloads.
    public init(
        system: SystemName, authenticator: ChargebeeWebhookAuthenticator, store: any Store, maxBodyBytes: Int,
        events: Doorbell, logger: Logger,
        ingest: IngestActivity? = nil
    ) {
        self.authenticator = authenticator
        self.intake = WebhookIntake(
            system: system, store: store, maxBodyBytes: maxBodyBytes, events: events, logger: logger, ingest: ingest)
    }

    /// Adds the route to `router`.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("/hooks/\(system.rawValue)") { request, _ in
            try await intake.handle(request, accept)
        }
    }

    func accept(_ request: Request) async throws -> Response {
        do {
            try authenticator.authenticate(authorization: request.headers[.authorization])
        } catch {
            throw APIError(
                .unauthorized, code: "bad_credentials",
                message: "\(error). Check that the user name and password of the webhook in Chargebee are the ones "
                    + "configured for \(system) (webhook_username, webhook_password_env).",
                headers: [.wwwAuthenticate: #"Basic realm="weft", charset="UTF-8""#])
        }
        let body = try await intake.body(of: request)
        let receivedAt = Date()
        let envelope: ChargebeeEventEnvelope
        do {
            envelope = try ChargebeeEventEnvelope.parse(body, system: system)
        } catch {
            throw APIError(.badRequest, code: "malformed_event", message: "the body is not a Chargebee event: \(error)")
        }
        return try await intake.acknowledge([
            envelope.incomingEvent(system: system, payload: body, receivedAt: receivedAt, traceID: TraceID.random())
        ])
    }
}
