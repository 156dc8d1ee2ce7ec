/// Faults on the webhook sender (HubSpot delivers events unordered and sometimes more than once), set over
/// `POST /__sim/webhooks/faults` or `HubSpotSimulator.setWebhookFaults(_:)`.
public struct WebhookFaultPlan: Codable, Sendable, Hashable {
    /// Fraction (0…1) of events sent twice (the same `eventId`, in a later request).
    public var duplicateRate: Double
    /// When above 1, events are held until this many are waiting, then released in a shuffled order.
    public var reorderWindow: Int

    /// - Parameters:
    ///   - duplicateRate: fraction (0…1) of events sent twice.
    ///   - reorderWindow: how many events are shuffled together (0 or 1: in order).
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
