import Foundation
public import Hummingbird
import Metrics
public import Prometheus
public import WeftCore
import WeftRuntime

/// `/healthz` (the process is up), `/readyz` (the store answers) and `/metrics` (Prometheus text format).
public struct OperationsRoutes: Sendable {
    let store: any Store
    let registry: PrometheusCollectorRegistry?
    /// Business exceptions derived from state (incomplete won deals), counted on each scrape when CRMs are configured.
    let exceptions: BusinessExceptions?

    /// - Parameter registry: the registry `/metrics` exposes; `nil` answers 404 (metrics not bootstrapped).
    public init(store: any Store, registry: PrometheusCollectorRegistry?, exceptions: BusinessExceptions? = nil) {
        self.store = store
        self.registry = registry
        self.exceptions = exceptions
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        router.get("/readyz") { _, _ in
            do {
                // A store round trip that costs the same at any size (one EXISTS on a partial index of unfinished
                // work): probes come every few seconds on every node, and `stats` counts every row retention keeps.
                _ = try await store.hasUnfinishedWork()
                return Response(
                    status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ready\n")))
            } catch {
                throw APIError(.serviceUnavailable, code: "store_unavailable", message: "the store does not answer")
            }
        }
        router.get("/metrics") { _, _ in
            guard let registry else { throw APIError(.notFound, code: "metrics_disabled", message: "metrics are not enabled") }
            if let stats = try? await store.stats(now: Date()) { WeftMetrics.record(stats) }
            if let exceptions, let counts = try? await exceptions.counts() {
                for (type, count) in counts {
                    Gauge(label: WeftMetrics.businessExceptions, dimensions: [("type", type)]).record(count)
                }
            }
            var buffer: [UInt8] = []
            buffer.reserveCapacity(16 * 1024)
            registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }
}
