import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

extension FreshdeskSimulator {
    /// Sends `job`, retrying after each configured delay while it fails (Freshdesk then gives up and emails the admin).
    func deliver(_ job: WebhookJob) async {
        var attempt = 1
        while true {
            var request = HTTPClientRequest(url: job.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "Freshdesk")
            for (name, value) in job.headers.sorted(by: { $0.key < $1.key }) { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(bytes: job.body))
            var status: Int?
            do {
                let timeout = configuration.webhookTimeout.components
                let response = try await httpClient.execute(
                    request,
                    timeout: .nanoseconds(timeout.seconds * 1_000_000_000 + timeout.attoseconds / 1_000_000_000))
                _ = try await response.body.collect(upTo: 1 << 20)
                status = Int(response.status.code)
            } catch {
                configuration.logger.debug(
                    "freshdesk webhook failed", metadata: ["weft.ticket.id": "\(job.ticketID)", "weft.webhook.attempt": "\(attempt)"])
            }
            let succeeded = status.map { (200..<300).contains($0) } ?? false
            deliveryLog.withLock {
                $0.append(
                    WebhookDelivery(
                        rule: job.rule, url: job.url, ticketID: job.ticketID, event: job.event.rawValue, attempt: attempt,
                        status: status, succeeded: succeeded, body: String(decoding: job.body, as: UTF8.self)))
            }
            guard !succeeded, attempt <= configuration.webhookRetryDelays.count else { return }
            do {
                try await configuration.clock.sleep(for: configuration.webhookRetryDelays[attempt - 1])
            } catch {
                return
            }
            attempt += 1
        }
    }
}
