public import AsyncHTTPClient
public import Logging
public import WeftCore

/// The deal properties Weft writes the ERP status to (`nil`: not written). They must exist in the portal
/// (Settings → Properties → Deal), e.g. as single-line text or dropdowns with the values of `DealERPStatus`.
public struct HubSpotStatusProperties: Sendable, Hashable {
    public var orderRef: String?
    public var orderState: String?
    public var invoiceStatus: String?
    public var paymentStanding: String?

    public init(
        orderRef: String? = "erp_order_ref", orderState: String? = nil, invoiceStatus: String? = "invoice_status",
        paymentStanding: String? = "payment_standing"
    ) {
        self.orderRef = orderRef
        self.orderState = orderState
        self.invoiceStatus = invoiceStatus
        self.paymentStanding = paymentStanding
    }

    /// The property values for a status.
    func values(_ status: DealERPStatus) -> [String: String?] {
        var values: [String: String?] = [:]
        if let orderRef { values[orderRef] = .some(status.orderRef) }
        if let orderState { values[orderState] = .some(status.orderState) }
        if let invoiceStatus { values[invoiceStatus] = .some(status.invoiceStatus) }
        if let paymentStanding { values[paymentStanding] = .some(status.paymentStanding) }
        return values
    }
}

/// Writes to HubSpot: deal status (`update_deal_status`, one batch update of ≤100 deals per delivery) and accounts
/// (`sync_account`, one batch update of the companies and one of their contacts per delivery). Writing the same values
/// again changes nothing in HubSpot, so a redelivered command is harmless; the change comes back as a webhook whose
/// re-read record gives the same canonical state, so nothing loops.
public struct HubSpotTarget: TargetConnector {
    let client: HubSpotClient
    let properties: HubSpotStatusProperties
    let accounts: HubSpotAccountMapping
    let owners: HubSpotOwnerDirectory

    public var maxBatchSize: Int { 100 }

    /// - Parameters:
    ///   - configuration: the HubSpot account.
    ///   - properties: the deal properties status is written to.
    ///   - accounts: where accounts' fields are written (default: HubSpot's standard properties, `industry`,
    ///     `hubspot_owner_id`, no tax id or payment terms).
    ///   - httpClient: the shared HTTP client.
    ///   - gate: HubSpot's request gate.
    public init(
        configuration: HubSpotConfiguration, properties: HubSpotStatusProperties,
        accounts: HubSpotAccountMapping = HubSpotAccountMapping(), httpClient: HTTPClient, gate: any RequestGate
    ) {
        self.client = HubSpotClient(http: OutboundHTTPClient(client: httpClient, gate: gate), configuration: configuration)
        self.properties = properties
        self.accounts = accounts
        self.owners = HubSpotOwnerDirectory(client: client)
    }

    public func deliver(_ batch: [OutboxCommand], logger: Logger) async -> [DeliveryOutcome] {
        var outcomes = [DeliveryOutcome?](repeating: nil, count: batch.count)
        var statuses: [(index: Int, update: DealStatusUpdate)] = []
        var syncs: [(index: Int, sync: AccountSync)] = []
        for (index, command) in batch.enumerated() {
            switch command.payload {
            case .updateDealStatus(let update): statuses.append((index, update))
            case .syncAccount(let sync): syncs.append((index, sync))
            default:
                outcomes[index] = .reject(
                    DeliveryFailure(
                        kind: .rejected, message: "HubSpot takes deal status and accounts only, not \(command.payload.kind)"))
            }
        }
        for (index, outcome) in await deliverStatuses(statuses, logger: logger) { outcomes[index] = outcome }
        for (index, outcome) in await deliverAccounts(syncs, logger: logger) { outcomes[index] = outcome }
        return outcomes.map { $0 ?? .retry(DeliveryFailure(kind: .transport, message: "not attempted")) }
    }

    private func deliverStatuses(_ statuses: [(index: Int, update: DealStatusUpdate)], logger: Logger) async -> [Int: DeliveryOutcome] {
        var outcomes: [Int: DeliveryOutcome] = [:]
        var inputs: [HubSpotUpdateInput] = []
        var indexByDeal: [String: [Int]] = [:]
        for (index, update) in statuses {
            // One input per deal (HubSpot refuses duplicate ids in a batch); the newest command wins.
            if indexByDeal[update.deal.id] == nil {
                inputs.append(HubSpotUpdateInput(id: update.deal.id, properties: properties.values(update.status)))
            } else if let position = inputs.firstIndex(where: { $0.id == update.deal.id }) {
                inputs[position] = HubSpotUpdateInput(id: update.deal.id, properties: properties.values(update.status))
            }
            indexByDeal[update.deal.id, default: []].append(index)
        }
        guard !inputs.isEmpty else { return [:] }
        do {
            let result = try await client.batchUpdate(.deals, inputs, logger: logger)
            let missing = Set(result.errors.flatMap(\.ids))
            for (deal, indexes) in indexByDeal {
                let outcome: DeliveryOutcome =
                    missing.contains(deal)
                    ? .reject(
                        DeliveryFailure(
                            kind: .rejected, message: "HubSpot has no deal \(deal) (deleted or merged); nothing to update"))
                    : .delivered(record: TargetRecordID(model: "deal", id: deal), note: nil)
                for index in indexes { outcomes[index] = outcome }
            }
        } catch {
            for index in indexByDeal.values.joined() { outcomes[index] = error.outcome }
        }
        return outcomes
    }
}

extension HubSpotTarget {
    /// The commands of one company in a batch: the newest command's account and contacts, the fields any of them
    /// names.
    private struct AccountWrite {
        var indexes: [Int]
        var account: Account
        var fields: Set<String>
        var contactFields: Set<String>
        var contacts: [String: Contact]
        var outcome: DeliveryOutcome?
        var missingContacts: [String] = []
    }

    /// One batch update of the companies (≤100), then one of their contacts; an owner named by email is written as
    /// its HubSpot owner id.
    fileprivate func deliverAccounts(_ syncs: [(index: Int, sync: AccountSync)], logger: Logger) async -> [Int: DeliveryOutcome] {
        var order: [String] = []
        var writes: [String: AccountWrite] = [:]
        for (index, sync) in syncs {
            let id = sync.account.ref.id
            // The newest command's state wins; the fields any command names are written.
            let contacts = sync.contacts.filter { $0.ref.kind == .contact && $0.ref.system == sync.account.ref.system }
            if var write = writes[id] {
                write.indexes.append(index)
                write.account = sync.account
                write.fields.formUnion(sync.fields)
                write.contactFields.formUnion(sync.contactFields)
                for contact in contacts { write.contacts[contact.ref.id] = contact }
                writes[id] = write
            } else {
                order.append(id)
                writes[id] = AccountWrite(
                    indexes: [index], account: sync.account, fields: Set(sync.fields), contactFields: Set(sync.contactFields),
                    contacts: Dictionary(contacts.map { ($0.ref.id, $0) }) { _, newest in newest })
            }
        }
        // Companies.
        var companyInputs: [HubSpotUpdateInput] = []
        for id in order {
            guard var write = writes[id] else { continue }
            var ownerID: String?
            if accounts.owner != nil, write.fields.contains("owner"), let email = write.account.owner {
                do {
                    ownerID = try await owners.ownerID(email: email, logger: logger)
                } catch {
                    write.outcome = error.outcome
                }
                if write.outcome == nil, ownerID == nil {
                    write.outcome = .reject(
                        DeliveryFailure(
                            kind: .rejected,
                            message:
                                "HubSpot has no active owner with the email \(email) for company \(id): add the user in "
                                + "HubSpot (Settings → Users & Teams) or change the account's owner"))
                }
                writes[id] = write
            }
            guard write.outcome == nil else { continue }
            let values = accounts.companyValues(write.account, fields: Array(write.fields), ownerID: ownerID)
            if !values.isEmpty { companyInputs.append(HubSpotUpdateInput(id: id, properties: values)) }
        }
        let companies = await update(.companies, companyInputs, logger: logger)
        for id in order {
            if let error = companies.failures[id] {
                writes[id]?.outcome = error.outcome
            } else if companies.missing.contains(id) {
                writes[id]?.outcome = .reject(
                    DeliveryFailure(kind: .rejected, message: "HubSpot has no company \(id) (deleted or merged); nothing to update"))
            }
        }
        // Their contacts.
        var contactInputs: [String: HubSpotUpdateInput] = [:]
        var companyOfContact: [String: String] = [:]
        for id in order {
            guard let write = writes[id], write.outcome == nil, !write.contactFields.isEmpty else { continue }
            for (contactID, contact) in write.contacts {
                let values = HubSpotAccountMapping.contactValues(contact, fields: Array(write.contactFields))
                guard !values.isEmpty else { continue }
                contactInputs[contactID] = HubSpotUpdateInput(id: contactID, properties: values)
                companyOfContact[contactID] = id
            }
        }
        let contacts = await update(
            .contacts, contactInputs.keys.sorted(by: HubSpotDealReader.idOrder).compactMap { contactInputs[$0] }, logger: logger)
        for (contactID, id) in companyOfContact {
            if let error = contacts.failures[contactID] {
                writes[id]?.outcome = error.outcome
            } else if contacts.missing.contains(contactID) {
                writes[id]?.missingContacts.append(contactID)
            }
        }
        var outcomes: [Int: DeliveryOutcome] = [:]
        for id in order {
            guard let write = writes[id] else { continue }
            let missing = write.missingContacts.sorted(by: HubSpotDealReader.idOrder)
            let outcome =
                write.outcome
                ?? .delivered(
                    record: TargetRecordID(model: "company", id: id),
                    note: missing.isEmpty
                        ? nil : "HubSpot has no contact \(missing.joined(separator: ", ")) (deleted or merged); not updated")
            for index in write.indexes { outcomes[index] = outcome }
        }
        return outcomes
    }

    /// A batch update whose failures are told apart per input: ids HubSpot does not find (`missing`) and inputs that
    /// failed (`failures`). A 400 for a batch of several inputs is retried one input at a time, so that one invalid
    /// value does not fail the others.
    private func update(_ type: HubSpotObjectType, _ inputs: [HubSpotUpdateInput], logger: Logger) async -> (
        missing: Set<String>, failures: [String: HubSpotAPIError]
    ) {
        guard !inputs.isEmpty else { return ([], [:]) }
        do {
            let result = try await client.batchUpdate(type, inputs, logger: logger)
            return (Set(result.errors.flatMap(\.ids)), [:])
        } catch  where error.kind == .invalid && inputs.count > 1 {
            var missing: Set<String> = []
            var failures: [String: HubSpotAPIError] = [:]
            for input in inputs {
                let single = await update(type, [input], logger: logger)
                missing.formUnion(single.missing)
                failures.merge(single.failures) { first, _ in first }
            }
            return (missing, failures)
        } catch {
            return ([], Dictionary(inputs.map { ($0.id, error) }) { first, _ in first })
        }
    }
}
