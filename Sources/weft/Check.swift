import ArgumentParser
import Foundation
import WeftRuntime

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a configuration file; print each problem as FILE:LINE: message and exit 1 if there are any.")

    @Option(name: .long, help: "The configuration file (YAML).")
    var config: String

    func run() async throws {
        let (configuration, problems) = ConfigurationLoader.load(path: config)
        if let configuration, problems.isEmpty {
            print("\(config): ok (\(configuration.systems.count) systems, \(configuration.flows.count) flows)")
            return
        }
        for problem in problems { print("\(config):\(problem.line): \(problem.message)") }
        throw ExitCode(1)
    }
}
