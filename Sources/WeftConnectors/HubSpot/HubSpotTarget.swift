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

/// Writes deal status to HubSpot: one batch update (≤100 deals) per delivery. Writing the same values again changes
/// nothing in HubSpot, so a redelivered command is harmless; the change comes back as a webhook whose re-read deal is
/// the same snapshot (Weft does not read these properties), so nothing loops.
public struct HubSpotTarget: TargetConnector {
    let client: HubSpotClient
    let properties: HubSpotStatusProperties

    public var maxBatchSize: Int { 100 }

    public init(
        configuration: HubSpotConfiguration, properties: HubSpotStatusProperties, httpClient: HTTPClient, gate: any RequestGate
    ) {
        self.client = HubSpotClient(http: OutboundHTTPClient(client: httpClient, gate: gate), configuration: configuration)
        self.properties = properties
    }

    public func deliver(_ batch: [OutboxCommand], logger: Logger) async -> [DeliveryOutcome] {
        var outcomes = [DeliveryOutcome?](repeating: nil, count: batch.count)
        var inputs: [HubSpotUpdateInput] = []
        var indexByDeal: [String: [Int]] = [:]
        for (index, command) in batch.enumerated() {
            guard case .updateDealStatus(let update) = command.payload else {
                outcomes[index] = .reject(
                    DeliveryFailure(kind: .rejected, message: "HubSpot takes deal status only, not \(command.payload.kind)"))
                continue
            }
            // One input per deal (HubSpot refuses duplicate ids in a batch); the newest command wins.
            if indexByDeal[update.deal.id] == nil {
                inputs.append(HubSpotUpdateInput(id: update.deal.id, properties: properties.values(update.status)))
            } else if let position = inputs.firstIndex(where: { $0.id == update.deal.id }) {
                inputs[position] = HubSpotUpdateInput(id: update.deal.id, properties: properties.values(update.status))
            }
            indexByDeal[update.deal.id, default: []].append(index)
        }
        if !inputs.isEmpty {
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
                let outcome = error.outcome
                for indexes in indexByDeal.values { for index in indexes { outcomes[index] = outcome } }
            }
        }
        return outcomes.map { $0 ?? .retry(DeliveryFailure(kind: .transport, message: "not attempted")) }
    }
}
