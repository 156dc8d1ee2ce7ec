import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import WeftConnectors
import WeftRuntime
import WeftServer

#if canImport(Glibc)
    import Glibc
#endif

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run Weft: webhook ingress, pipeline and delivery, until SIGTERM or SIGINT.")

    @Option(name: .long, help: "The configuration file (YAML).")
    var config: String

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: "Write the bound port to this file once listening (for scripts using port 0).")
    var portFile: String?

    func run() async throws {
        Self.limitMallocArenas()
        let configuration = try ConfigFile.load(config)
        let registry = ProcessBootstrap.start(logLevel: logLevel)
        let logger = Logger(label: "weft")
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: OutboundHTTP.clientConfiguration())
        do {
            let node = try await WeftNode(configuration: configuration, httpClient: httpClient, registry: registry, logger: logger)
            let portFile = self.portFile
            try await node.run { port in
                logger.info("weft is listening", metadata: ["weft.listen": "\(configuration.server.host):\(port)"])
                if let portFile {
                    // Written to a temporary name and renamed, so a reader never sees a partial file.
                    let temporary = portFile + ".tmp"
                    _ = FileManager.default.createFile(atPath: temporary, contents: Data("\(port)\n".utf8))
                    _ = rename(temporary, portFile)
                }
            }
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
    }
}

/// Loads a configuration file or exits with its problems printed as `FILE:LINE: message`.
enum ConfigFile {
    static func load(_ path: String) throws -> WeftConfiguration {
        let (configuration, problems) = ConfigurationLoader.load(path: path)
        guard let configuration, problems.isEmpty else {
            for problem in problems { FileHandle.standardError.write(Data("\(path):\(problem.line): \(problem.message)\n".utf8)) }
            throw ExitCode(1)
        }
        return configuration
    }
}

extension Serve {
    /// glibc gives threads that allocate at the same time arenas of their own, up to eight per core, and memory freed
    /// in one arena is not reused by another: with the event loops, the task pool and the store's queues, that is
    /// most of what `weft serve` holds above its live heap under load (bench: peak RSS 111 MB → 96 MB with two
    /// arenas, at no cost in throughput). `MALLOC_ARENA_MAX` in the environment still decides when it is set.
    static func limitMallocArenas() {
        #if canImport(Glibc)
            guard ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil else { return }
            // `mallopt` is declared in <malloc.h>, which the Glibc module does not import: look it up instead.
            guard let process = dlopen(nil, RTLD_NOW), let symbol = dlsym(process, "mallopt") else { return }
            typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
            let mArenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
            _ = unsafeBitCast(symbol, to: Mallopt.self)(mArenaMax, 2)
        #endif
    }
}
