/// Faults on the webhook sender, set over `POST /__sim/webhooks/faults` or `StripeSimulator.setWebhookFaults(_:)`.
public struct WebhookFaultPlan: Codable, Sendable, Hashable {
    /// Fraction (0…1) of deliveries sent twice (the same event, body and id; a second, independent delivery).
    public var duplicateRate: Double
    /// When above 1, first attempts are held until this many are waiting, then released in a shuffled order.
    /// `waitUntilDeliveriesSettled()` and clearing the plan release a partial window.
    public var reorderWindow: Int

    /// - Parameters:
    ///   - duplicateRate: fraction (0…1) of deliveries sent twice.
    ///   - reorderWindow: how many deliveries are shuffled together (0 or 1: in order).
    public init(duplicateRate: Double = 0, reorderWindow: Int = 0) {
        self.duplicateRate = duplicateRate
        self.reorderWindow = reorderWindow
    }

    enum CodingKeys: String, CodingKey {
        case duplicateRate = "duplicate_rate"
        case reorderWindow = "reorder_window"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.duplicateRate = try container.decodeIfPresent(Double.self, forKey: .duplicateRate) ?? 0
        self.reorderWindow = try container.decodeIfPresent(Int.self, forKey: .reorderWindow) ?? 0
    }
}
