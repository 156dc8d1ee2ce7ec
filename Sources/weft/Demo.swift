import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import WeftConnectors
import WeftTools

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the simulators and Weft in one process and tell a scripted story (Stripe and HubSpot → Odoo and the desks).",
        discussion: "Exits 0 only if every consistency check held.")

    @Flag(name: .long, help: "Leave everything running after the story, for exploring.") var keepRunning = false
    @Option(
        name: .long,
        help: "The simulated Stripe account's API version (e.g. 2024-06-20, whose invoices still name their charge).")
    var stripeApiVersion: String = WeftTools.Demo.currentStripeAPIVersion
    @Flag(
        name: .long,
        help: "Simulate Odoo with Odoo Accounting: payments get no journal entry until a bank statement matches them.")
    var odooAccounting = false

    func run() async throws {
        _ = ProcessBootstrap.start(logLevel: .error)
        let work = NSTemporaryDirectory() + "weft-demo-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: work) }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: OutboundHTTP.clientConfiguration())
        let failures: [String]
        do {
            failures = try await WeftTools.Demo(
                options: .init(
                    keepRunning: keepRunning, workDir: work, stripeAPIVersion: stripeApiVersion, odooAccounting: odooAccounting),
                logger: Logger(label: "weft.demo")
            )
            .run(client: client)
        } catch {
            try? await client.shutdown()
            print("demo failed: \(error)")
            throw ExitCode(1)
        }
        try? await client.shutdown()
        if !failures.isEmpty { throw ExitCode(1) }
    }
}
