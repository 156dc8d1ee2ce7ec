public import Foundation

/// The route stage: turns an aggregate's canonical state into the commands each target still needs. Pure.
///
/// Routing is level-triggered: it computes the commands the *current* state calls for and emits those whose payload
/// differs from what was last emitted for the same key. So the commands converge to the same final effect whatever
/// order (or how many times) events arrive, and a record that must wait for another (a payment for its invoice, a
/// refund for its charge) is emitted on the first pass at which its dependency is known.
public struct CommandRouter: Sendable {
    public var flows: [Flow]
    public var ownership: OwnershipRules
    /// Targets that are support desks: they are sent each account's entitlement, nothing else.
    public var desks: Set<SystemName>
    /// How entitlements are derived for the desks.
    public var entitlements: EntitlementRules
    /// What a won deal of each CRM must carry before it becomes an order (`DealRequirements()` when not configured).
    public var dealRequirements: [SystemName: DealRequirements]
    /// Targets that are CRMs: they are sent the ERP status of their own deals, nothing else.
    public var crms: Set<SystemName>

    public init(
        flows: [Flow], ownership: OwnershipRules, desks: Set<SystemName> = [], entitlements: EntitlementRules = .init(),
        dealRequirements: [SystemName: DealRequirements] = [:], crms: Set<SystemName> = []
    ) {
        self.crms = crms
        self.flows = flows
        self.ownership = ownership
        self.desks = desks
        self.entitlements = entitlements
        self.dealRequirements = dealRequirements
    }

    /// The requirements of `system`'s deals.
    public func requirements(of system: SystemName) -> DealRequirements { dealRequirements[system] ?? DealRequirements() }

    /// The won deals of `aggregate` that miss something, with what each misses: the business exceptions that hold
    /// back their orders until the CRM record is fixed.
    public func incompleteDeals(in aggregate: Aggregate) -> [(deal: Deal, problems: [String])] {
        aggregate.records(of: .deal).compactMap { _, state -> (Deal, [String])? in
            guard let deal = state.decode(Deal.self), deal.won == true, deal.deleted != true else { return nil }
            let problems = requirements(of: deal.ref.system).problems(of: deal)
            return problems.isEmpty ? nil : (deal, problems)
        }
    }

    /// The targets that changes from `source` flow to.
    public func targets(of source: SystemName) -> [SystemName] {
        flows.filter { $0.source == source }.map(\.target)
    }

    /// Computes the commands for the aggregate under `entityKey` whose records came from `source`, and records the
    /// emissions in `aggregate.emitted`. `now` is the instant entitlements are derived for (a grace period may have
    /// run out).
    public func route(entityKey: EntityKey, aggregate: inout Aggregate, source: SystemName, now: Date = Date()) -> [NewCommand] {
        var commands: [NewCommand] = []
        for target in targets(of: source) {
            let desired: [Desired] =
                desks.contains(target)
                ? deskCommands(aggregate: aggregate, source: source, target: target, now: now).map { Desired($0.0, $0.1) }
                : crms.contains(target)
                    ? crmCommands(aggregate: aggregate, target: target).map { Desired($0.0, $0.1) }
                    : desiredCommands(aggregate: aggregate, target: target)
            for item in desired {
                let (key, payload, input) = (item.key, item.command, item.input)
                let tree = try? CanonicalCoding.tree(of: payload)
                var written: [UInt8] = []
                written.reserveCapacity(512)
                let bytes = (try? tree?.write(to: &written)).map { Data(written) } ?? Data()
                let whole = CanonicalCoding.fingerprint(bytes)
                let fingerprint = tree.flatMap(Self.bookedFingerprint) ?? whole
                let emissionKey = "\(target)|\(key)"
                let previous = aggregate.emitted[emissionKey]
                // An emission recorded before fingerprints were of what is booked has its payload's whole fingerprint.
                if let previous, previous.fingerprint == fingerprint || previous.fingerprint == whole {
                    // The same command from a changed input (a field the command does not carry): remember the input,
                    // so the next routing skips it again.
                    aggregate.emitted[emissionKey] = Aggregate.Emission(
                        count: previous.count, fingerprint: fingerprint, input: input ?? previous.input)
                    continue
                }
                let count = (previous?.count ?? 0) + 1
                aggregate.emitted[emissionKey] = Aggregate.Emission(count: count, fingerprint: fingerprint, input: input)
                let emitted = stripTargetOwned(payload, target: target, isUpdate: previous != nil)
                commands.append(
                    NewCommand(
                        target: target, entityKey: entityKey,
                        idempotencyKey: IdempotencyKey("\(emissionKey)|\(count)"), payload: emitted,
                        // The bytes just fingerprinted are what the store writes, unless ownership stripped fields.
                        canonicalPayload: !bytes.isEmpty && emitted == payload ? bytes : nil
                    )
                )
            }
        }
        return commands
    }

    /// What a support desk needs: each billing customer's entitlement, once the customer has a name or email to show.
    /// A deleted customer is not sent for the first time; one the desk already has is still told what changes (the
    /// billing platform cancels its subscriptions with it, whichever event arrives first), so the desk never shows it
    /// entitled for good.
    func deskCommands(aggregate: Aggregate, source: SystemName, target: SystemName, now: Date) -> [(String, TargetCommand)] {
        aggregate.records(of: .customer).compactMap { ref, state -> (String, TargetCommand)? in
            guard let customer = state.decode(Customer.self), customer.ref.system == source,
                customer.name != nil || customer.email != nil
            else { return nil }
            let key = "entitlement|\(ref)"
            if customer.deleted == true && aggregate.emitted["\(target)|\(key)"] == nil { return nil }
            let entitlement = EntitlementRule.derive(account: customer.ref, from: aggregate, rules: entitlements, now: now)
            return (key, .syncEntitlement(DeskEntitlement(customer: customer, entitlement: entitlement)))
        }
    }

    /// What a CRM needs: the ERP status of each of its own deals that has one, and the fields of its own accounts and
    /// contacts that another system set.
    func crmCommands(aggregate: Aggregate, target: SystemName) -> [(String, TargetCommand)] {
        let statuses = aggregate.records(of: .deal).compactMap { ref, state -> (String, TargetCommand)? in
            guard ref.system == target, let deal = state.decode(Deal.self), let status = deal.erp else { return nil }
            return ("status|\(ref)", .updateDealStatus(DealStatusUpdate(deal: ref, status: status)))
        }
        return statuses + accountCommands(aggregate: aggregate, target: target, isERP: false)
    }

    /// Account syncs for `target`: each account (with its contacts) carrying the fields another system set — the
    /// fields `target` set itself are its own already, and a field is set only by its owner (the governor drops the
    /// rest). The payload holds those fields only, so an edit of a field `target` owns emits nothing to it. A CRM is
    /// sent only its own accounts, and only once something else set a field; the ERP is sent every account with a name
    /// (it creates the partner on the first one), with its deletion and merges.
    func accountCommands(aggregate: Aggregate, target: SystemName, isERP: Bool) -> [(String, TargetCommand)] {
        let contacts = aggregate.records(of: .contact)
        return aggregate.records(of: .account).compactMap { ref, state -> (String, TargetCommand)? in
            guard isERP || ref.system == target, let full = state.decode(Account.self) else { return nil }
            func foreign(_ field: String, of record: RecordState) -> Bool {
                record.fields[field] != nil && record.sources[field] != target
            }
            let fields = Account.dataFields.filter { foreign($0, of: state) }
            let own = contacts.filter { $0.state.fields["account"].flatMap { try? $0.decode(ExternalRef.self) } == ref }
            let contactFields = Contact.dataFields.filter { field in own.contains { foreign(field, of: $0.state) } }
            if isERP {
                guard full.name != nil || full.deleted == true else { return nil }
            } else if fields.isEmpty && contactFields.isEmpty {
                return nil
            }
            var account = Account(ref: ref)
            var object = CanonicalCoding.jsonValue(full).objectValue ?? [:]
            for field in Account.dataFields where !fields.contains(field) { object[field] = nil }
            if !isERP {
                object["deleted"] = nil
                object["mergedFrom"] = nil
                object["identity"] = nil
            }
            if let decoded = try? JSONValue.object(object).decode(Account.self) { account = decoded }
            let people = own.compactMap { _, contactState -> Contact? in
                guard var object = CanonicalCoding.jsonValue(contactState.decode(Contact.self)).objectValue else { return nil }
                // One field list for all contacts: a contact whose value of a listed field is the target's own is sent
                // that value back, which changes nothing there.
                for field in Contact.dataFields where !contactFields.contains(field) { object[field] = nil }
                if !isERP { object["deleted"] = nil }
                return try? JSONValue.object(object).decode(Contact.self)
            }
            return (
                "account|\(ref)",
                .syncAccount(AccountSync(account: account, contacts: people, fields: fields, contactFields: contactFields))
            )
        }
    }

    /// A command routing wants a target to have, under its stable key, with the signature of what it was derived from
    /// when that is known (`nil`: derived from more than a few records, compared by its payload only).
    struct Desired {
        var key: String
        var command: TargetCommand
        var input: UInt64?
        init(_ key: String, _ command: TargetCommand, input: UInt64? = nil) {
            self.key = key
            self.command = command
            self.input = input
        }
    }

    /// Bumped when the derivation of a command with a recorded input changes what it emits, so that the next routing
    /// of every aggregate derives those commands again instead of skipping them as unchanged.
    static let derivation: UInt64 = 1

    /// The commands the state calls for, in dependency order, keyed by a stable command key.
    ///
    /// Routing runs on every event, and a customer's aggregate keeps every invoice, payment and refund it ever had. So
    /// that an event costs what it changed rather than the customer's whole history, a command derived from a few
    /// records (a customer, an invoice, a payment and its invoice, a subscription, a refund, the standing) records the
    /// signature of their values as its input when emitted; while those values stay the same, it is skipped without
    /// decoding anything. An invoice's input is what a ledger books of the invoice alone: the customer snapshot it carries is
    /// only for creating the partner if the customer's own command has not landed, so a renamed customer is one
    /// partner update, not one re-sent invoice per invoice it ever had; and its settlement (paid, by which payment and
    /// charge) reaches the ledger as the payment's command, so paying an invoice does not send the invoice again.
    /// Likewise a payment's input leaves out the charge that a later event links it to.
    func desiredCommands(aggregate: Aggregate, target: SystemName) -> [Desired] {
        func settled(_ key: String, _ input: UInt64) -> Bool { aggregate.emitted["\(target)|\(key)"]?.input == input }
        // Accounts first: a won deal's order finds the partner its account made.
        var result = accountCommands(aggregate: aggregate, target: target, isERP: true).map { Desired($0.0, $0.1) }
        // A won, complete deal is an order. A later edit is emitted again: the target creates the order if an earlier
        // command could not (a SKU it did not know), and leaves an existing order alone (it is the ERP's by then).
        for (ref, state) in aggregate.records(of: .deal) {
            guard var deal = state.decode(Deal.self), deal.won == true, deal.deleted != true,
                requirements(of: ref.system).problems(of: deal).isEmpty
            else { continue }
            // The ERP's own status is not part of what the ERP is asked to make true.
            deal.erp = nil
            result.append(Desired("order|\(ref)", .upsertOrder(deal)))
        }
        for (ref, state) in aggregate.records(of: .product) {
            if let product = state.decode(Product.self) { result.append(Desired("product|\(ref)", .upsertProduct(product))) }
        }
        // A customer's command is derived from its record alone: skipped while the record's values stay the same.
        // The decoded customers are needed only for an invoice's snapshot and a standing that has changed.
        let customerRecords = aggregate.records(of: .customer)
        lazy var customers = customerRecords.compactMap { $0.state.decode(Customer.self) }
        for (ref, state) in customerRecords {
            let key = "customer|\(ref)"
            let input = CanonicalCoding.combine(Self.derivation, state.signature)
            if settled(key, input) { continue }
            guard let customer = state.decode(Customer.self),
                customer.name != nil || customer.email != nil || customer.deleted == true
            else { continue }
            result.append(Desired("customer|\(customer.ref)", .upsertCustomer(customer), input: input))
        }
        for (ref, state) in aggregate.records(of: .subscription) {
            let key = "subscription|\(ref)"
            let input = CanonicalCoding.combine(Self.derivation, state.signature)
            if settled(key, input) { continue }
            if let subscription = state.decode(Subscription.self), subscription.status != nil {
                result.append(Desired(key, .upsertSubscription(subscription), input: input))
            }
        }
        var records = RoutedRecords(aggregate)
        // Every invoice and payment in record order: what the standing and the refunds are derived from.
        let ledger = records.ledgerSignature
        for (ref, _) in records.invoiceRecords {
            let key = "invoice|\(ref)"
            let input = records.invoiceInput(ref)
            if settled(key, input) { continue }
            guard let invoice = records.routableInvoice(ref) else { continue }
            if invoice.status == .void && aggregate.emitted["\(target)|\(key)"] == nil { continue }
            let customer =
                customers.first { $0.ref == invoice.customerRef }
                ?? Customer(ref: invoice.customerRef, name: invoice.customerName, email: invoice.customerEmail)
            result.append(Desired(key, .upsertInvoice(InvoiceCommand(invoice: invoice, customer: customer)), input: input))
        }
        for (ref, state) in records.paymentRecords {
            let key = "payment|\(ref)"
            let input = records.paymentInput(ref, state)
            if settled(key, input) { continue }
            // An invoice's own payment that its partial payments cover already registers nothing more.
            guard let payment = records.payment(ref), payment.status == .succeeded, payment.amount.amountMinor > 0,
                let invoiceRef = payment.invoiceRef,
                let invoice = records.routableInvoice(invoiceRef), invoice.status != .void
            else { continue }
            result.append(Desired("payment|\(payment.ref)", .registerPayment(payment), input: input))
        }
        // A refund finds its invoice through any invoice or payment: all of them are its input, with its own values.
        var creditNotes: Set<ExternalRef> = []
        for (ref, state) in aggregate.records(of: .refund) {
            let key = "refund|\(ref)"
            let input = CanonicalCoding.combine(ledger, state.signature)
            if settled(key, input) {
                creditNotes.insert(ref)
                continue
            }
            guard var refund = state.decode(Refund.self) else { continue }
            /// Takes back the credit note a refund that no longer stands made, if it made one.
            func withdraw(_ refund: Refund) {
                if aggregate.emitted["\(target)|\(key)"] != nil { result.append(Desired(key, .createRefund(refund), input: input)) }
            }
            guard refund.status == "succeeded" else {
                // A voided credit note; a refund that failed or was canceled after it succeeded.
                if Refund.withdrawnStatuses.contains(refund.status) { withdraw(refund) }
                continue
            }
            let invoices = records.routableInvoices()
            let payments = records.payments()
            if refund.invoiceRef == nil, let chargeID = refund.chargeID {
                refund.invoiceRef =
                    invoices.values.first { $0.chargeID == chargeID }?.ref
                    ?? payments.first { $0.chargeID == chargeID }?.invoiceRef
            }
            // Current Stripe versions link an invoice to its payment intent only (`invoice_payment.payment`).
            if refund.invoiceRef == nil, let intent = refund.paymentIntentID {
                refund.invoiceRef =
                    invoices.values.first { $0.paymentRef?.id == intent }?.ref
                    ?? payments.first { $0.intentRef?.id == intent }?.invoiceRef
            }
            guard let invoiceRef = refund.invoiceRef, let invoice = invoices[invoiceRef] else { continue }
            if refund.kind == .adjustment {
                // It lowers what the invoice asks for: the target applies it as soon as the invoice is issued. A voided
                // invoice asks for nothing, so an adjustment of it is taken back with it if it was sent (else the
                // target keeps a credit that no longer lowers anything).
                if invoice.status == .void {
                    refund.status = Refund.voidedInvoiceStatus
                    withdraw(refund)
                    continue
                }
            } else {
                guard invoice.status == .paid,
                    payments.contains(where: { $0.invoiceRef == invoiceRef && $0.status == .succeeded })
                        || invoice.amountPaidMinor ?? 0 > 0
                else { continue }
            }
            creditNotes.insert(refund.ref)
            result.append(Desired(key, .createRefund(refund), input: input))
        }
        // After payments and credit notes: what the customer's credit paid of each paid invoice — once the payments
        // the source counts and the credit notes it names are here, so their commands go first and the target never
        // waits on one queued behind this. Only invoices that say a credit paid part of them are decoded for it.
        for (ref, state) in records.invoiceRecords {
            guard let applied = state.fields["creditAppliedMinor"], applied != .null,
                let invoice = records.routableInvoice(ref), invoice.status == .paid, let credit = invoice.creditAppliedMinor,
                credit > 0, let currency = invoice.currency
            else { continue }
            let paid = records.payments().filter { $0.invoiceRef == ref && $0.status == .succeeded }.reduce(0) {
                $0 + $1.amount.amountMinor
            }
            guard paid >= invoice.amountPaidMinor ?? 0, (invoice.appliedCreditRefs ?? []).allSatisfy(creditNotes.contains)
            else { continue }
            result.append(
                Desired(
                    "credit|\(ref)",
                    .applyCredit(
                        InvoiceCredit(
                            invoiceRef: ref, customerRef: invoice.customerRef, amount: Money(amountMinor: credit, currency: currency),
                            creditRefs: invoice.appliedCreditRefs ?? []))
                ))
        }
        for (ref, state) in customerRecords {
            if settled("standing|\(ref)", ledger) { continue }
            guard let customer = state.decode(Customer.self) else { continue }
            let key = "standing|\(customer.ref)"
            let standing = StandingRule.standing(
                of: customer.ref, invoices: records.standingInvoices(), payments: records.payments())
            // A customer who was never past due needs no standing command.
            if standing.state == .good && aggregate.emitted["\(target)|\(key)"] == nil { continue }
            result.append(
                Desired(
                    key,
                    .setStanding(
                        Standing(customerRef: standing.customerRef, state: standing.state, since: standing.since, overdue: standing.overdue)
                    ),
                    input: ledger
                ))
        }
        return result
    }

    /// The fingerprint of what a ledger books of an invoice or payment command, from its encoded tree: the invoice's
    /// `Invoice.bookedFields` without the customer snapshot it carries (its ref only), the payment's
    /// `Payment.bookedFields`; `nil` for other commands (their payload's fingerprint). Routing compares these, so that a
    /// command derived again (its input changed by the derivation's version, or an aggregate stored before inputs) is
    /// not sent again for its settlement alone.
    static func bookedFingerprint(_ tree: JSONValue) -> UInt64? {
        guard case .object(let outer) = tree, outer.count == 1, let (kind, wrapped) = outer.first,
            case .object(var members) = wrapped["_0"] ?? .null
        else { return nil }
        switch kind {
        case "upsertInvoice":
            guard let invoice = members["invoice"]?.objectValue else { return nil }
            members["invoice"] = .object(Invoice.bookedFields(invoice))
            members["customer"] = .object(["ref": members["customer"]?["ref"] ?? .null])
        case "registerPayment":
            members = Payment.bookedFields(members)
        default: return nil
        }
        var bytes = Array(kind.utf8)
        guard (try? JSONValue.object(members).write(to: &bytes)) != nil else { return nil }
        return CanonicalCoding.fingerprint(bytes)
    }

    /// On updates, drops the fields the target itself owns: Weft never overwrites a system of record.
    func stripTargetOwned(_ command: TargetCommand, target: SystemName, isUpdate: Bool) -> TargetCommand {
        guard isUpdate, case .upsertCustomer(var customer) = command else { return command }
        let owned = ownership.fields(ownedBy: target, kind: .customer)
        if owned.isEmpty { return command }
        if owned.contains("name") || owned.contains("*") { customer.name = nil }
        if owned.contains("email") || owned.contains("*") { customer.email = nil }
        if owned.contains("phone") || owned.contains("*") { customer.phone = nil }
        if owned.contains("address") || owned.contains("*") { customer.address = nil }
        if owned.contains("taxID") || owned.contains("*") { customer.taxID = nil }
        return .upsertCustomer(customer)
    }
}
