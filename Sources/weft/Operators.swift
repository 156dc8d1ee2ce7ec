import ArgumentParser
import Foundation
import Logging
import WeftCore
import WeftRuntime
import WeftServer
import WeftStoreSQLite

/// Opens the store a configuration names, for operator commands (a separate process from `weft serve` is fine:
/// SQLite in WAL mode serves several processes; PostgreSQL serves every node).
func openStore(configPath: String) async throws -> any Store {
    let configuration = try ConfigFile.load(configPath)
    return try await WeftNode.openStore(
        configuration.store, environment: ProcessInfo.processInfo.environment, logger: Logger(label: "weft.operator"))
}

func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

struct Exceptions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exceptions", abstract: "Business exceptions: what a person must fix in a system before Weft can finish.",
        subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List open business exceptions (won deals missing order data; orders, payments, invoices the ERP refused).")
        @Option(name: .long, help: "The configuration file (YAML).") var config: String
        @Option(name: .long, help: "Most rows to show.") var limit = 1000
        @Flag(name: .long, help: "Print JSON instead of a table.") var json = false

        func run() async throws {
            let configuration = try ConfigFile.load(config)
            let store = try await WeftNode.openStore(
                configuration.store, environment: ProcessInfo.processInfo.environment, logger: Logger(label: "weft.operator"))
            let rows = try await BusinessExceptions(store: store, configuration: configuration).list(limit: limit)
            if json { return try printJSON(rows) }
            print("TYPE\tSUBJECT\tWHAT TO FIX")
            for row in rows { print("\(row.type)\t\(row.subject)\t\(row.problems.joined(separator: "; "))") }
            print("\(rows.count) open exception(s)")
        }
    }
}

struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq", abstract: "Inspect and replay dead-lettered commands.", subcommands: [List.self, Replay.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead commands, newest first.")
        @Option(name: .long, help: "The configuration file (YAML).") var config: String
        @Option(name: .long, help: "Most rows to show.") var limit = 100
        @Flag(name: .long, help: "Print JSON instead of a table.") var json = false
        @Flag(name: .long, help: "List the dead commands a replay set aside: a later command of their record superseded them.")
        var superseded = false

        func run() async throws {
            let store = try await openStore(configPath: config)
            let status: CommandStatus = superseded ? .superseded : .dead
            let rows = try await store.listStoredCommands(filter: CommandFilter(status: status), limit: limit).map(CommandView.init)
            if json { return try printJSON(rows) }
            print("ID\tTARGET\tKIND\tSUBJECT\tATTEMPTS\tLAST ERROR")
            for row in rows {
                print("\(row.id)\t\(row.target)\t\(row.kind)\t\(row.subject)\t\(row.attempts)\t\(row.lastError ?? "-")")
            }
            print("\(rows.count) \(status) command(s)")
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make dead commands pending again: one id, a filter (kind=…,target=…,entity=…), or --all.")
        @Option(name: .long, help: "The configuration file (YAML).") var config: String
        @Argument(help: "A command id.") var id: Int64?
        @Flag(name: .long, help: "Replay every dead command.") var all = false
        @Option(name: .long, help: "key=value[,key=value]: kind, target, entity, id.") var filter: String?
        @Option(name: .long, help: "Who is replaying (for the audit log).") var actor = ProcessInfo.processInfo.environment["USER"] ?? "cli"

        func validate() throws {
            let given = [id != nil, all, filter != nil].filter { $0 }.count
            guard given == 1 else { throw ValidationError("give exactly one of: an ID, --all, --filter EXPR") }
        }

        func run() async throws {
            let store = try await openStore(configPath: config)
            var commandFilter: CommandFilter
            if let id {
                commandFilter = CommandFilter(ids: [CommandID(id)])
            } else if let filter {
                do {
                    commandFilter = try CommandFilterParser.parseReplay(filter)
                } catch let error as APIError {
                    throw ValidationError(error.message)
                }
            } else {
                commandFilter = CommandFilter()
            }
            commandFilter.status = .dead
            let replay = try await store.replayDeadCommands(filter: commandFilter, actor: "cli:\(actor)", now: Date())
            print("replayed \(replay.replayed) command(s); a running weft serve delivers them now")
            if replay.superseded > 0 {
                print(
                    "set aside \(replay.superseded) command(s) a later command of the same record supersedes "
                        + "(weft dlq list --superseded)")
            }
        }
    }
}

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Inspect the inbox.", subcommands: [List.self, Replay.self])

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Process failed events again (after fixing the cause, e.g. configuring their payload key).")
        @Option(name: .long, help: "The configuration file (YAML).") var config: String
        @Argument(help: "Sequence numbers of failed events (from `weft events list --status failed`).") var seqs: [Int64] = []
        @Flag(name: .long, help: "Replay every failed event.") var all = false
        @Option(name: .long, help: "Who is replaying (for the audit log).") var actor = ProcessInfo.processInfo.environment["USER"] ?? "cli"

        func validate() throws {
            if seqs.isEmpty == !all { throw ValidationError("give event sequence numbers or --all, not both") }
        }

        func run() async throws {
            let store = try await openStore(configPath: config)
            let count = try await store.replayFailedEvents(
                seqs: all ? nil : seqs.map { EventSeq($0) }, actor: "cli:\(actor)", now: Date())
            print("replayed \(count) event(s); a running weft serve processes them now")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List inbox events, newest first.")
        @Option(name: .long, help: "The configuration file (YAML).") var config: String
        @Option(name: .long, help: "pending, processing, done or failed.") var status: String?
        @Option(name: .long, help: "Most rows to show.") var limit = 100
        @Flag(name: .long, help: "Print JSON instead of a table.") var json = false

        func run() async throws {
            var eventStatus: EventStatus?
            if let status {
                guard let parsed = EventStatus(name: status) else {
                    throw ValidationError("--status must be pending, processing, done or failed")
                }
                eventStatus = parsed
            }
            let store = try await openStore(configPath: config)
            let rows = try await store.listEvents(status: eventStatus, limit: limit).map(EventView.init)
            if json { return try printJSON(rows) }
            print("SEQ\tSYSTEM\tEVENT\tTYPE\tSTATUS\tOUTCOME")
            for row in rows {
                print("\(row.seq)\t\(row.system)\t\(row.eventID)\t\(row.type)\t\(row.status)\t\(row.outcome ?? "-")")
            }
            print("\(rows.count) event(s)")
        }
    }
}
