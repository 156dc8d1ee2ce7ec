import Foundation
public import Logging
import WeftConnectors
import WeftCore
import WeftRuntime
import WeftServer
import WeftStoreSQLite

/// The pipeline's core alone (`weft bench --pipeline-only`): the standard story's events are stored as a backlog in a
/// fresh SQLite store, then one worker claims, decodes, governs, routes and commits them, batch after batch, in this
/// process, with no HTTP, no delivery and nothing else running. It measures the CPU an event costs on the pipeline's
/// path far more steadily than the full bench can (no load generator, no simulator, no second core to share), so it
/// is the figure to compare when changing that path. A backlog is claimed in runs of each entity's events, as after
/// downtime.
public struct PipelineBench: Sendable {
    public struct Figures: Sendable, Codable {
        /// Events stored as the backlog.
        public var events: Int
        /// Events processed, counting again those an adoption gave back to be processed under their customer.
        public var processed: Int
        public var batches: Int
        public var commands: Int
        /// The process's CPU (user + system) while the backlog was processed, per stored event.
        public var cpuMicrosPerEvent: Double
        public var eventsPerSecond: Double

        /// `pipeline_cpu_us_per_event=… pipeline_events_per_s=… events=… processed=… batches=… commands=…`
        public var line: String {
            String(
                format:
                    "pipeline_cpu_us_per_event=%.1f pipeline_events_per_s=%.0f events=%d processed=%d batches=%d commands=%d",
                cpuMicrosPerEvent, eventsPerSecond, events, processed, batches, commands)
        }
    }

    public var events: Int
    public var logger: Logger

    public init(events: Int, logger: Logger) {
        self.events = events
        self.logger = logger
    }

    public func run() async throws -> Figures {
        let store = try SQLiteStore.temporary(logger: logger)
        let story = StripeEventFactory(prefix: "P").story(customers: max(1, Int((Double(events) / 3.9).rounded(.up))))
        let received = Date()
        var incoming: [IncomingEvent] = []
        for event in story.events.prefix(events) {
            let envelope = try StripeEventEnvelope.parse(event.body, system: "stripe")
            incoming.append(
                envelope.incomingEvent(system: "stripe", payload: event.body, receivedAt: received, traceID: TraceID.random()))
        }
        for start in stride(from: 0, to: incoming.count, by: 1_000) {
            _ = try await store.append(Array(incoming[start..<min(incoming.count, start + 1_000)]))
        }
        let processor = PipelineProcessor(
            governor: Governor(ownership: OwnershipRules()),
            router: CommandRouter(flows: [Flow(name: "billing_to_erp", source: "stripe", target: "odoo")], ownership: OwnershipRules()),
            decoders: ["stripe": StripeDecoderAdapter(system: "stripe")])
        let service = PipelineService(
            store: store, processor: processor, configuration: PipelineConfiguration(workers: 1), events: Doorbell(),
            commands: Doorbell(), nodeID: "bench", logger: logger)
        let cpuBefore = Self.processCPUSeconds()
        let clock = ContinuousClock()
        let started = clock.now
        var processed = 0
        var batches = 0
        while true {
            let count = try await service.runOnce(owner: "bench/pipeline/0")
            if count == 0 { break }
            processed += count
            batches += 1
        }
        let elapsed = clock.now - started
        let cpu = Self.processCPUSeconds() - cpuBefore
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        // A figure counts only if the whole backlog was processed.
        for status in [EventStatus.pending, .processing, .failed] {
            let left = try await store.listEvents(status: status, limit: 1)
            if let event = left.first {
                throw PipelineBenchError(description: "event \(event.eventID) is \(status) after the backlog: \(event.outcome ?? "")")
            }
        }
        let commands = try await store.listCommands(filter: CommandFilter(), limit: Int.max).count
        return Figures(
            events: incoming.count, processed: processed, batches: batches, commands: commands,
            cpuMicrosPerEvent: cpu * 1e6 / Double(max(1, incoming.count)),
            eventsPerSecond: Double(incoming.count) / max(seconds, 1e-9))
    }

    /// The CPU (user + system) this process has used, in seconds (clock ticks of 10 ms: a backlog takes seconds).
    static func processCPUSeconds() -> Double { ProcessSupport.cpuSeconds(pid: getpid()) ?? 0 }
}

/// The pipeline bench did not process its whole backlog, so it has no figure.
public struct PipelineBenchError: Error, CustomStringConvertible {
    public var description: String
}
