import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import WeftConnectors
import WeftRuntime
import WeftServer

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
