import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PropertyBased
import Testing
import WeftConnectors
import WeftCore
import WeftRuntime
import WeftServer
import WeftSimKit
import WeftTools

/// Duplicate deliveries and shuffled delivery orders must converge to the same target state as in-order delivery.
///
/// The pipeline's pure core (Stripe decoder, governor, level-triggered router) runs over random permutations of a
/// story with random duplicates (as redeliveries, replays or a lost lease would cause). The target state is modelled
/// as what an upserting target holds: the last payload written under each command key.
@Suite("Convergence under duplicates and reordering")
struct ConvergencePropertyTests {
    static let story = StripeEventFactory(prefix: "P").story(customers: 8)

    static func process(_ events: [StripeTestEvent]) -> [String: TargetCommand] {
        let processor = PipelineProcessor(
            governor: Governor(ownership: OwnershipRules(owners: ["customer.address": "odoo"])),
            router: CommandRouter(
                flows: [Flow(name: "billing_to_erp", source: "stripe", target: "odoo")],
                ownership: OwnershipRules(owners: ["customer.address": "odoo"])),
            decoders: ["stripe": StripeDecoder()])
        var aggregates: [EntityKey: StoredAggregate] = [:]
        var target: [String: TargetCommand] = [:]
        // The store's part, modelled: adopted provisional keys, and the events processed under each key so far (moved
        // to the adopter and processed again there when their key is adopted).
        var aliases: [EntityKey: EntityKey] = [:]
        var processedUnder: [EntityKey: [InboxEvent]] = [:]
        func handle(_ arrived: InboxEvent) {
            var inbox = arrived
            if let owner = aliases[inbox.entityKey] { inbox.entityKey = owner }
            let (result, _) = processor.process(inbox, stored: aggregates[inbox.entityKey])
            #expect(result.status == EventStatus.done, "event \(inbox.type) was not processed: \(result.outcome)")
            if let aggregate = result.aggregate {
                aggregates[inbox.entityKey] = StoredAggregate(
                    aggregate: aggregate, version: (aggregates[inbox.entityKey]?.version ?? 0) + 1)
            }
            for command in result.commands {
                let key = "\(command.payload.kind)|\(command.payload.subject)"
                // Odoo shows standing as a tag: present while past due, absent otherwise.
                if case .setStanding(let standing) = command.payload {
                    target[key] =
                        standing.state == .pastDue
                        ? .setStanding(Standing(customerRef: standing.customerRef, state: .pastDue, since: .distantPast)) : nil
                } else {
                    target[key] = command.payload
                }
            }
            processedUnder[inbox.entityKey, default: []].append(inbox)
            for alias in result.adoptedAliases where aliases[alias] == nil {
                aliases[alias] = inbox.entityKey
                aggregates[alias] = nil
                for moved in processedUnder.removeValue(forKey: alias) ?? [] { handle(moved) }
            }
        }
        for (index, event) in events.enumerated() {
            guard let envelope = try? StripeEventEnvelope.parse(event.body, system: "stripe") else {
                Issue.record("factory event does not parse")
                continue
            }
            let incoming = envelope.incomingEvent(
                system: "stripe", payload: event.body, receivedAt: Date(), traceID: TraceID("t"))
            handle(
                InboxEvent(
                    seq: EventSeq(Int64(index + 1)), system: incoming.system, eventID: incoming.eventID,
                    type: incoming.type, entityKey: incoming.entityKey, occurredAt: incoming.occurredAt,
                    receivedAt: incoming.receivedAt, payload: incoming.payload, traceID: incoming.traceID,
                    status: .processing, attempts: 1, outcome: nil))
        }
        return target
    }

    @Test func inOrderStoryProducesTheExpectedCommands() {
        let target = Self.process(Self.story.events)
        let kinds = target.keys.map { String($0.split(separator: "|")[0]) }
        #expect(kinds.filter { $0 == "upsert_customer" }.count == Self.story.customers.count)
        #expect(kinds.filter { $0 == "upsert_invoice" }.count == Self.story.invoices.count)
        #expect(kinds.filter { $0 == "register_payment" }.count == Self.story.paidInvoices.count)
        #expect(kinds.filter { $0 == "create_refund" }.count == Self.story.refunds.count)
        let pastDue = target.values.filter {
            if case .setStanding(let standing) = $0 { return standing.state == .pastDue }
            return false
        }
        #expect(pastDue.count == Self.story.pastDueCustomers.count)
    }

    @Test func shuffledAndDuplicatedDeliveriesConverge() async {
        let reference = Self.process(Self.story.events)
        await propertyCheck(count: 150, input: Gen.int(in: 0...1_000_000_000), Gen.int(in: 0...12)) { seed, duplicates in
            var generator = SeededGenerator(seed: UInt64(seed))
            var events = Self.story.events.shuffled(using: &generator)
            for _ in 0..<duplicates {
                let copy = events[Int.random(in: 0..<events.count, using: &generator)]
                events.insert(copy, at: Int.random(in: 0...events.count, using: &generator))
            }
            let result = Self.process(events)
            let differing = Set(result.keys).union(reference.keys).filter { result[$0] != reference[$0] }.sorted()
            #expect(
                differing.isEmpty,
                "differs: \(differing.map { "\($0): \(String(describing: result[$0])) vs \(String(describing: reference[$0]))" })")
        }
    }
}

/// The shared seedable generator, for shuffles.
typealias SeededGenerator = SplitMix64

/// The runtime's view of the Stripe decoder.
struct StripeDecoder: EventDecoder {
    let decoder = StripeEventDecoder(system: "stripe")
    func decode(_ event: InboxEvent) throws -> DecodedEvent { try decoder.decode(event) }
}
