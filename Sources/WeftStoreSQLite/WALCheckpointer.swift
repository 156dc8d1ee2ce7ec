import Dispatch
import Foundation
import GRDB
import Logging
import Synchronization

/// Copies the write-ahead log into the database file from a connection and a thread of its own, so the writer never
/// does it.
///
/// By default SQLite checkpoints in the connection that commits once the log passes 1,000 pages: the store's one
/// writer then stops to copy a few megabytes and flush the file, and every inbox append queued behind it waits (the
/// bench saw acknowledgements wait 150 ms and more). Here the writer has automatic checkpoints off, and this thread
/// runs a PASSIVE checkpoint every `interval`: it copies what is committed without taking the write lock, so commits
/// go on meanwhile, and the writer starts the log over once everything is copied. With `synchronous=FULL` the
/// checkpoint flushes the database file itself; until a frame is copied it is durable in the log, so a crash at any
/// point loses nothing.
final class WALCheckpointer: Sendable {
    private let queue: DatabaseQueue
    private let interval: Duration
    private let logger: Logger
    private let stopping = Mutex(false)
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    /// Opens a second connection to the WAL database at `path` and starts the thread.
    init(path: String, configuration: GRDB.Configuration, interval: Duration = .milliseconds(50), logger: Logger) throws {
        var configuration = configuration
        configuration.label = "weft-checkpoint"
        configuration.maximumReaderCount = 1
        self.queue = try DatabaseQueue(path: path, configuration: configuration)
        self.interval = interval
        self.logger = logger
        Thread { [self] in run() }.start()
    }

    /// Checkpoints once more and ends the thread; returns when it has ended. Calling it again is harmless.
    func stop() {
        let first = stopping.withLock { stopping in
            defer { stopping = true }
            return !stopping
        }
        guard first else { return }
        wakeup.signal()
        finished.wait()
        try? queue.close()
    }

    /// Runs one PASSIVE checkpoint now: the log's frames and how many of them are in the database file after it.
    @discardableResult
    func checkpoint() throws -> (logFrames: Int, copiedFrames: Int) {
        try queue.writeWithoutTransaction { db in
            let result = try db.checkpoint(.passive)
            return (result.walFrameCount, result.checkpointedFrameCount)
        }
    }

    /// Consecutive busy answers tolerated before they are worth a warning: 100 at the default interval is 5 s.
    static let busyRunWorthWarning = 100

    private func run() {
        var failures = 0
        var busy = 0
        while true {
            let done = stopping.withLock { $0 }
            do {
                try checkpoint()
                failures = 0
                busy = 0
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                // A PASSIVE checkpoint answers busy when it meets the writer mid-commit (the log's index header is
                // changing) or another checkpoint: nothing is wrong, the next tick copies the frames. Only a long
                // run of them, while the log keeps growing, is worth telling an operator.
                busy += 1
                if busy == Self.busyRunWorthWarning {
                    logger.warning(
                        "WAL checkpoint kept meeting a busy database", metadata: ["weft.attempts": "\(busy)"])
                }
            } catch {
                failures += 1
                // Logged once per run of failures; the writer's log only grows meanwhile.
                if failures == 1 { logger.warning("WAL checkpoint failed", metadata: ["weft.error": "\(error)"]) }
            }
            if done { break }
            let nanoseconds = interval.components.seconds * 1_000_000_000 + interval.components.attoseconds / 1_000_000_000
            _ = wakeup.wait(timeout: .now() + .nanoseconds(Int(nanoseconds)))
        }
        finished.signal()
    }
}
