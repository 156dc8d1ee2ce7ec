import Foundation
import Testing
import WeftRuntime

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Background executor")
struct BackgroundExecutorTests {
    /// The kernel's name of the thread running the caller (what `top -H` and `perf` show).
    static func threadName() -> String? {
        (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines)
    }

    /// Work preferring the executor runs on its thread, one job at a time in order, with the nice value raised for that
    /// thread only.
    @Test func runsTasksOnItsOwnNicedThreadInOrder() async {
        let executor = BackgroundExecutor(name: "weft-test-bg", nice: 7)
        defer { executor.shutdown() }
        let (name, nice) = await withTaskExecutorPreference(executor) { () async -> (String?, Int32) in
            #if canImport(Glibc)
                (Self.threadName(), getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0))
            #else
                (Self.threadName(), 7)
            #endif
        }
        #expect(name == "weft-test-bg")
        #expect(nice == 7)
        #if canImport(Glibc)
            #expect(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) == 0)
        #endif
        var order: [Int] = []
        for index in 0..<50 {
            order.append(await withTaskExecutorPreference(executor) { () async -> Int in index })
        }
        #expect(order == Array(0..<50))
    }

    /// A task that suspends on other work (here a sleep on the global clock) resumes on the executor's thread.
    @Test func resumesOnItsThreadAfterASuspension() async throws {
        let executor = BackgroundExecutor(name: "weft-test-resumes-long", nice: 0)
        defer { executor.shutdown() }
        let name = try await withTaskExecutorPreference(executor) { () async throws -> String? in
            try await Task.sleep(for: .milliseconds(1))
            return Self.threadName()
        }
        #expect(name == "weft-test-resum")  // cut to 15 bytes
    }
}
