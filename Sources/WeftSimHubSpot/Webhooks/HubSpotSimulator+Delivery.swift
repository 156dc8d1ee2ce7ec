import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import WeftSimKit

extension HubSpotSimulator {
    /// Turns the events a call raised into queued events, one per matching active subscription.
    func enqueue(_ events: [PendingEvent], at now: Int, changeSource: String, sourceID: String?) {
        let webhooks = configuration.webhooks
        guard webhookTargetURL != nil, !webhooks.subscriptions.isEmpty else { return }
        queue.withLock { queue in
            for event in events {
                for subscription in webhooks.subscriptions where subscription.subscriptionType == event.subscriptionType {
                    if event.subscriptionType.hasSuffix(".propertyChange"), subscription.propertyName != event.propertyName {
                        continue
                    }
                    queue.enqueue(
                        QueuedEvent(
                            eventID: queue.makeEventID(), subscriptionID: subscription.id,
                            subscriptionType: event.subscriptionType, occurredAt: now, objectID: event.objectID,
                            propertyName: event.propertyName, propertyValue: event.propertyValue,
                            changeSource: changeSource, sourceID: sourceID, extra: event.extra))
                }
            }
        }
        wakeContinuation.yield()
    }

    /// Sends the batches in order; a failed batch is retried from its own task after its backoff.
    func deliverAll() async {
        await withDiscardingTaskGroup { group in
            for await _ in wake {
                while let job = queue.withLock({ $0.next(maxEvents: configuration.webhooks.maxEventsPerRequest) }) {
                    guard let retry = await attempt(job) else {
                        settleIfIdle()
                        continue
                    }
                    group.addTask { await self.retrying(retry) }
                }
                settleIfIdle()
            }
            group.cancelAll()
        }
    }

    private func retrying(_ first: WebhookJob) async {
        var job = first
        while true {
            let delay = backoff(before: job.attempt)
            do {
                try await configuration.webhooks.clock.sleep(for: delay)
            } catch {
                queue.withLock { $0.retryAbandoned() }
                settleIfIdle()
                return
            }
            queue.withLock { $0.retryDue() }
            guard let next = await attempt(job) else {
                settleIfIdle()
                return
            }
            job = next
        }
    }

    /// The wait before attempt `attempt` (2 = the first retry): the base delay, doubling, capped.
    func backoff(before attempt: Int) -> Duration {
        let webhooks = configuration.webhooks
        var delay = webhooks.retryBaseDelay
        for _ in 0..<max(0, attempt - 2) {
            delay *= 2
            if delay >= webhooks.maxRetryDelay { return webhooks.maxRetryDelay }
        }
        return min(delay, webhooks.maxRetryDelay)
    }

    /// Makes one attempt; returns the next attempt when this one failed in a way HubSpot retries (connection
    /// failure, timeout, 429, 5xx) and attempts remain.
    private func attempt(_ job: WebhookJob) async -> WebhookJob? {
        let webhooks = configuration.webhooks
        guard let url = webhookTargetURL else {
            _ = queue.withLock { $0.finished(job, status: nil, succeeded: false, retry: false) }
            return nil
        }
        let body = JSON.array(
            job.events.map { $0.json(portalID: configuration.portalID, appID: configuration.appID, attemptNumber: job.attempt - 1) }
        ).bytes
        let timestamp = String(now)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(
            name: "User-Agent", value: "HubSpot Connect 2.0 (http://dev.hubspot.com/) - WebhooksExecutorDaemon-executor")
        request.headers.add(
            name: "X-HubSpot-Signature-v3",
            value: HubSpotWebhookSignature.v3(
                method: "POST", uri: url, body: body, timestamp: timestamp, secret: webhooks.clientSecret))
        request.headers.add(name: "X-HubSpot-Request-Timestamp", value: timestamp)
        request.headers.add(name: "X-HubSpot-Signature", value: HubSpotWebhookSignature.v1(body: body, secret: webhooks.clientSecret))
        request.headers.add(name: "X-HubSpot-Signature-Version", value: "v1")
        let (seconds, attoseconds) = webhooks.timeout.components
        let timeoutMs = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        request.headers.add(name: "X-HubSpot-Timeout-Millis", value: String(timeoutMs))
        request.body = .bytes(ByteBuffer(bytes: body))
        var status: Int?
        do {
            let response = try await httpClient.execute(request, timeout: .milliseconds(timeoutMs))
            _ = try await response.body.collect(upTo: 1 << 20)
            status = Int(response.status.code)
        } catch {
            configuration.logger.debug("webhook delivery failed", metadata: ["weft.webhook.attempt": "\(job.attempt)"])
        }
        let succeeded = status.map { (200..<300).contains($0) } ?? false
        let retryable = status.map { $0 == 429 || (500..<600).contains($0) } ?? true
        let retry = !succeeded && retryable && job.attempt < webhooks.maxAttempts
        let willRetry = queue.withLock { $0.finished(job, status: status, succeeded: succeeded, retry: retry) }
        guard willRetry else { return nil }
        var next = job
        next.attempt += 1
        return next
    }

    func settleIfIdle() {
        for waiter in queue.withLock({ $0.takeWaitersIfSettled() }) { waiter.resume() }
    }
}
