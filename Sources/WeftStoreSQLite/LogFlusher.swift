import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Makes committed transactions durable off the writer's thread (`synchronous: full`).
///
/// At `synchronous=FULL` SQLite flushes the log inside every commit, so the one writer waits for the disk each time
/// and every write queued behind it waits too; under load a flush takes milliseconds. Here the writer commits at
/// `NORMAL` (the log is written, not flushed) and goes on with the next transaction, while this flusher's thread flushes
/// the log file (`fdatasync`) and only then answers the callers whose transactions that flush covers: one flush covers
/// every commit before it began, so a flush that is running while several commits finish serves all of them with the
/// next one. Nothing is acknowledged before it is on disk, as at `FULL`; what changes is that the writer never waits.
///
/// Readers can see a transaction before it is flushed; after a power loss it may be gone, but nobody was told it was
/// stored (a webhook's sender retries, the pipeline reprocesses, and both are idempotent). A checkpoint flushes the log
/// before it copies anything into the database file, so the file never holds what the log may lose.
///
/// A failed flush cannot be retried safely (the kernel may have dropped the pages it could not write), so the flusher
/// then fails every caller, then and after, until the store is opened again; SQLite recovers from what the log holds.
final class LogFlusher: Sendable {
    typealias Completion = @Sendable (Result<Void, any Error>) -> Void

    private struct Waiter {
        let generation: UInt64
        let completion: Completion
    }

    private struct State {
        /// Commits noted so far.
        var committed: UInt64 = 0
        /// Commits a finished flush covers.
        var flushed: UInt64 = 0
        var flushing = false
        var waiters: [Waiter] = []
        var failure: LogFlushError?
    }

    private let descriptor: Int32
    private let path: String
    private let flush: @Sendable (Int32) -> Int32
    private let queue = DispatchQueue(label: "weft-log-flush")
    private let state = Mutex(State())

    /// Opens the log file at `path` (it must exist: the writer's connection creates it and keeps it).
    /// - Parameter flush: flushes a file descriptor, returning 0 or `-1` with `errno` set (`fdatasync`; tests fail it).
    init(path: String, flush: @escaping @Sendable (Int32) -> Int32 = LogFlusher.flushFile) throws(LogFlushError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw LogFlushError(operation: "open", path: path, code: errno) }
        self.descriptor = descriptor
        self.path = path
        self.flush = flush
    }

    deinit { close(descriptor) }

    /// Flushes a file's data to the disk, as SQLite does for its log (`fdatasync`; `fsync` where there is none).
    static let flushFile: @Sendable (Int32) -> Int32 = { descriptor in
        #if canImport(Darwin)
            fsync(descriptor)
        #else
            fdatasync(descriptor)
        #endif
    }

    /// Notes that a transaction has committed and returns its number for `flushed(_:)`. Call it after the commit
    /// returned: a flush that begins after this covers it.
    func noteCommit() -> UInt64 {
        state.withLock { state in
            state.committed += 1
            return state.committed
        }
    }

    /// Calls `completion` (on the flusher's thread, or at once) when a flush covering commit `generation` has
    /// finished, or with the failure of one that did not.
    func whenFlushed(_ generation: UInt64, _ completion: @escaping Completion) {
        let (now, start) = state.withLock { state -> (Result<Void, any Error>?, Bool) in
            if let failure = state.failure { return (.failure(failure), false) }
            if generation <= state.flushed { return (.success(()), false) }
            state.waiters.append(Waiter(generation: generation, completion: completion))
            guard !state.flushing else { return (nil, false) }
            state.flushing = true
            return (nil, true)
        }
        if let now { return completion(now) }
        if start { queue.async { self.run() } }
    }

    /// Returns once a flush covering commit `generation` has finished; throws if one failed.
    func flushed(_ generation: UInt64) async throws {
        try await withCheckedThrowingContinuation { continuation in
            whenFlushed(generation) { continuation.resume(with: $0) }
        }
    }

    private func run() {
        while true {
            let target = state.withLock { $0.committed }
            let failed = flush(descriptor) == 0 ? nil : LogFlushError(operation: "flush", path: path, code: errno)
            let (ready, result, again) = state.withLock { state -> ([Waiter], Result<Void, any Error>, Bool) in
                if let failed {
                    state.failure = state.failure ?? failed
                    defer { state.waiters = [] }
                    state.flushing = false
                    return (state.waiters, .failure(failed), false)
                }
                state.flushed = max(state.flushed, target)
                let ready = state.waiters.filter { $0.generation <= target }
                state.waiters.removeAll { $0.generation <= target }
                state.flushing = !state.waiters.isEmpty
                return (ready, .success(()), state.flushing)
            }
            for waiter in ready { waiter.completion(result) }
            if !again { return }
        }
    }
}

/// The log could not be opened or flushed: what was committed since the last flush may not be on disk.
struct LogFlushError: Error, CustomStringConvertible {
    let operation: String
    let path: String
    let code: Int32

    var description: String {
        "could not \(operation) the store's log \(path): \(String(cString: strerror(code))) (errno \(code)); "
            + "writes fail until the store is opened again"
    }
}
