import Foundation
import Testing
import WeftCore
import WeftSimKit
import WeftSimSalesforce
import _CryptoExtras

@testable import WeftConnectors

/// `SalesforceTarget` against the Salesforce simulator over HTTP: deal status written with one sObject Collections
/// update, and every per-record and whole-call failure classified.
@Suite struct SalesforceTargetTests {
    static let version = "/services/data/v62.0"

    static func opportunity(_ simulator: SalesforceSimulator, _ name: String) throws -> String {
        let result = simulator.call(
            "POST", "\(version)/sobjects/Opportunity",
            body: #"{"Name":"\#(name)","StageName":"Closed Won","CloseDate":"2026-11-30"}"#)
        guard result.status == 201, let id = result.json["id"].string else {
            throw SalesforceTargetTestError("creating an opportunity answered \(result.status)")
        }
        return id
    }

    static func target(_ base: String, fields: SalesforceStatusFields = .init(), gate: any RequestGate = OpenGate())
        -> SalesforceTarget
    {
        SalesforceTarget(
            client: salesforceClient(salesforceConfiguration(base), gate: gate), fields: fields, system: "salesforce")
    }

    static func status(_ opportunity: String, _ invoiceStatus: String, at seconds: TimeInterval = 0, id: Int64 = 1)
        -> OutboxCommand
    {
        let ref = ExternalRef(system: "salesforce", kind: .deal, id: opportunity)
        return OutboxCommand(
            id: CommandID(id), target: "salesforce", entityKey: EntityKey.of(ref), idempotencyKey: IdempotencyKey("k\(id)"),
            payload: .updateDealStatus(
                DealStatusUpdate(
                    deal: ref,
                    status: DealERPStatus(
                        orderRef: "S000\(id)", orderState: "confirmed", invoiceStatus: invoiceStatus, paymentStanding: "good"))),
            traceID: TraceID("trace"), attempts: 0, createdAt: Date(timeIntervalSince1970: 1_767_225_600 + seconds))
    }

    static func writes(_ simulator: SalesforceSimulator) -> [RequestLog.Entry] {
        simulator.requestLog.all.filter { $0.method == "PATCH" && $0.path == "\(version)/composite/sobjects" }
    }

    static func message(_ outcome: DeliveryOutcome) -> String? {
        switch outcome {
        case .delivered: nil
        case .retry(let failure), .reject(let failure): failure.message
        }
    }

    @Test func oneCollectionsCallWritesTheNewestStatusOfEachOpportunity() async throws {
        let simulator = makeSalesforceSimulator()
        try await withSalesforce(simulator) { base in
            let first = try Self.opportunity(simulator, "Acme expansion")
            let second = try Self.opportunity(simulator, "Globex renewal")
            let other = OutboxCommand(
                id: CommandID(9), target: "salesforce", entityKey: EntityKey("stripe/customer/cus_1"),
                idempotencyKey: IdempotencyKey("k9"),
                payload: .upsertCustomer(Customer(ref: ExternalRef(system: "stripe", kind: .customer, id: "cus_1"), name: "A")),
                traceID: TraceID("trace"), attempts: 0, createdAt: Date(timeIntervalSince1970: 1_767_225_600))
            // The newer command for `first` comes first in the batch: time decides, not position.
            let batch = [
                Self.status(first, "paid", at: 20, id: 3), Self.status(second, "invoiced", at: 5, id: 2), other,
                Self.status(first, "invoiced", at: 10, id: 1),
            ]
            let outcomes = await Self.target(base).deliver(batch, logger: salesforceLogger)

            #expect(outcomes[0] == .delivered(record: TargetRecordID(model: "Opportunity", id: first), note: nil))
            #expect(outcomes[1] == .delivered(record: TargetRecordID(model: "Opportunity", id: second), note: nil))
            #expect(outcomes[3] == outcomes[0])
            guard case .reject(let failure) = outcomes[2] else { Issue.record("\(outcomes[2])"); return }
            #expect(failure.message.contains("Salesforce takes deal status and accounts only"))

            #expect(Self.writes(simulator).count == 1)
            let written = try #require(simulator.record("Opportunity", id: first))
            #expect(written["Invoice_Status__c"]?.string == "paid")
            #expect(written["ERP_Order_Ref__c"]?.string == "S0003")
            #expect(written["Payment_Standing__c"]?.string == "good")
            #expect(simulator.record("Opportunity", id: second)?["Invoice_Status__c"]?.string == "invoiced")
        }
    }

    @Test func aDeletedOrUnknownOpportunityIsRejectedAndTheOthersAreWritten() async throws {
        let simulator = makeSalesforceSimulator()
        try await withSalesforce(simulator) { base in
            let live = try Self.opportunity(simulator, "Acme expansion")
            let deleted = try Self.opportunity(simulator, "Initech pilot")
            #expect(simulator.call("DELETE", "\(Self.version)/sobjects/Opportunity/\(deleted)").status == 204)
            let unknown = try #require(SalesforceID.normalise("006ZZ0000000001"))
            let outcomes = await Self.target(base).deliver(
                [Self.status(live, "paid", id: 1), Self.status(deleted, "paid", id: 2), Self.status(unknown, "paid", id: 3)],
                logger: salesforceLogger)
            #expect(outcomes[0] == .delivered(record: TargetRecordID(model: "Opportunity", id: live), note: nil))
            guard case .reject(let gone) = outcomes[1], case .reject(let missing) = outcomes[2] else {
                Issue.record("\(outcomes)")
                return
            }
            #expect(gone.message.contains("opportunity \(deleted) is deleted"))
            #expect(missing.message.contains("Salesforce has no opportunity \(unknown)"))
            #expect(Self.writes(simulator).count == 1)
        }
    }

    @Test func aMissingFieldIsRejectedNamingTheFieldToCreate() async throws {
        let simulator = makeSalesforceSimulator()
        try await withSalesforce(simulator) { base in
            let opportunity = try Self.opportunity(simulator, "Acme expansion")
            let target = Self.target(base, fields: SalesforceStatusFields(orderState: "ERP_Order_State__c"))
            let outcome = await target.deliver([Self.status(opportunity, "paid")], logger: salesforceLogger)[0]
            guard case .reject(let failure) = outcome else { Issue.record("\(outcome)"); return }
            #expect(failure.message.contains("ERP_Order_State__c"))
            #expect(!failure.message.contains("Invoice_Status__c"))
            #expect(failure.message.contains("create it on Opportunity"))
            #expect(failure.message.contains("systems.salesforce.status_fields"))
            // Nothing of the record was written.
            #expect(simulator.record("Opportunity", id: opportunity)?["Invoice_Status__c"] == SimJSON.null)
        }
    }

    @Test func aValueARestrictedPicklistLacksIsRejectedNamingTheField() async throws {
        var customFields = SalesforceSimulator.Configuration.defaultCustomFields
        customFields["Opportunity"] = [
            .init(name: "ERP_Order_Ref__c"),
            .init(
                name: "Invoice_Status__c", type: .picklist, picklistValues: ["not_invoiced", "invoiced", "paid"],
                restricted: true),
            .init(name: "Payment_Standing__c"),
        ]
        let simulator = SalesforceSimulator(
            configuration: .init(
                connectedApps: [
                    salesforceConsumerKey: .init(
                        jwtPublicKeyPEM: salesforceKey.publicKey.pemRepresentation,
                        preAuthorizedUsernames: [salesforceUsername])
                ],
                customFields: customFields))
        try await withSalesforce(simulator) { base in
            let opportunity = try Self.opportunity(simulator, "Acme expansion")
            let target = Self.target(base)
            #expect(
                await target.deliver([Self.status(opportunity, "paid")], logger: salesforceLogger)[0]
                    == .delivered(record: TargetRecordID(model: "Opportunity", id: opportunity), note: nil))
            let outcome = await target.deliver([Self.status(opportunity, "partially_paid", id: 2)], logger: salesforceLogger)[0]
            guard case .reject(let failure) = outcome else { Issue.record("\(outcome)"); return }
            #expect(failure.message.contains("Invoice_Status__c"))
            #expect(failure.message.contains("partially_paid"))
            #expect(failure.message.contains("picklist"))
            #expect(simulator.record("Opportunity", id: opportunity)?["Invoice_Status__c"]?.string == "paid")
        }
    }

    @Test func aLockedRowIsRetriedAndWrittenOnceTheLockIsGone() async throws {
        let simulator = makeSalesforceSimulator()
        try await withSalesforce(simulator) { base in
            let opportunity = try Self.opportunity(simulator, "Acme expansion")
            let target = Self.target(base)
            simulator.setRecordLocked(opportunity)
            let first = await target.deliver([Self.status(opportunity, "paid")], logger: salesforceLogger)[0]
            guard case .retry(let failure) = first else { Issue.record("\(first)"); return }
            #expect(failure.kind == .unavailable)
            #expect(failure.message.contains("UNABLE_TO_LOCK_ROW"))
            simulator.setRecordLocked(opportunity, false)
            #expect(
                await target.deliver([Self.status(opportunity, "paid")], logger: salesforceLogger)[0]
                    == .delivered(record: TargetRecordID(model: "Opportunity", id: opportunity), note: nil))
            #expect(simulator.record("Opportunity", id: opportunity)?["Invoice_Status__c"]?.string == "paid")
        }
    }

    @Test func theRequestLimitAndOutagesRetryEveryCommand() async throws {
        let simulator = makeSalesforceSimulator()
        try await withSalesforce(simulator) { base in
            let opportunity = try Self.opportunity(simulator, "Acme expansion")
            let gate = RecordingGate()
            let target = Self.target(base, gate: gate)
            let batch = [Self.status(opportunity, "paid", id: 1), Self.status(opportunity, "invoiced", at: -5, id: 2)]
            simulator.setApiUsage(used: 15_000)
            let limited = await target.deliver(batch, logger: salesforceLogger)
            for outcome in limited {
                guard case .retry(let failure) = outcome else { Issue.record("\(outcome)"); continue }
                #expect(failure.kind == .rateLimited)
                #expect(failure.message.contains("24-hour API request allocation"))
            }
            // The org's gate was told to hold for the daily allocation.
            #expect(gate.recorded.count == 1)
            simulator.setApiUsage(used: 0)
            simulator.faults.set(FaultPlan(errorRate: 1, errorStatus: 503, pathPrefix: "\(Self.version)/composite"))
            let unavailable = await target.deliver(batch, logger: salesforceLogger)
            #expect(unavailable.allSatisfy { if case .retry = $0 { true } else { false } })
            simulator.faults.set(FaultPlan())
            let delivered = await target.deliver(batch, logger: salesforceLogger)
            #expect(delivered.allSatisfy { if case .delivered = $0 { true } else { false } })
            #expect(simulator.record("Opportunity", id: opportunity)?["Invoice_Status__c"]?.string == "paid")
        }
    }

    @Test func aMalformedIdIsRejectedWithoutACall() async throws {
        let simulator = makeSalesforceSimulator()
        try await withSalesforce(simulator) { base in
            let outcome = await Self.target(base).deliver([Self.status("not-an-id", "paid")], logger: salesforceLogger)[0]
            #expect(Self.message(outcome)?.contains("is not a Salesforce record id") == true)
            #expect(Self.writes(simulator).isEmpty)
        }
    }
}

struct SalesforceTargetTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
