/// The version a source gave a change: its occurred-at instant (milliseconds since 1970, UTC) and a tie-breaker
/// ordinal for changes the source reports within the same instant (e.g. an invoice's lifecycle rank).
public struct SourceVersion: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public var millis: Int64
    public var ordinal: Int

    public init(millis: Int64, ordinal: Int = 0) {
        self.millis = millis
        self.ordinal = ordinal
    }

    public static func < (lhs: SourceVersion, rhs: SourceVersion) -> Bool {
        (lhs.millis, lhs.ordinal) < (rhs.millis, rhs.ordinal)
    }

    public var description: String { ordinal == 0 ? "\(millis)" : "\(millis).\(ordinal)" }
}
