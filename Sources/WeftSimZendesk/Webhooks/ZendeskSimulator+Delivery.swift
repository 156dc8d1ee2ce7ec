import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import WeftSimKit

extension ZendeskSimulator {
    /// The longest `Retry-After` (seconds) of a 429 or 503 that Zendesk still retries (its docs say "short").
    static let shortRetryAfter = 60

    /// Queues one request per event and subscribed endpoint.
    func enqueue(_ events: [PendingEvent], at now: Int) {
        let endpoints = configuration.webhooks.endpoints
        guard !endpoints.isEmpty else { return }
        queue.withLock { queue in
            for event in events {
                let id = queue.makeEventID()
                let body: JSON = .object(
                    JSONObject([
                        ("type", .string(event.type)),
                        ("account_id", .int(configuration.accountID)),
                        ("id", .string(id)),
                        ("time", .string(Timestamps.iso8601(now))),
                        ("zendesk_event_version", "2022-11-06"),
                        ("subject", .string(event.subject)),
                        ("detail", event.detail),
                        ("event", event.event),
                    ]))
                let bytes = body.bytes
                for endpoint in endpoints where endpoint.events.isEmpty || endpoint.events.contains(event.type) {
                    queue.push(
                        WebhookJob(eventID: id, eventType: event.type, endpointID: endpoint.id, body: bytes, attempt: 1))
                }
            }
        }
        wakeContinuation.yield()
    }

    /// Makes one attempt; returns the next attempt when this one failed in a way Zendesk retries and attempts remain.
    func deliver(_ job: WebhookJob) async -> WebhookJob? {
        guard let endpoint = configuration.webhooks.endpoints.first(where: { $0.id == job.endpointID }) else { return nil }
        let timestamp = Timestamps.iso8601(now)
        var request = HTTPClientRequest(url: endpoint.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "User-Agent", value: "Zendesk Webhook")
        request.headers.add(name: "X-Zendesk-Webhook-Id", value: endpoint.id)
        request.headers.add(name: "X-Zendesk-Webhook-Invocation-Id", value: job.eventID)
        request.headers.add(
            name: "X-Zendesk-Webhook-Signature",
            value: ZendeskWebhookSignature.sign(body: job.body, timestamp: timestamp, secret: endpoint.secret))
        request.headers.add(name: "X-Zendesk-Webhook-Signature-Timestamp", value: timestamp)
        request.body = .bytes(ByteBuffer(bytes: job.body))
        var status: Int?
        var retryAfter: Int?
        do {
            let (seconds, attoseconds) = configuration.webhooks.timeout.components
            let response = try await httpClient.execute(
                request, timeout: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
            _ = try await response.body.collect(upTo: 1 << 20)
            status = Int(response.status.code)
            retryAfter = response.headers.first(name: "Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        } catch {
            configuration.logger.debug(
                "webhook delivery failed",
                metadata: ["weft.event.id": "\(job.eventID)", "weft.webhook.attempt": "\(job.attempt)"])
        }
        let succeeded = status.map { (200..<300).contains($0) } ?? false
        queue.withLock {
            $0.record(
                WebhookDelivery(
                    eventID: job.eventID, eventType: job.eventType, endpointID: job.endpointID, attempt: job.attempt,
                    status: status, succeeded: succeeded, body: String(decoding: job.body, as: UTF8.self)))
        }
        // Zendesk retries a timeout, a 409, and a 429 or 503 that asks for a short wait (`Retry-After`); any other
        // answer, a 500 included, is final (saas-apis.md, "Delivery"). How short is unverified: a minute here.
        let retryable =
            status.map { status in
                status == 409 || ((status == 429 || status == 503) && retryAfter.map { (0...Self.shortRetryAfter).contains($0) } == true)
            } ?? true
        guard !succeeded, retryable, job.attempt < configuration.webhooks.maxAttempts else { return nil }
        var next = job
        next.attempt += 1
        return next
    }
}
