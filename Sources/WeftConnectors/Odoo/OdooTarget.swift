public import AsyncHTTPClient
public import Logging
public import WeftCore

/// Delivers Weft's commands to Odoo with exactly-once effect.
///
/// Every record Weft creates carries its key in a field of the record itself, written by the same call that creates
/// it (`ref` on partners and invoices, `default_code` on products, the payment memo, the credit note's reversal
/// reason). Lookups go external id → key field → create, and the `weft.*` external id is added afterwards as
/// bookkeeping, so a crash between any two calls never leads to a second record. See `docs/connectors/odoo.md`.
public struct OdooTarget: TargetConnector {
    /// The client used for every call.
    public let client: OdooClient
    /// Most commands per `deliver` call.
    public var maxBatchSize: Int { client.configuration.maxBatchSize }

    /// - Parameters:
    ///   - configuration: the Odoo database and mapping options.
    ///   - httpClient: the shared HTTP client.
    ///   - gate: the target's request gate (rate limit at the wire).
    public init(configuration: OdooConfiguration, httpClient: HTTPClient, gate: any RequestGate) {
        self.client = OdooClient(configuration: configuration, httpClient: httpClient, gate: gate)
    }

    /// Wraps an existing client.
    public init(client: OdooClient) {
        self.client = client
    }

    /// Delivers the batch's commands, kind by kind, with the external ids of every record they look for read in one
    /// lookup first (see `OdooExternalIDMemo`).
    public func deliver(_ batch: [OutboxCommand], logger: Logger) async -> [DeliveryOutcome] {
        let target = OdooTarget(client: client.remembering(OdooExternalIDMemo()))
        let names = Self.externalIDNames(of: batch)
        if !names.isEmpty {
            do {
                _ = try await target.client.externalIDRows(names, logger: logger)
            } catch {
                // Each command's own lookup meets the failure again, and its outcome says what it means for that command.
                logger.debug("odoo external-id lookup for the batch failed", metadata: ["weft.odoo.error": "\(error)"])
            }
        }
        return await target.deliverKindByKind(batch, logger: logger)
    }

    /// The external-id names the batch's commands look up: their own records' and those they refer to.
    static func externalIDNames(of batch: [OutboxCommand]) -> [String] {
        var refs: [ExternalRef] = []
        for command in batch {
            switch command.payload {
            case .upsertCustomer(let customer): refs.append(customer.ref)
            case .upsertProduct(let product): refs.append(product.ref)
            case .upsertInvoice(let invoice):
                refs += [invoice.customer.ref, invoice.invoice.ref] + (invoice.invoice.lines ?? []).compactMap(\.productRef)
            case .registerPayment(let payment): refs += [payment.ref] + [payment.invoiceRef].compactMap { $0 }
            case .createRefund(let refund): refs += [refund.ref] + [refund.invoiceRef].compactMap { $0 }
            case .setStanding(let standing): refs.append(standing.customerRef)
            case .applyCredit(let credit): refs += [credit.invoiceRef] + credit.creditRefs
            default: break
            }
        }
        return Array(Set(refs.map(\.xmlidName))).sorted()
    }

    private func deliverKindByKind(_ batch: [OutboxCommand], logger: Logger) async -> [DeliveryOutcome] {
        var outcomes = [DeliveryOutcome?](repeating: nil, count: batch.count)
        var customers: [(Int, Customer)] = []
        var products: [(Int, Product)] = []
        var invoices: [(Int, InvoiceCommand)] = []
        var payments: [(Int, Payment)] = []
        var refunds: [(Int, Refund)] = []
        var standings: [(Int, Standing)] = []
        var others: [Int] = []
        for (index, command) in batch.enumerated() {
            switch command.payload {
            case .upsertCustomer(let customer): customers.append((index, customer))
            case .upsertProduct(let product): products.append((index, product))
            case .upsertInvoice(let invoice): invoices.append((index, invoice))
            case .registerPayment(let payment): payments.append((index, payment))
            case .createRefund(let refund): refunds.append((index, refund))
            case .setStanding(let standing): standings.append((index, standing))
            default: others.append(index)
            }
        }
        // Dependencies first: partners and products, then invoices, then what refers to invoices.
        for (index, outcome) in await batched(customers, logger: logger, upsertCustomers) { outcomes[index] = outcome }
        for (index, outcome) in await batched(products, logger: logger, upsertProducts) { outcomes[index] = outcome }
        for (index, outcome) in await batched(invoices, logger: logger, upsertInvoices) { outcomes[index] = outcome }
        for (index, outcome) in await batched(payments, logger: logger, registerPayments) { outcomes[index] = outcome }
        for (index, outcome) in await batched(refunds, logger: logger, createRefunds) { outcomes[index] = outcome }
        // The external ids of the payments and credit notes just made, in one call: bookkeeping only (each is found by
        // its memo or its reason without it), so a failure leaves their outcomes as they are.
        do {
            try await client.bindHeldBack(logger: logger)
        } catch {
            logger.info(
                "odoo bookkeeping of payments and credit notes failed; they are found by their key fields",
                metadata: ["weft.odoo.error": "\(error)"])
        }
        for (index, outcome) in await batched(standings, logger: logger, setStandings) { outcomes[index] = outcome }
        for index in others {
            let command = batch[index]
            var commandLogger = logger
            commandLogger[metadataKey: "weft.command.id"] = "\(command.id)"
            commandLogger[metadataKey: "weft.command.kind"] = "\(command.payload.kind)"
            do {
                switch command.payload {
                case .applyCredit(let credit): outcomes[index] = try await applyCredit(credit, logger: commandLogger)
                case .upsertSubscription(let subscription):
                    outcomes[index] = try await upsertSubscription(subscription, logger: commandLogger)
                case .upsertOrder(let deal): outcomes[index] = try await upsertOrder(deal, logger: commandLogger)
                case .upsertCustomer, .upsertProduct, .upsertInvoice, .registerPayment, .createRefund, .setStanding:
                    break
                case .syncAccount(let sync): outcomes[index] = try await syncAccount(sync, logger: commandLogger)
                case .updateDealStatus:
                    outcomes[index] = .reject(DeliveryFailure(kind: .rejected, message: "Odoo does not take deal status commands"))
                case .syncEntitlement:
                    // Routed to support desks only; Odoo shows standing through `setStandings`.
                    outcomes[index] = .reject(
                        DeliveryFailure(kind: .rejected, message: "Odoo does not take entitlement commands"))
                }
            } catch {
                outcomes[index] = Self.outcome(for: error, logger: commandLogger)
            }
        }
        return outcomes.map { $0 ?? .retry(DeliveryFailure(kind: .transport, message: "not attempted")) }
    }

    /// Runs `body` on all items at once; if that fails, on each item alone so that one bad record does not take
    /// down the others, and maps errors to outcomes.
    private func batched<Item>(
        _ items: [(Int, Item)], logger: Logger,
        _ body: ([Item], Logger) async throws(OdooError) -> [DeliveryOutcome]
    ) async -> [(Int, DeliveryOutcome)] {
        guard !items.isEmpty else { return [] }
        do {
            let outcomes = try await body(items.map(\.1), logger)
            return Array(zip(items.map(\.0), outcomes))
        } catch {
            guard items.count > 1, !error.isTransient || error.kind == .missingRecord else {
                let outcome = Self.outcome(for: error, logger: logger)
                return items.map { ($0.0, outcome) }
            }
            var results: [(Int, DeliveryOutcome)] = []
            for (index, item) in items {
                do {
                    let outcome = try await body([item], logger)
                    results.append((index, outcome[0]))
                } catch {
                    results.append((index, Self.outcome(for: error, logger: logger)))
                }
            }
            return results
        }
    }

    /// Transient errors retry (with Odoo's Retry-After when given); the rest reject with what to fix.
    static func outcome(for error: OdooError, logger: Logger) -> DeliveryOutcome {
        logger.info("odoo delivery failed", metadata: ["weft.odoo.error": "\(error)"])
        let where_ = error.operation.map { " (\($0))" } ?? ""
        switch error.kind {
        case .rateLimited:
            return .retry(
                DeliveryFailure(kind: .rateLimited, message: "Odoo rate limit\(where_)", status: error.status, retryAfter: error.retryAfter)
            )
        case .transport, .cancelled:
            return .retry(DeliveryFailure(kind: .transport, message: error.description, status: error.status))
        case .unavailable, .conflict, .invalidResponse:
            return .retry(
                DeliveryFailure(kind: .unavailable, message: error.description, status: error.status, retryAfter: error.retryAfter))
        case .missingRecord:
            return .retry(DeliveryFailure(kind: .dependencyMissing, message: error.description, status: error.status))
        case .authentication:
            return .reject(
                DeliveryFailure(
                    kind: .unauthorized,
                    message:
                        "Odoo refused the credentials\(where_): check the login, API key and database in the Odoo target configuration",
                    status: error.status))
        case .accessDenied:
            return .reject(
                DeliveryFailure(
                    kind: .unauthorized,
                    message: "the Odoo user lacks rights\(where_): grant it Invoicing/Accounting and Contacts access. \(error.message)",
                    status: error.status))
        case .notFound:
            return .reject(
                DeliveryFailure(
                    kind: .rejected,
                    message:
                        "Odoo does not know this model or method\(where_): install the Invoicing app or check the version. \(error.message)",
                    status: error.status))
        case .configuration:
            return .reject(DeliveryFailure(kind: .rejected, message: "Odoo target configuration: \(error.message)"))
        default:
            return .reject(
                DeliveryFailure(
                    kind: .rejected,
                    message: "Odoo refused the data\(where_): \(error.message) — fix the record or Odoo's setup, then replay",
                    status: error.status))
        }
    }

    static func dependencyMissing(_ message: String) -> DeliveryOutcome {
        .retry(DeliveryFailure(kind: .dependencyMissing, message: message))
    }
}
