import Foundation
import Logging
import Testing
import WeftCore
import WeftStoreSQLite
import WeftTools

/// The operator commands (`weft dlq`, `weft events`) as an operator runs them: the `weft` executable the build made,
/// against the store a configuration file names, its output and exit status read back.
@Suite("Operator commands")
struct OperatorCLITests {
    /// The debug `weft` beside this test bundle (`swift build --build-tests` builds every product).
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("weft")
    }

    struct Run {
        var status: Int32
        var output: String
        var errors: String
    }

    /// A throwaway SQLite store with two dead commands and one failed event, and a configuration naming it.
    struct Fixture {
        let directory: URL
        let store: SQLiteStore
        let config: String
        /// The dead commands, oldest first.
        let dead: [CommandID]
        let failed: EventSeq

        static func make() async throws -> Fixture {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-cli-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let path = directory.appendingPathComponent("weft.db").path
            let store = try SQLiteStore(path: path, logger: Logger(label: "weft.test"))
            let t0 = Date()
            let events = ["evt_1", "evt_2"].enumerated().map { index, id in
                IncomingEvent(
                    system: "stripe", eventID: SourceEventID(id), type: "customer.created", entityKey: EntityKey("cus_\(index)"),
                    occurredAt: t0, receivedAt: t0, payload: Data("{}".utf8), traceID: TraceID("t\(index)"))
            }
            _ = try await store.append(events)
            let claimed = try await store.claimEvents(limit: 10, owner: "p", lease: .seconds(60), now: t0)
            try #require(claimed.count == 2)
            let commands = ["cus_a", "cus_b"].map { id in
                NewCommand(
                    target: "odoo", entityKey: EntityKey(id), idempotencyKey: IdempotencyKey("upsert-\(id)"),
                    payload: .upsertCustomer(Customer(ref: ExternalRef(system: "stripe", kind: .customer, id: id), name: id)))
            }
            try await store.commitProcessed(
                [
                    ProcessedEvent(
                        seq: claimed[0].seq, entityKey: claimed[0].entityKey, aggregate: nil, expectedVersion: nil,
                        commands: commands, status: .done, outcome: "applied", traceID: claimed[0].traceID),
                    ProcessedEvent(
                        seq: claimed[1].seq, entityKey: claimed[1].entityKey, aggregate: nil, expectedVersion: nil, commands: [],
                        status: .failed, outcome: "payload unreadable", traceID: claimed[1].traceID),
                ], owner: "p", now: t0)
            let held = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: t0)
            try #require(held.count == 2)
            let refused = DeliveryFailure(kind: .rejected, message: "Odoo refused the partner", status: 422)
            try await store.completeCommands(
                held.map { CommandResult(id: $0.id, transition: .dead(failure: refused), subject: $0.payload.subject) }, owner: "d",
                now: t0)
            let config = directory.appendingPathComponent("weft.yaml").path
            try """
            store: { sqlite: "\(path)" }
            systems:
              stripe: { type: stripe, webhook_secret_env: WEFT_CLI_TEST_SECRET, catch_up: { enabled: false } }
              odoo: { type: odoo, url: "http://127.0.0.1:9", database: weft, api: json2, api_key_env: WEFT_CLI_TEST_ODOO }
            flows:
              billing_to_erp: { from: stripe, to: odoo }
            """.write(toFile: config, atomically: true, encoding: .utf8)
            return Fixture(
                directory: directory, store: store, config: config, dead: held.map(\.id).sorted { $0.rawValue < $1.rawValue },
                failed: claimed[1].seq)
        }

        func weft(_ arguments: String...) throws -> Run { try weft(arguments) }

        func weft(_ arguments: [String]) throws -> Run {
            // Output to files, read once the command is done (`ChildProcess`: Foundation's `Process` crashes now
            // and then on Linux when the test process has many descriptors open).
            let name = UUID().uuidString
            let outPath = directory.appendingPathComponent("\(name).out").path
            let errPath = directory.appendingPathComponent("\(name).err").path
            let process = try ChildProcess(
                executable: OperatorCLITests.executable.path, arguments: arguments + ["--config", config],
                environment: ProcessInfo.processInfo.environment, outputPath: outPath, errorPath: errPath)
            let status = process.waitUntilExit()
            return Run(
                status: status, output: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                errors: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
        }

        func statuses() async throws -> [CommandID: CommandStatus] {
            let listed = try await store.listCommands(filter: CommandFilter(), limit: 10)
            return Dictionary(uniqueKeysWithValues: listed.map { ($0.command.id, $0.status) })
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    @Test func deadLettersAreListedAndReplayedOneByOneThenAll() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.remove() }
        let listed = try fixture.weft("dlq", "list")
        #expect(listed.status == 0, "\(listed.errors)")
        for id in fixture.dead { #expect(listed.output.contains("\n\(id.rawValue)\todoo\tupsert_customer\t")) }
        #expect(listed.output.contains("\tstripe/customer/cus_a\t1\trejected (HTTP 422): Odoo refused the partner\n"))
        #expect(listed.output.contains("2 dead command(s)"))

        let json = try fixture.weft("dlq", "list", "--json")
        #expect(json.status == 0)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]])
        #expect(Set(rows.compactMap { ($0["id"] as? NSNumber)?.int64Value }) == Set(fixture.dead.map(\.rawValue)))

        let one = try fixture.weft("dlq", "replay", "\(fixture.dead[0].rawValue)", "--actor", "ops-tester")
        #expect(one.status == 0, "\(one.errors)")
        #expect(one.output.contains("replayed 1 command(s)"))
        var statuses = try await fixture.statuses()
        #expect(statuses[fixture.dead[0]] == .pending)
        #expect(statuses[fixture.dead[1]] == .dead)
        let audit = try await fixture.store.auditLog(limit: 10)
        #expect(audit.contains { $0.actor == "cli:ops-tester" })

        let all = try fixture.weft("dlq", "replay", "--all")
        #expect(all.status == 0)
        #expect(all.output.contains("replayed 1 command(s)"))
        statuses = try await fixture.statuses()
        #expect(statuses.values.allSatisfy { $0 == .pending })
        let none = try fixture.weft("dlq", "list", "--superseded")
        #expect(none.output.contains("0 superseded command(s)"))
    }

    @Test func aReplayByFilterTakesOnlyWhatMatches() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.remove() }
        let other = try fixture.weft("dlq", "replay", "--filter", "kind=upsert_invoice")
        #expect(other.status == 0)
        #expect(other.output.contains("replayed 0 command(s)"))
        let matching = try fixture.weft("dlq", "replay", "--filter", "kind=upsert_customer,target=odoo")
        #expect(matching.output.contains("replayed 2 command(s)"))
        #expect(try await fixture.statuses().values.allSatisfy { $0 == .pending })
    }

    /// A replay that names nothing, or two things, or a filter that cannot be read is refused with a message saying what
    /// to give, and replays nothing.
    @Test func aMistakenReplayIsRefusedAndChangesNothing() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.remove() }
        let mistakes: [([String], String)] = [
            (["dlq", "replay"], "give exactly one of: an ID, --all, --filter EXPR"),
            (["dlq", "replay", "\(fixture.dead[0].rawValue)", "--all"], "give exactly one of: an ID, --all, --filter EXPR"),
            (["dlq", "replay", "--filter", "colour=blue"], "colour"),
            (["events", "replay"], "give event sequence numbers or --all, not both"),
            (["events", "list", "--status", "stuck"], "--status must be pending, processing, done or failed"),
        ]
        for (arguments, message) in mistakes {
            let run = try fixture.weft(arguments)
            #expect(run.status != 0, "\(arguments) was accepted")
            #expect(run.errors.contains(message), "\(arguments): \(run.errors)")
        }
        #expect(try await fixture.statuses().values.allSatisfy { $0 == .dead })
        #expect(try await fixture.store.listEvents(status: .failed, limit: 10).map(\.seq) == [fixture.failed])
    }

    @Test func failedEventsAreListedAndReplayed() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.remove() }
        let listed = try fixture.weft("events", "list", "--status", "failed")
        #expect(listed.status == 0, "\(listed.errors)")
        #expect(listed.output.contains("\(fixture.failed.rawValue)\tstripe\tevt_2\tcustomer.created\tfailed\tpayload unreadable"))
        #expect(listed.output.contains("1 event(s)"))
        let replayed = try fixture.weft("events", "replay", "\(fixture.failed.rawValue)")
        #expect(replayed.status == 0, "\(replayed.errors)")
        #expect(replayed.output.contains("replayed 1 event(s)"))
        #expect(try await fixture.store.listEvents(status: .failed, limit: 10).isEmpty)
        #expect(try await fixture.store.listEvents(status: .pending, limit: 10).map(\.seq) == [fixture.failed])
    }

    /// A configuration that cannot be loaded is reported as `FILE:LINE: message`, exit 1.
    @Test func aBrokenConfigurationIsReportedWithItsLine() async throws {
        let fixture = try await Fixture.make()
        defer { fixture.remove() }
        try "store: { sqlite: ./x.db }\nsystems: 7\n".write(toFile: fixture.config, atomically: true, encoding: .utf8)
        let run = try fixture.weft("dlq", "list")
        #expect(run.status == 1)
        #expect(run.errors.contains("\(fixture.config):2: "), "\(run.errors)")
    }
}
