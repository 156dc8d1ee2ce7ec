import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Small helpers for harnesses that run Weft and simulators as child processes.
public enum ProcessSupport {
    /// A free TCP port on loopback (bound, read, released).
    public static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw HarnessError("cannot open a socket") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else { throw HarnessError("cannot bind a socket") }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { throw HarnessError("cannot read the bound port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts `executable` with `arguments`, extra environment, output appended to `logPath`.
    public static func start(executable: String, arguments: [String], environment: [String: String], logPath: String) throws
        -> ChildProcess
    {
        try ChildProcess(executable: executable, arguments: arguments, extraEnvironment: environment, logPath: logPath)
    }

    /// Starts `weft simulate --system odoo` on a free port (log in `work/odoo.log`) and waits until it listens.
    public static func startOdooSimulator(executable: String, apiKey: String, work: String) async throws -> (ChildProcess, Int) {
        let portFile = "\(work)/odoo.port"
        let process = try start(
            executable: executable,
            arguments: ["simulate", "--system", "odoo", "--port", "0", "--port-file", portFile, "--api-key", apiKey],
            environment: [:], logPath: "\(work)/odoo.log")
        do {
            return (process, try await waitForPortFile(portFile, process: process, timeout: .seconds(30)))
        } catch {
            terminate(process)
            throw error
        }
    }

    /// Kills `process` with SIGKILL and waits for it to be gone.
    public static func kill9(_ process: ChildProcess) {
        process.send(SIGKILL)
        process.waitUntilExit()
    }

    /// Asks `process` to stop (SIGTERM) and waits.
    public static func terminate(_ process: ChildProcess) {
        process.send(SIGTERM)
        process.waitUntilExit()
    }

    /// Waits until `path` holds a port number (written by `--port-file`), at most `timeout`.
    public static func waitForPortFile(_ path: String, process: ChildProcess, timeout: Duration) async throws -> Int {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
                let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                return port
            }
            guard process.isRunning else { throw HarnessError("the process exited before listening (see its log)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError("no port in \(path) after \(timeout)")
    }

    /// The peak resident set size of this process, in MiB (`VmHWM`).
    public static func peakRSSMegabytes() -> Double { peakRSSMegabytes(procEntry: "self") ?? 0 }

    /// Peak resident memory (`VmHWM`) of a running process, in MiB.
    public static func peakRSSMegabytes(pid: Int32) -> Double? { peakRSSMegabytes(procEntry: String(pid)) }

    /// CPU time (user + system) a running process has used so far, in seconds (`/proc/<pid>/stat`).
    public static func cpuSeconds(pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return nil }
        // After the command name: state is field 3, utime 14 and stime 15 (1-based), in clock ticks.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func peakRSSMegabytes(procEntry: String) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(procEntry)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let digits = line.split(separator: " ").compactMap { Double($0) }
            if let kilobytes = digits.first { return kilobytes / 1024 }
        }
        return nil
    }
}

/// A harness failure, with what went wrong.
public struct HarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
