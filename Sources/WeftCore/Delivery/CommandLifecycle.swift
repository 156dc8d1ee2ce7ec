public import Foundation

/// The delivery state of an outbox command.
public enum CommandStatus: Int, Sendable, Codable, Hashable, CaseIterable, CustomStringConvertible {
    /// Waiting for its next attempt (`nextAttemptAt`).
    case pending = 0
    /// Claimed by a dispatcher under a lease.
    case inFlight = 1
    /// The target holds its effect.
    case delivered = 2
    /// Out of attempts, or rejected: waiting for an operator (replay).
    case dead = 3
    /// A dead command that a replay found superseded by a later command of the same record: never delivered, and
    /// never replayed (it would put back an older state than the one delivered since). Terminal, like `delivered`.
    case superseded = 4

    public var description: String {
        switch self {
        case .pending: "pending"
        case .inFlight: "in_flight"
        case .delivered: "delivered"
        case .dead: "dead"
        case .superseded: "superseded"
        }
    }

    /// Parses `pending`, `in_flight`, `delivered`, `dead`, `superseded`.
    public init?(name: String) {
        guard let status = Self.allCases.first(where: { $0.description == name }) else { return nil }
        self = status
    }
}

/// What the store must record after one delivery attempt.
public enum CommandTransition: Hashable, Sendable {
    case delivered(record: TargetRecordID?, note: String?)
    case retry(at: Date, failure: DeliveryFailure)
    case dead(failure: DeliveryFailure)
}

/// The command state machine: outcome of an attempt → next state. Pure.
public enum CommandLifecycle {
    /// The transition after attempt number `attempt` (1-based) ended with `outcome`.
    public static func transition(
        after outcome: DeliveryOutcome, attempt: Int, policy: RetryPolicy, now: Date, unit: Double
    ) -> CommandTransition {
        switch outcome {
        case .delivered(let record, let note):
            return .delivered(record: record, note: note)
        case .reject(let failure):
            return .dead(failure: failure)
        case .retry(let failure):
            guard policy.allowsAnotherAttempt(after: attempt) else { return .dead(failure: failure) }
            let delay = policy.delay(afterAttempt: attempt, retryAfter: failure.retryAfter, unit: unit)
            return .retry(at: now.addingTimeInterval(RetryPolicy.seconds(delay)), failure: failure)
        }
    }
}

/// What a replay of dead commands did.
public struct DeadLetterReplay: Hashable, Sendable, Codable {
    /// Commands made pending again.
    public var replayed: Int
    /// Commands set aside as `superseded`: a later command of the same record holds the state the target must reach.
    public var superseded: Int

    public init(replayed: Int, superseded: Int = 0) {
        self.replayed = replayed
        self.superseded = superseded
    }
}
