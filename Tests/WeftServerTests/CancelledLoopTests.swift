import Foundation
import Logging
import Synchronization
import Testing
import WeftCore
import WeftRuntime
import WeftStoreSQLite

/// A node stopping because another of its services failed cancels its pipeline workers and delivery loops, perhaps in
/// the middle of a claim: they stop without logging an error of their own beside the one that stopped the node.
@Suite("Cancelled workers and delivery loops stop without an error of their own", .timeLimit(.minutes(1)))
struct CancelledLoopTests {
    /// Never reached: every claim waits until it is cancelled.
    struct Unreached: TargetConnector {
        var maxBatchSize: Int { 10 }
        func deliver(_ batch: [OutboxCommand], logger: Logger) async -> [DeliveryOutcome] {
            batch.map { _ in .retry(DeliveryFailure(kind: .unavailable, message: "not expected")) }
        }
    }

    /// The lines a logger wrote.
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var logger: Logger {
            Logger(label: "test.cancelled") { label in
                JSONLogHandler(label: label, level: .trace) { line in self.lines.withLock { $0.append(line) } }
            }
        }
        var errors: [String] { lines.withLock { $0 }.filter { $0.contains("\"level\":\"error\"") } }
    }

    /// A store whose claims wait until they are cancelled, and a stream told each time one starts waiting.
    static func waitingStore() throws -> (InterceptingAppendStore, AsyncStream<Void>) {
        let base = try SQLiteStore.temporary(logger: Logger(label: "test.store"))
        let (claiming, told) = AsyncStream<Void>.makeStream()
        var store = InterceptingAppendStore.passing(base: base)
        store.beforeClaim = {
            told.yield()
            try await Task.sleep(for: .seconds(3600))
        }
        return (store, claiming)
    }

    /// Cancels `running` once a claim is waiting, and waits for it to end.
    static func cancelMidClaim(_ running: Task<Void, any Error>, claiming: AsyncStream<Void>) async {
        for await _ in claiming { break }
        running.cancel()
        _ = try? await running.value
    }

    @Test func aPipelineWorkerCancelledMidClaimLogsNoError() async throws {
        let (store, claiming) = try Self.waitingStore()
        let lines = Lines()
        let service = PipelineService(
            store: store, processor: PipelineRunTests.stripeToOdoo(), configuration: PipelineConfiguration(workers: 1),
            events: Doorbell(), commands: Doorbell(), nodeID: "c", logger: lines.logger)
        await Self.cancelMidClaim(Task { try await service.run() }, claiming: claiming)
        #expect(lines.errors.isEmpty, "\(lines.errors)")
    }

    @Test func aDeliveryLoopCancelledMidClaimLogsNoError() async throws {
        let (store, claiming) = try Self.waitingStore()
        let lines = Lines()
        let dispatcher = DispatcherService(
            target: "odoo", connector: Unreached(), store: store, configuration: DeliveryConfiguration(concurrency: 1),
            commands: Doorbell(), nodeID: "c", logger: lines.logger)
        await Self.cancelMidClaim(Task { try await dispatcher.run() }, claiming: claiming)
        #expect(lines.errors.isEmpty, "\(lines.errors)")
    }
}
