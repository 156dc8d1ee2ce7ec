import Metrics
import Prometheus
import Testing
import WeftCore
import WeftRuntime

@testable import WeftServer

/// The handles a webhook endpoint records every delivery with are made once and count into the node's registry.
@Suite("Webhook intake metrics")
struct IntakeMetricsTests {
    func exposition(_ registry: PrometheusCollectorRegistry) -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    @Test func eachTypesCounterIsMadeOnceAndCountsIntoTheRegistry() {
        let registry = PrometheusCollectorRegistry()
        let handles = IntakeMetrics(system: "stripe", factory: PrometheusMetricsFactory(registry: registry))
        let first = handles.counter(WeftMetrics.eventsStored, type: "invoice.paid")
        #expect(handles.counter(WeftMetrics.eventsStored, type: "invoice.paid") === first)
        #expect(handles.counter(WeftMetrics.eventsDuplicate, type: "invoice.paid") !== first)
        for _ in 0..<3 { handles.counter(WeftMetrics.eventsStored, type: "invoice.paid").increment() }
        handles.counter(WeftMetrics.eventsStored, type: "customer.created").increment()
        handles.ackLatency.recordNanoseconds(1_000_000)
        let text = exposition(registry)
        #expect(text.contains(#"\#(WeftMetrics.eventsStored){system="stripe",type="invoice.paid"} 3"#))
        #expect(text.contains(#"\#(WeftMetrics.eventsStored){system="stripe",type="customer.created"} 1"#))
        #expect(text.contains(#"\#(WeftMetrics.ackLatency)_count{system="stripe"} 1"#))
    }

    /// Past `typesKept` types a counter is made per delivery again: it still counts into the same series.
    @Test func typesPastTheKeptOnesStillCount() {
        let registry = PrometheusCollectorRegistry()
        let handles = IntakeMetrics(system: "stripe", factory: PrometheusMetricsFactory(registry: registry))
        for index in 0..<IntakeMetrics.typesKept { handles.counter(WeftMetrics.eventsReceived, type: "t\(index)").increment() }
        let late = handles.counter(WeftMetrics.eventsReceived, type: "late")
        #expect(handles.counter(WeftMetrics.eventsReceived, type: "late") !== late)
        late.increment()
        handles.counter(WeftMetrics.eventsReceived, type: "late").increment()
        #expect(exposition(registry).contains(#"\#(WeftMetrics.eventsReceived){system="stripe",type="late"} 2"#))
    }
}
