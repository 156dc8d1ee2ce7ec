import Foundation

/// Where a bench run keeps its store, logs and config, and whether the run removes it afterwards.
///
/// A directory the operator names (`--work-dir`) is theirs: it must be new or empty (a bench needs a fresh store, and
/// a store left there by an earlier run would be measured instead), and it is kept after the run, store and logs
/// included, to be looked at. Without one, each run gets a new temporary directory and removes it.
public struct BenchWorkDirectory: Equatable, Sendable {
    public var path: String
    /// Whether the bench made this directory for itself and removes it when the run ends.
    public var removedAfterRun: Bool

    /// The directory of one run: under a named `workDir`, itself or (in a series of runs) the run's `label` beneath it.
    public static func forRun(workDir: String?, series: Bool, label: String, temporaryRoot: String? = nil)
        -> BenchWorkDirectory
    {
        guard let workDir else {
            let temporary = temporaryRoot ?? NSTemporaryDirectory()
            let root = temporary.hasSuffix("/") ? temporary : temporary + "/"
            return BenchWorkDirectory(path: root + "weft-bench-\(UUID().uuidString)", removedAfterRun: true)
        }
        return BenchWorkDirectory(path: series ? "\(workDir)/\(label)" : workDir, removedAfterRun: false)
    }

    /// Why `workDir` cannot hold a bench's runs, or nil when it can: it does not exist yet, or is an empty directory.
    public static func problem(with workDir: String) -> String? {
        let fileManager = FileManager.default
        var isDirectory: ObjCBool = false
        guard fileManager.fileExists(atPath: workDir, isDirectory: &isDirectory) else { return nil }
        guard isDirectory.boolValue else { return "--work-dir \(workDir) is a file; name a new or empty directory" }
        guard let entries = try? fileManager.contentsOfDirectory(atPath: workDir) else {
            return "--work-dir \(workDir) cannot be read; name a new or empty directory"
        }
        guard entries.isEmpty else {
            return """
                --work-dir \(workDir) is not empty (\(entries.count) entr\(entries.count == 1 ? "y" : "ies")); a bench \
                needs a fresh store: name a new or empty directory (it is kept after the run)
                """
        }
        return nil
    }
}
