import GRDB
import Synchronization

/// Group commit for inbox appends.
///
/// Callers queue their items and await a continuation (or pass a completion, called on the writer's thread). The caller that finds no drain scheduled schedules one on the
/// writer's serial queue; the drain takes everything queued at that moment and commits it in one transaction, then
/// answers every caller of that batch. If more arrived meanwhile, it schedules the next drain behind whatever other
/// writes (claims, commits) are already waiting, so ingest cannot starve the pipeline. No timer and no spawned task: a
/// lone request commits at once, and under load one fsync acknowledges everything that queued during the previous one.
///
/// A failed transaction fails every caller of that batch, and nothing of it is stored. With a `LogFlusher` the callers
/// are answered once the log is flushed past the batch, from the flusher's thread; the writer is drained meanwhile.
final class GroupCommit<Item: Sendable, Output: Sendable>: Sendable {
    typealias Commit = @Sendable (Database, [Item]) throws -> [Output]

    typealias Completion = @Sendable (Result<[Output], any Error>) -> Void

    private struct Waiter {
        var items: [Item]
        var completion: Completion
    }

    private struct State {
        var queue: [Waiter] = []
        var scheduled = false
        var transactions = 0
    }

    private let writer: any DatabaseWriter
    private let flusher: LogFlusher?
    private let commit: Commit
    private let state = Mutex(State())

    /// - Parameters:
    ///   - writer: where drains run (its serial writer queue).
    ///   - flusher: when set, a batch's callers are answered once it has flushed the log past the batch's commit (the
    ///     writer then commits without flushing and goes on meanwhile).
    ///   - commit: writes one batch inside an open transaction and returns one output per item, in order.
    init(writer: any DatabaseWriter, flusher: LogFlusher? = nil, commit: @escaping Commit) {
        self.writer = writer
        self.flusher = flusher
        self.commit = commit
    }

    /// How many batch transactions were attempted so far.
    var transactions: Int { state.withLock { $0.transactions } }

    /// Whether items are queued for the next batch (they wait for the writer).
    var hasQueued: Bool { state.withLock { !$0.queue.isEmpty } }

    /// Queues `items` and returns their outputs once the batch holding them has committed.
    func submit(_ items: [Item]) async throws -> [Output] {
        guard !items.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            submit(items) { continuation.resume(with: $0) }
        }
    }

    /// Queues `items` and calls `completion` on the writer's thread once the batch holding them has committed or
    /// failed. It must return quickly: the next batch waits for it.
    func submit(_ items: [Item], completion: @escaping Completion) {
        guard !items.isEmpty else { return completion(.success([])) }
        let schedule = state.withLock { state -> Bool in
            state.queue.append(Waiter(items: items, completion: completion))
            guard !state.scheduled else { return false }
            state.scheduled = true
            return true
        }
        if schedule { scheduleDrain() }
    }

    private func scheduleDrain() {
        writer.asyncWriteWithoutTransaction { db in self.drain(db) }
    }

    private func drain(_ db: Database) {
        let batch = state.withLock { state -> [Waiter] in
            state.transactions += 1
            defer { state.queue.removeAll(keepingCapacity: true) }
            return state.queue
        }
        let items = batch.flatMap(\.items)
        do {
            var outputs: [Output] = []
            try db.inTransaction(.immediate) {
                outputs = try commit(db, items)
                return .commit
            }
            precondition(outputs.count == items.count, "a group commit must return one output per item")
            let answered = outputs
            if let flusher {
                flusher.whenFlushed(flusher.noteCommit()) { flushed in
                    switch flushed {
                    case .success: Self.answer(batch, answered)
                    case .failure(let error): for waiter in batch { waiter.completion(.failure(error)) }
                    }
                }
            } else {
                Self.answer(batch, answered)
            }
        } catch {
            for waiter in batch { waiter.completion(.failure(error)) }
        }
        let again = state.withLock { state -> Bool in
            if state.queue.isEmpty {
                state.scheduled = false
                return false
            }
            return true
        }
        if again { scheduleDrain() }
    }

    /// Hands each waiter of `batch` its outputs.
    private static func answer(_ batch: [Waiter], _ outputs: [Output]) {
        var start = 0
        for waiter in batch {
            let end = start + waiter.items.count
            waiter.completion(.success(Array(outputs[start..<end])))
            start = end
        }
    }
}
