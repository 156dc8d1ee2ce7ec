import Foundation
import Logging
import Testing
import WeftCore
import WeftStorePostgres
import WeftStoreSQLite
import WeftTools

/// `weft store copy` from a SQLite file into PostgreSQL: everything arrives once, with its keys, and a run again
/// (after an interruption) converges instead of doubling. Runs when `WEFT_TEST_DATABASE_URL` names a server.
@Suite(
    "Store copy: SQLite to PostgreSQL",
    .enabled(if: ProcessInfo.processInfo.environment["WEFT_TEST_DATABASE_URL"].map { !$0.isEmpty } ?? false))
struct StoreCopyTests {
    let logger = Logger(label: "weft.test.copy")

    @Test func aCopyMovesEveryRowOnceAndAnInterruptedCopyResumesWithoutDoubling() async throws {
        let t0 = Date(timeIntervalSince1970: 1_750_000_000)
        let source = try SQLiteStore.temporary(logger: logger)
        // History: three events, two processed with a command each (one delivered with a binding), one pending; an
        // alias; a cursor; an audit entry.
        var incoming: [IncomingEvent] = []
        for index in 1...3 {
            incoming.append(
                IncomingEvent(
                    system: "stripe", eventID: SourceEventID("evt_\(index)"), type: "customer.created",
                    entityKey: EntityKey("stripe/customer/cus_\(index)"), occurredAt: t0, receivedAt: t0,
                    payload: Data("{\"id\":\"evt_\(index)\"}".utf8), traceID: TraceID("t\(index)")))
        }
        _ = try await source.append(incoming)
        let claimed = try await source.claimEvents(limit: 2, owner: "w", lease: .seconds(60), now: t0)
        let results = claimed.map { event in
            ProcessedEvent(
                seq: event.seq, entityKey: event.entityKey,
                aggregate: Aggregate(records: ["\(event.entityKey)": RecordState(fields: ["name": .string("Ada")])]),
                expectedVersion: 0,
                commands: [
                    NewCommand(
                        target: "odoo", entityKey: event.entityKey, idempotencyKey: IdempotencyKey("cmd-\(event.seq)"),
                        payload: .upsertCustomer(
                            Customer(ref: ExternalRef(system: "stripe", kind: .customer, id: event.entityKey.rawValue))))
                ], status: .done, outcome: "applied", traceID: event.traceID,
                adoptedAliases: [EntityKey("stripe/invoice/in_\(event.seq)")])
        }
        #expect(try await source.commitProcessed(results, owner: "w", now: t0).count == 2)
        let commands = try await source.claimCommands(target: "odoo", limit: 1, owner: "d", lease: .seconds(60), now: t0)
        try await source.completeCommands(
            [
                CommandResult(
                    id: commands[0].id, transition: .delivered(record: TargetRecordID(model: "res.partner", id: "42"), note: nil),
                    subject: ExternalRef(system: "stripe", kind: .customer, id: "cus_1"))
            ], owner: "d", now: t0)
        try await source.setCursor("catch_up.stripe.occurred_at_ms", to: "1750000000000")
        try await source.audit(AuditEntry(at: t0, actor: "ops", action: "replay_dead_commands", detail: "0 command(s)"))

        let url = try await PostgresStore.createDatabase(
            serverURL: ProcessInfo.processInfo.environment["WEFT_TEST_DATABASE_URL"] ?? "",
            name: "weft_copy_\(UInt32.random(in: 0...UInt32.max))", logger: logger)
        let target = try await PostgresStore.open(url: url, logger: logger)
        defer { target.close() }
        let copy = StoreCopy(source: source, target: target, batchSize: 1, logger: logger)
        let counts = try await copy.run()
        #expect(counts.allSatisfy { $0.source == $0.target }, "\(counts)")
        #expect(counts.first { $0.table == "events" }?.target == 3)

        // The copy is the same store: events with their sequence numbers and payloads, commands and their states,
        // bindings, aggregates, aliases, cursors, the audit log.
        #expect(try await target.listEvents(status: nil, limit: 10) == source.listEvents(status: nil, limit: 10))
        #expect(
            try await target.listCommands(filter: CommandFilter(), limit: 10)
                == source.listCommands(filter: CommandFilter(), limit: 10))
        #expect(
            try await target.binding(of: ExternalRef(system: "stripe", kind: .customer, id: "cus_1"), in: "odoo")
                == TargetRecordID(model: "res.partner", id: "42"))
        let keys = results.map(\.entityKey)
        #expect(try await target.loadAggregates(keys) == source.loadAggregates(keys))
        #expect(try await target.cursor("catch_up.stripe.occurred_at_ms") == "1750000000000")
        #expect(try await target.auditLog(limit: 5).map(\.action) == ["replay_dead_commands"])
        // An event sent under an adopted alias is filed under its adopter on the new store too.
        let alias = IncomingEvent(
            system: "stripe", eventID: SourceEventID("evt_alias"), type: "invoice_payment.paid",
            entityKey: EntityKey("stripe/invoice/in_1"),
            occurredAt: t0, receivedAt: t0, payload: Data("{}".utf8), traceID: TraceID("ta"))
        guard case .stored(let aliasSeq) = try #require(try await target.append([alias]).first) else {
            Issue.record("not stored")
            return
        }
        // New rows continue after the copied ones.
        #expect(aliasSeq.rawValue > 3)
        #expect(try await target.listEvents(status: .pending, limit: 10).contains { $0.entityKey == results[0].entityKey })

        // Interrupted after the first event batch: the cursor points there; a second run converges, doubling nothing.
        try await target.setCursor("weft.store_copy.events", to: "[1]")
        let again = try await copy.run()
        #expect(again.first { $0.table == "events" }.map { $0.target - $0.source } == 1)  // only the event appended above
        #expect(try await target.listEvents(status: nil, limit: 10).count == 4)
        // A duplicate of a copied event is recognised on the new store.
        #expect(try await target.append([incoming[0]]) == [.duplicate])
    }
}
