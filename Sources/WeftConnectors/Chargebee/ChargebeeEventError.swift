/// Why a Chargebee event body could not be parsed or decoded.
///
/// The `description` is safe to log: it names the problem and, at most, the JSON path of the offending member —
/// never a value from the body.
public struct ChargebeeEventError: Error, Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    private enum Base: Hashable, Sendable {
        case invalidJSON, notAnEvent, unexpectedShape
    }

    /// A stable error code to match on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The body is not JSON, or not a JSON object.
        public static let invalidJSON = Code(.invalidJSON)
        /// The body is JSON but not a Chargebee event: `id`, `occurred_at`, `event_type` or `content` is missing, or
        /// `object` is not `event`.
        public static let notAnEvent = Code(.notAnEvent)
        /// A resource in `content` does not have the shape its event type promises (a member has the wrong JSON type,
        /// or the resource the type needs is missing).
        public static let unexpectedShape = Code(.unexpectedShape)

        public var description: String {
            switch base {
            case .invalidJSON: "invalid_json"
            case .notAnEvent: "not_an_event"
            case .unexpectedShape: "unexpected_shape"
            }
        }
    }

    /// What went wrong.
    public var code: Code
    /// A safe detail: a missing member's name or a JSON path. Never a value.
    public var detail: String?

    /// Creates an error.
    public init(code: Code, detail: String? = nil) {
        self.code = code
        self.detail = detail
    }

    public var description: String {
        switch code {
        case .invalidJSON: "Chargebee event rejected: body is not a JSON object"
        case .notAnEvent: "Chargebee event rejected: not a Chargebee event" + (detail.map { " (missing \($0))" } ?? "")
        default: "Chargebee event could not be decoded: unexpected shape" + (detail.map { " at \($0)" } ?? "")
        }
    }

    public var debugDescription: String {
        "ChargebeeEventError(\(code)" + (detail.map { ", \($0)" } ?? "") + ")"
    }

    /// Maps a `DecodingError` to a safe error: only coding-path keys survive, never the values or the decoder's text.
    static func from(_ error: any Error, code: Code) -> ChargebeeEventError {
        let stripe = StripeEventError.from(error, code: code == .notAnEvent ? .notAnEvent : .unexpectedShape)
        if stripe.code == .invalidJSON { return ChargebeeEventError(code: .invalidJSON) }
        return ChargebeeEventError(code: code, detail: stripe.detail)
    }
}
