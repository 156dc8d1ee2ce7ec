import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import WeftCore
import WeftRuntime
import WeftServer

/// `weft backfill --config FILE --system hubspot --object deals --since 2026-01-01`: reads the CRM's deals (HubSpot
/// deals, Salesforce opportunities) modified since the date into the inbox as snapshots, with a progress line (rate,
/// ETA); resumable.
struct Backfill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read a CRM's records modified since a date into Weft's pipeline (resumable, deduplicated).")
    @Option(name: .long, help: "The configuration file (YAML).") var config: String
    @Option(name: .long, help: "The CRM system (its name under systems:; a hubspot or salesforce system).") var system: String
    @Option(name: .long, help: "What to read: deals (Salesforce: opportunities).") var object = "deals"
    @Option(name: .long, help: "Records modified at or after this date (YYYY-MM-DD, UTC) or instant (ISO 8601).") var since: String

    func validate() throws {
        guard object == "deals" else { throw ValidationError("--object: only deals can be backfilled (got \(object))") }
        guard Self.parse(since) != nil else { throw ValidationError("--since must be YYYY-MM-DD or an ISO 8601 instant") }
    }

    static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withFullDate]
        return formatter.date(from: text)
    }

    func run() async throws {
        let configuration = try ConfigFile.load(config)
        let name = SystemName(system)
        let logger = Logger(label: "weft.backfill")
        let environment = ProcessInfo.processInfo.environment
        let backfill: (any Store) throws -> CRMBackfill
        switch configuration.systems[name] {
        case .hubspot(let hubspot)?:
            backfill = {
                try CRMBackfill(
                    system: name, hubspot: hubspot, environment: environment, store: $0, httpClient: .shared, logger: logger)
            }
        case .salesforce(let salesforce)?:
            backfill = {
                try CRMBackfill(
                    system: name, salesforce: salesforce, environment: environment, store: $0, httpClient: .shared,
                    logger: logger)
            }
        default:
            throw ValidationError("--system: \(system) is not a hubspot or salesforce system in \(config)")
        }
        let store = try await openStore(configPath: config)
        let since = Self.parse(since)!
        let interactive = isatty(STDOUT_FILENO) != 0
        let result = try await backfill(store).run(since: since) { progress in
            let percent = progress.total > 0 ? min(100, 100 * progress.read / progress.total) : 100
            let bar = String(repeating: "#", count: percent / 5) + String(repeating: ".", count: 20 - percent / 5)
            let eta = progress.remainingSeconds.map { "ETA \(Int($0.rounded())) s" } ?? "ETA -"
            let line =
                "[\(bar)] \(progress.read)/\(progress.total) deals, \(progress.stored) new, "
                + "\(Int(progress.ratePerSecond.rounded()))/s, \(eta)"
            if interactive {
                FileHandle.standardOutput.write(Data(("\r" + line).utf8))
            } else {
                print(line)
            }
        }
        if interactive { print("") }
        print(
            "backfill of \(system) deals since \(since): \(result.read) read, \(result.stored) new snapshot(s) stored; "
                + "a running weft serve processes them (run again to resume after an interruption)")
    }
}
