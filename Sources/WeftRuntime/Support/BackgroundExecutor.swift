import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A task executor with one thread of its own, which the kernel schedules behind the rest of the process (a higher
/// nice value, per thread on Linux): work that may lag, such as processing stored events, uses whatever CPU the
/// latency-bound work (acknowledging webhooks, answering lookups) leaves, instead of taking an equal share of it.
/// It is a priority, not a cap: with nothing else to run, the thread gets a whole core.
///
/// Jobs run one at a time, in the order they were enqueued. `shutdown()` ends the thread once the jobs queued by then
/// have run.
public final class BackgroundExecutor: TaskExecutor, Sendable {
    private struct State {
        var jobs: [UnownedJob] = []
        var stopping = false
    }

    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)

    /// Starts the thread.
    /// - Parameters:
    ///   - name: the thread's name (shown by `top -H`, `perf`); Linux keeps the first 15 bytes.
    ///   - nice: added to the thread's nice value (0–19; 0 leaves it as the process's). Raising it needs no privilege.
    public init(name: String, nice: Int32) {
        let name = String(decoding: name.utf8.prefix(15), as: UTF8.self)
        Thread { [self] in
            Self.nameThisThread(name)
            run(nice: nice)
        }.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        state.withLock { $0.jobs.append(job) }
        wakeup.signal()
    }

    /// Ends the thread after the jobs already queued.
    public func shutdown() {
        state.withLock { $0.stopping = true }
        wakeup.signal()
    }

    /// Names the calling thread for the kernel. A Linux thread starts with its creator's name; Foundation's
    /// `Thread.name` does not always reach the kernel, and `pthread_setname_np` is not imported, so this writes the
    /// thread's own `comm` (15 bytes at most: a longer name is refused whole).
    private static func nameThisThread(_ name: String) {
        #if canImport(Glibc)
            let file = open("/proc/thread-self/comm", O_WRONLY)
            guard file >= 0 else { return }
            defer { close(file) }
            _ = name.utf8CString.withUnsafeBufferPointer { write(file, $0.baseAddress, $0.count - 1) }
        #endif
    }

    private func run(nice: Int32) {
        #if canImport(Glibc)
            // On Linux the nice value is per thread, and `who` 0 is the calling thread.
            if nice > 0 { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, min(19, nice)) }
        #endif
        while true {
            wakeup.wait()
            let (jobs, stopping) = state.withLock { state in
                defer { state.jobs.removeAll(keepingCapacity: true) }
                return (state.jobs, state.stopping)
            }
            for job in jobs { job.runSynchronously(on: asUnownedTaskExecutor()) }
            if stopping && jobs.isEmpty { return }
        }
    }
}
