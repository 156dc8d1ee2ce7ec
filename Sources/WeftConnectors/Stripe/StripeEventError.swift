/// Why a Stripe event body could not be parsed or decoded.
///
/// The `description` is safe to log: it names the problem and, at most, the JSON path of the offending member —
/// never a value from the body.
public struct StripeEventError: Error, Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    private enum Base: Hashable, Sendable {
        case invalidJSON, notAnEvent, unexpectedShape
    }

    /// A stable error code to match on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The body is not JSON, or not a JSON object.
        public static let invalidJSON = Code(.invalidJSON)
        /// The body is JSON but not a Stripe event: `id`, `type`, `created` or `data.object` is missing, or `object`
        /// is not `event`.
        public static let notAnEvent = Code(.notAnEvent)
        /// The event's object does not have the shape its type promises (a member has the wrong JSON type).
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
        case .invalidJSON: "Stripe event rejected: body is not a JSON object"
        case .notAnEvent: "Stripe event rejected: not a Stripe event" + (detail.map { " (missing \($0))" } ?? "")
        default: "Stripe event could not be decoded: unexpected shape" + (detail.map { " at \($0)" } ?? "")
        }
    }

    public var debugDescription: String {
        "StripeEventError(\(code)" + (detail.map { ", \($0)" } ?? "") + ")"
    }

    /// Maps a `DecodingError` to a safe error: only coding-path keys survive, never the values or the decoder's text.
    static func from(_ error: any Error, code: Code) -> StripeEventError {
        guard let decodingError = error as? DecodingError else { return StripeEventError(code: code) }
        let path: [any CodingKey]
        switch decodingError {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            path = context.codingPath
        case .keyNotFound(let key, let context):
            path = context.codingPath + [key]
        @unknown default:
            path = []
        }
        if path.isEmpty, case .dataCorrupted = decodingError { return StripeEventError(code: .invalidJSON) }
        let rendered = path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        return StripeEventError(code: code, detail: rendered.isEmpty ? nil : rendered)
    }
}
