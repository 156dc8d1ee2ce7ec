import Foundation
import Testing
import WeftConnectors
import WeftCore
import WeftRuntime
import WeftServer
import WeftTools

/// `RecordState.decode` reads records straight from the value tree; it must agree with the text round trip through
/// Foundation's decoder (`CanonicalCoding.decoder`) that it replaced, on every record the pipeline really builds.
@Suite("Decoding records from the value tree")
struct TreeDecodingTests {
    static func viaFoundation<T: Decodable>(_ type: T.Type, _ value: JSONValue) -> T? {
        try? CanonicalCoding.decoder.decode(T.self, from: value.serialized())
    }

    func agree<T: Decodable & Equatable>(_ type: T.Type, _ value: JSONValue) -> Bool {
        (try? value.decode(T.self)) == Self.viaFoundation(T.self, value)
    }

    /// The aggregates the pipeline builds for a story of both Stripe shapes; `each` sees every processing result.
    static func storyAggregates(prefix: String = "T", each: (ProcessedEvent) throws -> Void = { _ in }) throws
        -> [StoredAggregate]
    {
        let processor = PipelineProcessor(
            governor: Governor(ownership: OwnershipRules()),
            router: CommandRouter(flows: [Flow(name: "f", source: "stripe", target: "odoo")], ownership: OwnershipRules()),
            decoders: ["stripe": StripeDecoder()])
        var aggregates: [EntityKey: StoredAggregate] = [:]
        for (index, event) in StripeEventFactory(prefix: prefix).story(customers: 12).events.enumerated() {
            let envelope = try StripeEventEnvelope.parse(event.body, system: "stripe")
            let incoming = envelope.incomingEvent(system: "stripe", payload: event.body, receivedAt: Date(), traceID: TraceID("t"))
            let inbox = InboxEvent(
                seq: EventSeq(Int64(index + 1)), system: "stripe", eventID: incoming.eventID, type: incoming.type,
                entityKey: incoming.entityKey, occurredAt: incoming.occurredAt, receivedAt: incoming.receivedAt,
                payload: incoming.payload, traceID: incoming.traceID, status: .processing, attempts: 1, outcome: nil)
            let (result, _) = processor.process(inbox, stored: aggregates[inbox.entityKey])
            try each(result)
            if let aggregate = result.aggregate { aggregates[inbox.entityKey] = StoredAggregate(aggregate: aggregate, version: 1) }
        }
        return Array(aggregates.values)
    }

    /// `Aggregate.canonicalJSON()` (written directly) reads back exactly as what `CanonicalCoding.encoder` writes.
    @Test func canonicalJSONReadsBackLikeTheEncodersOutput() throws {
        var samples = try Self.storyAggregates().map(\.aggregate)
        let ref = ExternalRef(system: "stripe", kind: .customer, id: "cus_odd")
        samples.append(
            Aggregate(
                records: [
                    ref.description: RecordState(
                        fields: [
                            "name": "quote \" backslash \\ slash / tab \t newline \n bell \u{07} é 😀 \u{2028}",
                            "ratio": 0.1, "big": 1e21, "tiny": 1e-7, "whole": 2.0, "negativeZero": -0.0, "max": .int(Int64.max),
                            "min": .int(Int64.min), "list": [1, "two", nil, [true, false], ["k": 3.25]], "empty": [:],
                        ],
                        versions: ["name": SourceVersion(millis: 1_750_000_000_123, ordinal: 3)], sources: ["name": "stripe"])
                ],
                emitted: [
                    "odoo|customer|x": Aggregate.Emission(count: 2, fingerprint: UInt64.max),
                    "odoo|invoice|y": Aggregate.Emission(count: 1, fingerprint: 7, input: UInt64.max),
                ],
                aliases: [EntityKey("stripe/invoice/in_1"), EntityKey("stripe/charge/ch_\"1")]))
        samples.append(Aggregate())
        for aggregate in samples {
            let ours = try CanonicalCoding.decoder.decode(Aggregate.self, from: aggregate.canonicalJSON())
            let theirs = try CanonicalCoding.decoder.decode(Aggregate.self, from: CanonicalCoding.encoder.encode(aggregate))
            #expect(ours == theirs)
            // The stores read it back in one pass (`Aggregate(canonicalJSON:)`): the same value from either writer.
            #expect(try Aggregate(canonicalJSON: aggregate.canonicalJSON()) == theirs)
            #expect(try Aggregate(canonicalJSON: CanonicalCoding.encoder.encode(aggregate)) == theirs)
        }
        #expect(throws: JSONWriteError.self) {
            try Aggregate(records: ["x": RecordState(fields: ["n": .double(.infinity)])]).canonicalJSON()
        }
    }

    /// What the one-pass reader accepts and refuses is what `Decodable` did: older shapes read, anything else not.
    @Test func theStoresReaderAcceptsWhatTheDecoderAcceptedAndNothingElse() throws {
        let accepted = [
            #"{"records":{},"emitted":{}}"#,
            #" { "emitted" : { "odoo|x" : { "count" : 1 , "fingerprint" : 18446744073709551615 , "input" : null } } , "#
                + #""records" : { "stripe/customer/c" : { "fields" : { "n" : 1.5 } , "sources" : { "n" : "stripe" } , "#
                + #""versions" : { "n" : { "millis" : -3 , "ordinal" : 2 } } } } , "aliases" : null , "later" : [1, {"x": 2}] } "#,
            // The shared shape, its members optional and null as none; the earlier shape ignores its members.
            #"{"records":{"r":{"fields":{"n":1},"version":null,"source":null,"otherVersions":null,"otherSources":{}}},"emitted":{}}"#,
            #"{"records":{"r":{"fields":{"n":1,"m":2},"version":{"millis":1,"ordinal":0},"version":3,"source":"odoo","#
                + #""otherVersions":{"m":null,"x":{"millis":2,"ordinal":1}},"otherSources":{"n":null}}},"emitted":{}}"#,
            #"{"records":{"r":{"fields":{},"versions":{},"sources":{},"version":3,"otherSources":[]}},"emitted":{}}"#,
        ]
        for text in accepted {
            let theirs = try CanonicalCoding.decoder.decode(Aggregate.self, from: Data(text.utf8))
            #expect(try Aggregate(canonicalJSON: Data(text.utf8)) == theirs, "\(text)")
        }
        let refused = [
            "", "[]", #"{"records":{}}"#, #"{"emitted":{}}"#, #"{"records":{},"emitted":{}} x"#,
            #"{"records":{"r":{"fields":{},"versions":{}}},"emitted":{}}"#,
            #"{"records":{"r":{"fields":[],"versions":{},"sources":{}}},"emitted":{}}"#,
            #"{"records":{"r":{"fields":{},"versions":{"n":{"millis":1}},"sources":{}}},"emitted":{}}"#,
            #"{"records":{"r":{"fields":{},"versions":{"n":{"millis":1.5,"ordinal":0}},"sources":{}}},"emitted":{}}"#,
            #"{"records":{"r":{"fields":{},"versions":{},"sources":{"n":3}}},"emitted":{}}"#,
            #"{"records":{"r":{"version":{"millis":1,"ordinal":0}}},"emitted":{}}"#,
            #"{"records":{"r":{"fields":{},"version":{"millis":1}}},"emitted":{}}"#,
            #"{"records":{"r":{"fields":{},"source":3}},"emitted":{}}"#,
            #"{"records":{"r":{"fields":{},"otherVersions":{"n":3}}},"emitted":{}}"#,
            #"{"records":{"r":{"fields":{},"otherSources":[]}},"emitted":{}}"#,
            #"{"records":{"r":{"fields":{},"otherSources":{"n":false}}},"emitted":{}}"#,
            #"{"records":{},"emitted":{"k":{"count":1}}}"#,
            #"{"records":{},"emitted":{"k":{"count":1,"fingerprint":-1}}}"#,
            #"{"records":{},"emitted":{"k":{"count":1,"fingerprint":18446744073709551616}}}"#,
            #"{"records":{},"emitted":{"k":{"count":1,"fingerprint":1.5}}}"#,
            #"{"records":{},"emitted":{"k":{"count":1,"fingerprint":01}}}"#,
            #"{"records":{},"emitted":{},"aliases":[1]}"#,
        ]
        for text in refused {
            #expect((try? CanonicalCoding.decoder.decode(Aggregate.self, from: Data(text.utf8))) == nil, "\(text)")
            #expect(throws: AggregateReadError.self, "\(text)") { try Aggregate(canonicalJSON: Data(text.utf8)) }
        }
    }

    /// The standing read from an aggregate decodes only what the rule reads (the facts of each invoice, the failed
    /// payments): the same standing as from every invoice and payment decoded whole, on every customer of a story.
    @Test func theStandingFromAnAggregateIsTheStandingFromAllItsRecords() throws {
        var pastDue = 0
        for stored in try Self.storyAggregates(prefix: "S") {
            let aggregate = stored.aggregate
            guard let customer = aggregate.records(of: .customer).first?.ref else { continue }
            let whole = StandingRule.standing(
                of: customer, invoices: aggregate.records(of: .invoice).compactMap { $0.state.decode(Invoice.self) },
                payments: aggregate.records(of: .payment).compactMap { $0.state.decode(Payment.self) })
            #expect(StandingRule.standing(of: customer, in: aggregate) == whole)
            if whole.state == .pastDue { pastDue += 1 }
        }
        // The story leaves some customers past due and pays the rest: both ways are compared.
        #expect(pastDue > 0)
    }

    @Test func agreesWithFoundationOnEveryRecordOfAStory() throws {
        let aggregates = try Self.storyAggregates()
        var records = 0
        for stored in aggregates {
            for state in stored.aggregate.records.values {
                let value = JSONValue.object(state.fields)
                #expect(agree(Customer.self, value))
                #expect(agree(Product.self, value))
                #expect(agree(Subscription.self, value))
                #expect(agree(Invoice.self, value))
                #expect(agree(Payment.self, value))
                #expect(agree(Refund.self, value))
                records += 1
            }
        }
        #expect(records > 50)
    }

    /// The delivery loop reads every claimed command with `StoredCommand.command()` (parsed, then decoded from the
    /// tree): each command a story routes reads back as Foundation's decoder reads it, and as it was written.
    @Test func everyCommandOfAStoryReadsBackAsFoundationReadsIt() throws {
        var commands = 0
        _ = try Self.storyAggregates { result in
            for new in result.commands {
                let bytes = try CanonicalCoding.encode(new.payload)
                let stored = StoredCommand(
                    id: CommandID(1), target: new.target, entityKey: new.entityKey, idempotencyKey: new.idempotencyKey,
                    payload: bytes, traceID: TraceID("t"), attempts: 1, createdAt: Date(), status: .pending,
                    nextAttemptAt: Date(), lastError: nil, deliveredAt: nil, targetRecord: nil)
                let read = stored.command()?.payload
                #expect(read == (try CanonicalCoding.decoder.decode(TargetCommand.self, from: bytes)))
                #expect(read == new.payload)
                commands += 1
            }
        }
        #expect(commands > 50)
        let unreadable = StoredCommand(
            id: CommandID(2), target: "odoo", entityKey: EntityKey("k"), idempotencyKey: IdempotencyKey("i"),
            payload: Data(#"{"noSuchCommand":{}}"#.utf8), traceID: TraceID("t"), attempts: 1, createdAt: Date(),
            status: .dead, nextAttemptAt: Date(), lastError: "payload unreadable by this version of Weft", deliveredAt: nil,
            targetRecord: nil, kind: "upsert_customer")
        #expect(unreadable.command() == nil)
        // Listed all the same (`weft dlq list`, `GET /v1/commands`), with the kind stored beside it.
        let view = CommandView(unreadable)
        #expect(view.kind == "upsert_customer")
        #expect(view.subject == CommandView.unreadableSubject)
        #expect(view.status == "dead")
    }

    /// External refs are read directly when well formed: the same value as Foundation's, or no value where it has none.
    @Test(arguments: [
        #"{"system": "stripe", "kind": "invoice", "id": "in_1"}"#, #"{"system": "s", "kind": "customer", "id": "é/😀", "extra": 1}"#,
        #"{"system": "s", "kind": "nothing", "id": "x"}"#, #"{"system": "s", "kind": "invoice"}"#,
        #"{"system": 1, "kind": "invoice", "id": "x"}"#,
        #"{"system": "s", "kind": "invoice", "id": null}"#, #"["s", "invoice", "x"]"#,
    ])
    func externalRefsAgreeWithFoundation(_ text: String) throws {
        let value = try JSONValue.parse(Data(text.utf8))
        #expect(agree(ExternalRef.self, value), "\(text)")
        if let ref = try? value.decode(ExternalRef.self) {
            // And written back as Foundation writes it.
            #expect(try CanonicalCoding.encode(ref) == CanonicalCoding.encoder.encode(ref))
        }
    }

    struct Sample: Decodable, Equatable {
        var int: Int?
        var int64: Int64?
        var double: Double?
        var float: Float?
        var flag: Bool?
        var text: String?
        var when: Date?
        var list: [Int]?
        var nested: [String: [Double]]?
        var any: JSONValue?
        var small: UInt8?
    }

    @Test(arguments: [
        #"{"int": 1.0, "int64": 9007199254740993, "double": 2, "float": 1.5, "flag": true, "text": "x", "when": 1700000000123}"#,
        #"{"list": [1, 2, 3], "nested": {"a": [1, 2.5]}, "any": {"k": [null, 1]}, "small": 255}"#,
        #"{"int": null, "text": null, "list": null}"#,
        #"{"int": 1.5}"#, #"{"int": "1"}"#, #"{"flag": 1}"#, #"{"text": 5}"#, #"{"small": 256}"#, #"{"list": [1, null]}"#,
        #"{"list": {"a": 1}}"#, #"{"nested": []}"#, #"{"when": "2024-01-01"}"#, #"[]"#, #"null"#, #"{}"#,
    ])
    func agreesWithFoundationOnEdgeCases(_ text: String) throws {
        let value = try JSONValue.parse(Data(text.utf8))
        #expect(agree(Sample.self, value), "\(text)")
    }
}

/// Where a value does not decode, the tree decoder's error names the same place as Foundation's: the decoder builds
/// coding paths only when it fails, so this is what would notice a wrong one.
@Suite("Decoding errors from the value tree")
struct TreeDecodingErrorTests {
    struct Probe: Decodable {
        var name: String
        var count: Int
        var when: Date?
        var items: [Item]
        struct Item: Decodable {
            var ref: ExternalRef
            var amount: Int64
            var note: String?
        }
    }

    /// The kind of error and its coding path, as text.
    static func described(_ error: any Error) -> String {
        func path(_ context: DecodingError.Context) -> String { context.codingPath.map(\.stringValue).joined(separator: ".") }
        switch error as? DecodingError {
        case .typeMismatch(_, let context): return "typeMismatch at \(path(context))"
        case .valueNotFound(_, let context): return "valueNotFound at \(path(context))"
        case .keyNotFound(let key, let context): return "keyNotFound \(key.stringValue) at \(path(context))"
        case .dataCorrupted(let context): return "dataCorrupted at \(path(context))"
        default: return "\(error)"
        }
    }

    @Test(arguments: [
        #"{"name": 5, "count": 1, "items": []}"#,
        #"{"name": "a", "count": null, "items": []}"#,
        #"{"name": "a", "items": []}"#,
        #"{"name": "a", "count": 1, "when": "today", "items": []}"#,
        #"{"name": "a", "count": 1, "items": [{"ref": {"system": "s", "kind": "invoice", "id": "i"}, "amount": 1}, {"ref": {"system": "s", "kind": "invoice", "id": "j"}, "amount": "x"}]}"#,
        #"{"name": "a", "count": 1, "items": [{"ref": {"system": "s", "kind": "invoice"}, "amount": 1}]}"#,
        #"{"name": "a", "count": 1, "items": [{"ref": {"system": "s", "kind": "nothing", "id": "i"}, "amount": 1}]}"#,
        #"{"name": "a", "count": 1, "items": [{"ref": {"system": "s", "kind": "invoice", "id": "i"}, "amount": 1, "note": 3}]}"#,
        #"{"name": "a", "count": 1, "items": [null]}"#,
        #"{"name": "a", "count": 1, "items": {"a": 1}}"#,
    ])
    func namesTheSamePlaceAsFoundation(_ text: String) throws {
        let value = try JSONValue.parse(Data(text.utf8))
        var ours = "decoded"
        var theirs = "decoded"
        do { _ = try value.decode(Probe.self) } catch { ours = Self.described(error) }
        do { _ = try CanonicalCoding.decoder.decode(Probe.self, from: Data(text.utf8)) } catch { theirs = Self.described(error) }
        #expect(ours != "decoded")
        #expect(ours == theirs, "\(text)")
    }
}
