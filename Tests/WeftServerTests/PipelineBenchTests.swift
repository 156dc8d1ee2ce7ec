import Logging
import Testing
import WeftTools

/// `weft bench --pipeline-only` measures a whole backlog processed: every stored event, each story's commands.
@Suite("Pipeline bench")
struct PipelineBenchTests {
    @Test func processesTheWholeBacklogAndCountsWhatItMade() async throws {
        let figures = try await PipelineBench(events: 300, logger: Logger(label: "test")).run()
        #expect(figures.events == 300)
        // Events filed under an invoice before its customer adopted it are processed again under the customer.
        #expect(figures.processed >= 300)
        #expect(figures.batches >= 1)
        // Each customer of the story gets at least its partner and its first invoice.
        #expect(figures.commands >= 2 * (300 / 8))
        #expect(figures.cpuMicrosPerEvent > 0)
        #expect(figures.line.hasPrefix("pipeline_cpu_us_per_event="))
        #expect(figures.line.contains(" events=300 "))
    }
}
