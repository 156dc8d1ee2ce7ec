public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import WeftConnectors

/// Sends signed Stripe webhooks to a Weft endpoint over real HTTP at a fixed concurrency, the way Stripe would:
/// an event that is not acknowledged with 2xx (connection refused, timeout, 5xx) is sent again until it is.
public struct LoadGenerator: Sendable {
    /// What a run measured.
    public struct Result: Sendable {
        public var accepted: Int
        public var duplicates: Int
        /// Attempts that were not acknowledged and had to be repeated.
        public var retries: Int
        /// Events given up on (their deadline passed).
        public var abandoned: [String]
        public var elapsed: Duration
        /// Acknowledgement latency of each accepted request, in milliseconds.
        public var latenciesMs: [Double]

        /// The `q` quantile (0…1) of the acknowledgement latency, in milliseconds.
        public func latency(quantile q: Double) -> Double {
            guard !latenciesMs.isEmpty else { return 0 }
            let sorted = latenciesMs.sorted()
            return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * q).rounded()))]
        }

        /// Accepted events per second.
        public var perSecond: Double {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return seconds > 0 ? Double(accepted + duplicates) / seconds : 0
        }
    }

    let client: HTTPClient
    /// Where to send: event `i` goes to `urls[i % count]`, and each retry to the next one, as a load balancer in
    /// front of several nodes would.
    let urls: [String]
    let signer: StripeWebhookSigner

    public init(client: HTTPClient, url: String, secret: String) {
        self.init(client: client, urls: [url], secret: secret)
    }

    public init(client: HTTPClient, urls: [String], secret: String) {
        precondition(!urls.isEmpty, "at least one URL")
        self.client = client
        self.urls = urls
        self.signer = StripeWebhookSigner(secret: secret)
    }

    /// Sends every event once (until acknowledged).
    /// - Parameters:
    ///   - concurrency: requests in flight at once.
    ///   - perSecond: an optional overall rate cap (for latency at a given load).
    ///   - giveUpAfter: how long one event may keep failing before it is abandoned.
    ///   - onAccepted: called after each acknowledgement with the running count (the crash test kills on it).
    public func send(
        _ events: [StripeTestEvent], concurrency: Int, perSecond: Double? = nil, giveUpAfter: Duration = .seconds(120),
        onAccepted: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async -> Result {
        let shared = SharedProgress()
        let next = shared
        let started = ContinuousClock.now
        let interval = perSecond.map { Duration.nanoseconds(Int64(1e9 / $0)) }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<max(1, concurrency) {
                group.addTask {
                    while true {
                        let index = next.next.wrappingAdd(1, ordering: .relaxed).oldValue
                        guard index < events.count else { return }
                        if let interval {
                            let due = started.advanced(by: interval * index)
                            if due > .now { try? await Task.sleep(until: due, clock: .continuous) }
                        }
                        let event = events[index]
                        let deadline = ContinuousClock.now.advanced(by: giveUpAfter)
                        var backoff = Duration.milliseconds(20)
                        var attempt = 0
                        while true {
                            let attemptStart = ContinuousClock.now
                            let outcome = await post(event, to: urls[(index + attempt) % urls.count])
                            attempt += 1
                            let latency = attemptStart.duration(to: .now)
                            if let duplicate = outcome {
                                let count = shared.result.withLock { result -> Int in
                                    if duplicate { result.duplicates += 1 } else { result.accepted += 1 }
                                    result.latenciesMs.append(
                                        Double(latency.components.seconds) * 1000 + Double(latency.components.attoseconds) / 1e15)
                                    return result.accepted + result.duplicates
                                }
                                await onAccepted(count)
                                break
                            }
                            if ContinuousClock.now > deadline {
                                shared.result.withLock { $0.abandoned.append(event.id) }
                                break
                            }
                            shared.result.withLock { $0.retries += 1 }
                            try? await Task.sleep(for: backoff)
                            backoff = min(backoff * 2, .milliseconds(500))
                        }
                    }
                }
            }
        }
        return shared.result.withLock { result in
            result.elapsed = started.duration(to: .now)
            return result
        }
    }

    /// Posts one event. Returns `false` (stored), `true` (duplicate) or `nil` (not acknowledged).
    func post(_ event: StripeTestEvent, to url: String) async -> Bool? {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Stripe-Signature", value: signer.signatureHeader(payload: event.body, at: Date()))
        request.body = .bytes(ByteBuffer(bytes: event.body))
        do {
            let response = try await client.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 64 * 1024)
            guard (200..<300).contains(response.status.code) else { return nil }
            return String(buffer: body).contains(#""duplicate":true"#)
        } catch {
            return nil
        }
    }
}

/// Progress shared by the sending tasks.
final class SharedProgress: Sendable {
    let next = Atomic<Int>(0)
    let result = Mutex(
        LoadGenerator.Result(accepted: 0, duplicates: 0, retries: 0, abandoned: [], elapsed: .zero, latenciesMs: []))
}
