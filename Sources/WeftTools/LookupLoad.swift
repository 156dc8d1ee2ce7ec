public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Entitlement lookups at a fixed concurrency: each client sends `GET /v1/entitlements/<system>/<id>` with a bearer
/// token, one request after another, over its own keep-alive connection.
public struct LookupLoad: Sendable {
    public struct Result: Sendable {
        public var ok: Int
        /// Answers other than 200 (and transport failures).
        public var failed: Int
        public var elapsed: Duration
        /// Latency of each answered request, in milliseconds.
        public var latenciesMs: [Double]

        public var perSecond: Double {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return seconds > 0 ? Double(ok) / seconds : 0
        }

        public func latency(quantile q: Double) -> Double {
            guard !latenciesMs.isEmpty else { return 0 }
            let sorted = latenciesMs.sorted()
            return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * q))]
        }
    }

    let client: HTTPClient
    /// Base URLs of the nodes (`http://127.0.0.1:8080`); requests rotate over them.
    let baseURLs: [String]
    let token: String

    public init(client: HTTPClient, baseURLs: [String], token: String) {
        self.client = client
        self.baseURLs = baseURLs
        self.token = token
    }

    /// Sends `total` lookups of the given account paths (`stripe/cus_1`, cycled) from `concurrency` clients.
    public func run(paths: [String], total: Int, concurrency: Int) async -> Result {
        let progress = SharedProgress()
        let started = ContinuousClock.now
        let perClient = await withTaskGroup(of: (Int, Int, [Double]).self) { group in
            for _ in 0..<max(1, concurrency) {
                group.addTask {
                    var ok = 0
                    var failed = 0
                    var latencies: [Double] = []
                    latencies.reserveCapacity(total / max(1, concurrency) + 1)
                    while true {
                        let index = progress.next.wrappingAdd(1, ordering: .relaxed).oldValue
                        guard index < total, !paths.isEmpty else { break }
                        var request = HTTPClientRequest(
                            url: "\(baseURLs[index % baseURLs.count])/v1/entitlements/\(paths[index % paths.count])")
                        request.headers.add(name: "Authorization", value: "Bearer \(token)")
                        let start = ContinuousClock.now
                        do {
                            let response = try await client.execute(request, timeout: .seconds(10))
                            _ = try await response.body.collect(upTo: 64 * 1024)
                            let latency = start.duration(to: .now)
                            if response.status.code == 200 {
                                ok += 1
                                latencies.append(
                                    Double(latency.components.seconds) * 1000 + Double(latency.components.attoseconds) / 1e15)
                            } else {
                                failed += 1
                            }
                        } catch {
                            failed += 1
                        }
                    }
                    return (ok, failed, latencies)
                }
            }
            var all: [(Int, Int, [Double])] = []
            for await part in group { all.append(part) }
            return all
        }
        return Result(
            ok: perClient.reduce(0) { $0 + $1.0 }, failed: perClient.reduce(0) { $0 + $1.1 },
            elapsed: started.duration(to: .now), latenciesMs: perClient.flatMap(\.2))
    }
}
