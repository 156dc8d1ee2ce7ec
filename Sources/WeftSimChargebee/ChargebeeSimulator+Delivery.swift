import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

extension ChargebeeSimulator {
    /// Makes one attempt of `job`; on failure waits the next configured delay on the configured clock and queues the
    /// next attempt.
    func deliver(_ job: DeliveryJob) async {
        let endpoint = configuration.webhooks.endpoints.first { $0.id == job.endpointID }
        var status: Int?
        if let endpoint {
            var request = HTTPClientRequest(url: endpoint.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
            request.headers.add(name: "User-Agent", value: "ChargeBee")
            if let username = endpoint.username {
                let credentials = Data("\(username):\(endpoint.password ?? "")".utf8).base64EncodedString()
                request.headers.add(name: "Authorization", value: "Basic \(credentials)")
            }
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
        let retries = endpoint == nil ? 0 : configuration.webhooks.retryDelays.count
        let (retry, waiters) = state.withLock { state in
            let retry = state.delivery.finished(job, status: status, succeeded: succeeded, retries: retries)
            if !job.isDuplicate {
                state.markDelivery(eventID: job.eventID, endpointID: job.endpointID, succeeded: succeeded, final: !retry)
            }
            return (retry, state.delivery.takeWaitersIfSettled())
        }
        for waiter in waiters { waiter.resume() }
        wakeRunLoop()
        guard retry else { return }
        do {
            try await configuration.webhooks.clock.sleep(for: configuration.webhooks.retryDelays[job.attempt - 1])
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
