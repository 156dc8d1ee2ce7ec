public import Logging

/// A system Weft delivers commands to.
public protocol TargetConnector: Sendable {
    /// How many commands one `deliver` call may take.
    var maxBatchSize: Int { get }

    /// Delivers a batch. Returns exactly one outcome per command, in the same order.
    ///
    /// Implementations must be idempotent per command (see `TargetCommand`), must not throw, and must classify every
    /// failure as `retry` or `reject`.
    func deliver(_ batch: [OutboxCommand], logger: Logger) async -> [DeliveryOutcome]
}
