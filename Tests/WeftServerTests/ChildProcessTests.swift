import Foundation
import Testing
import WeftTools

#if canImport(Glibc)
    import Glibc
#endif

/// The harnesses' child processes (`ChildProcess`, used instead of Foundation's `Process`, which crashes now and then
/// on Linux when the parent has many descriptors open).
@Suite struct ChildProcessTests {
    static func scratch() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-child-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func outputGoesToItsFilesAndTheExitCodeIsReported() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let child = try ChildProcess(
            executable: "/bin/sh", arguments: ["-c", "echo out; echo \"$WEFT_CHILD_TEST\" >&2; read x; echo \"[$x]\"; exit 3"],
            environment: ["WEFT_CHILD_TEST": "from the parent"], outputPath: "\(directory)/out", errorPath: "\(directory)/err")
        #expect(child.waitUntilExit() == 3)
        #expect(!child.isRunning)
        // Standard input is /dev/null: `read` gets nothing.
        #expect(try String(contentsOfFile: "\(directory)/out", encoding: .utf8) == "out\n[]\n")
        #expect(try String(contentsOfFile: "\(directory)/err", encoding: .utf8) == "from the parent\n")
    }

    @Test func aKilledChildIsReapedOnceAndReportsItsSignal() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let child = try ChildProcess(
            executable: "/bin/sleep", arguments: ["30"], extraEnvironment: [:], logPath: "\(directory)/log")
        #expect(child.isRunning)
        ProcessSupport.kill9(child)
        #expect(!child.isRunning)
        #expect(child.waitUntilExit() == 128 + SIGKILL)
        // Signalling a reaped child does nothing (its pid may be another process's by now).
        child.send(SIGKILL)
        #expect(child.waitUntilExit() == 128 + SIGKILL)
    }

    /// A descriptor the parent holds without close-on-exec (a pipe another test is reading, a listening socket) is
    /// not inherited: the child sees only its three standard streams.
    @Test func theChildInheritsOnlyItsStandardStreams() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer {
            close(ends[0])
            close(ends[1])
        }
        let child = try ChildProcess(
            executable: "/bin/sh", arguments: ["-c", "ls /proc/self/fd"], extraEnvironment: [:], logPath: "\(directory)/log")
        #expect(child.waitUntilExit() == 0)
        let listed = try String(contentsOfFile: "\(directory)/log", encoding: .utf8).split(separator: "\n").compactMap { Int32($0) }
        #expect(!listed.contains(ends[0]) && !listed.contains(ends[1]), "\(listed), pipe \(ends)")
        #expect(listed.filter { $0 < 3 } == [0, 1, 2])
    }

    @Test func aMissingExecutableIsAnErrorNotAChild() {
        #expect(throws: HarnessError.self) {
            try ChildProcess(executable: "/nonexistent/weft", arguments: [], extraEnvironment: [:], logPath: "/dev/null")
        }
    }
}
