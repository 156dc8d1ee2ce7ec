public import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with `posix_spawn`, for the harnesses (bench, crash test, conformance tests).
///
/// Not Foundation's `Process`: on Linux its `run()` crashes now and then (swift-corelibs-foundation PR #5472, merged
/// 2026-05: a 256-byte over-read of each `/proc/self/fd` entry while it looks for descriptors to close, which faults
/// when the entry sits at the end of a page). A test process running many servers has over a thousand descriptors
/// open, so it happened here (a SIGSEGV in `Process.run()` during the suite). This spawns directly: standard input
/// from `/dev/null`, output appended to a file (both streams to one file, or each to its own), and every other
/// descriptor closed in the child (`posix_spawn_file_actions_addclosefrom_np`, glibc 2.34 and later, looked up at run
/// time; without it, descriptors not marked close-on-exec would be inherited, as they are with `Process`).
public final class ChildProcess: Sendable {
    /// The child's process id.
    public let processIdentifier: pid_t
    /// The raw `waitpid` status once the child is reaped.
    private let status = Mutex<Int32?>(nil)

    /// Starts `executable` with `arguments` and the environment `environment` (the whole of it), standard output
    /// appended to `outputPath` and standard error to `errorPath` (the same file when `nil`).
    public init(
        executable: String, arguments: [String], environment: [String: String], outputPath: String, errorPath: String? = nil
    ) throws {
        var actions = posix_spawn_file_actions_t()
        guard posix_spawn_file_actions_init(&actions) == 0 else { throw HarnessError("cannot prepare to start \(executable)") }
        defer { posix_spawn_file_actions_destroy(&actions) }
        let flags = O_WRONLY | O_CREAT | O_APPEND
        var result = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if result == 0 { result = posix_spawn_file_actions_addopen(&actions, 1, outputPath, flags, 0o644) }
        if result == 0 {
            if let errorPath {
                result = posix_spawn_file_actions_addopen(&actions, 2, errorPath, flags, 0o644)
            } else {
                result = posix_spawn_file_actions_adddup2(&actions, 1, 2)
            }
        }
        if result == 0, let closeFrom = Self.closeFrom { result = closeFrom(&actions, 3) }
        guard result == 0 else { throw HarnessError("cannot prepare to start \(executable): \(String(cString: strerror(result)))") }

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard spawned == 0 else { throw HarnessError("cannot start \(executable): \(String(cString: strerror(spawned)))") }
        self.processIdentifier = pid
    }

    /// Starts `executable` with this process's environment plus `environment`, output to `logPath` (appended).
    public convenience init(executable: String, arguments: [String], extraEnvironment: [String: String], logPath: String)
        throws
    {
        try self.init(
            executable: executable, arguments: arguments,
            environment: ProcessInfo.processInfo.environment.merging(extraEnvironment) { $1 }, outputPath: logPath)
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc's `posix_spawn_file_actions_addclosefrom_np`, when the C library has it (its header declares it only
    /// under `_GNU_SOURCE`, so it is looked up rather than imported).
    private static let closeFrom: CloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            return nil
        }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()

    /// Reaps the child if it has exited; whether it still runs.
    public var isRunning: Bool { reap(blocking: false) == nil }

    /// Sends `signal` to the child, unless it is already reaped (its pid may then belong to another process).
    public func send(_ signal: Int32) {
        status.withLock { status in
            if status == nil { _ = kill(processIdentifier, signal) }
        }
    }

    /// Waits for the child to exit; its exit code, or 128 + the signal that ended it.
    @discardableResult
    public func waitUntilExit() -> Int32 {
        let raw = reap(blocking: true) ?? 0
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal
    }

    /// `waitpid` under the lock, so that the child is reaped once and `send` never signals a reused pid.
    private func reap(blocking: Bool) -> Int32? {
        while true {
            let reaped: Int32? = status.withLock { status in
                if status == nil {
                    var raw: Int32 = 0
                    let answer = waitpid(processIdentifier, &raw, WNOHANG)
                    if answer == processIdentifier {
                        status = raw
                    } else if answer < 0, errno != EINTR {
                        // Not our child any more (reaped elsewhere): nothing left to wait for.
                        status = 0
                    }
                }
                return status
            }
            if let reaped { return reaped }
            guard blocking else { return nil }
            // The lock is not held while waiting, so `isRunning` and `send` stay answerable meanwhile.
            usleep(2_000)
        }
    }
}
