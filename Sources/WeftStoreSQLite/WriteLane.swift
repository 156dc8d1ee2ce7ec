import GRDB
import Synchronization

/// Keeps the store's transactional writes (claims, commits, operator changes) from queueing up on the writer ahead of
/// the inbox's group commit.
///
/// SQLite has one writer, and GRDB runs writes on its queue in the order they were submitted. With two pipeline
/// workers and a dispatcher per target each submitting a claim or a commit, an append could find several of them
/// queued ahead of it and wait for all: the bench measured waits of 30–100 ms at the 99th percentile, most of the
/// half-load acknowledgement latency. Through the lane at most one such write is on the writer's queue at a time; the
/// others wait here, in arrival order, so an append waits for at most one transaction besides its own. The group
/// commit submits to the writer directly.
final class WriteLane: Sendable {
    private struct State {
        var busy = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Writes waiting to enter (tests).
    var waiting: Int { state.withLock { $0.waiters.count } }

    /// Runs `body` once every write that entered the lane before it has finished.
    func run<T>(_ body: () async throws -> T) async throws -> T {
        await enter()
        defer { leave() }
        return try await body()
    }

    private func enter() async {
        let entered = state.withLock { state -> Bool in
            guard !state.busy else { return false }
            state.busy = true
            return true
        }
        if entered { return }
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                guard state.busy else {
                    state.busy = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    private func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.busy = false
                return nil
            }
            // The lane stays busy: it is handed to the next waiter.
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}

extension SQLiteStore {
    /// A write transaction through the lane: behind at most one other such write on the writer's queue. Returns once
    /// it is durable: at `synchronous: full` once the flusher has flushed the log past it, outside the lane, so that
    /// the next write goes on meanwhile.
    func write<T: Sendable>(_ updates: @Sendable (Database) throws -> T) async throws -> T {
        let value = try await lane.run { try await pool.write(updates) }
        if let flusher { try await flusher.flushed(flusher.noteCommit()) }
        return value
    }
}
