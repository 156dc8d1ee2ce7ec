import AsyncHTTPClient
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

extension StripeSimulator {
    /// Makes one attempt of `job`; on failure waits the backoff on the configured clock and queues the next one.
    func deliver(_ job: DeliveryJob) async {
        let now = self.now
        let target = state.withLock { state -> (url: String, secrets: [String])? in
            guard let url = state.webhookEndpoints[job.endpointID]?["url"].string,
                let secrets = state.webhookSecrets[job.endpointID]
            else { return nil }
            return (url, secrets.signing(at: now))
        }
        var status: Int?
        if let target {
            var request = HTTPClientRequest(url: target.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
            request.headers.add(name: "User-Agent", value: "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
            request.headers.add(name: "Cache-Control", value: "no-cache")
            request.headers.add(
                name: "Stripe-Signature",
                value: WebhookSignature.header(body: job.body, timestamp: now, secrets: target.secrets))
            request.body = .bytes(ByteBuffer(bytes: job.body))
            do {
                let timeout = configuration.webhooks.timeout.components
                let response = try await httpClient.execute(
                    request,
                    timeout: .nanoseconds(timeout.seconds * 1_000_000_000 + timeout.attoseconds / 1_000_000_000))
                _ = try await response.body.collect(upTo: 1 << 20)
                status = Int(response.status.code)
            } catch {
                configuration.logger.debug(
                    "webhook delivery failed",
                    metadata: ["weft.event.id": "\(job.eventID)", "weft.webhook.attempt": "\(job.attempt)"])
            }
        }
        let succeeded = status.map { (200..<300).contains($0) } ?? false
        let maxAttempts = target == nil ? 0 : configuration.webhooks.maxAttempts
        let (retry, waiters) = state.withLock { state in
            if succeeded, !job.isDuplicate { state.markDelivered(eventID: job.eventID) }
            let retry = state.delivery.finished(job, status: status, succeeded: succeeded, maxAttempts: maxAttempts)
            return (retry, state.delivery.takeWaitersIfSettled())
        }
        for waiter in waiters { waiter.resume() }
        wakeRunLoop()
        guard retry else { return }
        do {
            try await configuration.webhooks.clock.sleep(
                for: configuration.webhooks.retryDelay(afterAttempt: job.attempt))
            state.withLock { $0.delivery.retryDue(job) }
        } catch {
            let waiters = state.withLock { state in
                state.delivery.retryAbandoned()
                return state.delivery.takeWaitersIfSettled()
            }
            for waiter in waiters { waiter.resume() }
        }
        wakeRunLoop()
    }
}
