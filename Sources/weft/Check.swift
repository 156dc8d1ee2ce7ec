import ArgumentParser
import Foundation
import WeftRuntime

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a configuration file; print each problem as FILE:LINE: message and exit 1 if there are any.")

    @Option(name: .long, help: "The configuration file (YAML).")
    var config: String

    @Flag(
        name: .long,
        help: """
            Also check that every secret the file refers to resolves here: each *_env variable is set and not empty, \
            each *_file readable and not empty (run it where weft serve will run; values are never printed).
            """)
    var secrets = false

    func run() async throws {
        let (configuration, problems) = ConfigurationLoader.load(
            path: config, resolvingSecretsIn: secrets ? ProcessInfo.processInfo.environment : nil)
        if let configuration, problems.isEmpty {
            let checked = secrets ? ", secrets resolved" : ""
            print("\(config): ok (\(configuration.systems.count) systems, \(configuration.flows.count) flows\(checked))")
            return
        }
        for problem in problems { print("\(config):\(problem.line): \(problem.message)") }
        throw ExitCode(1)
    }
}
